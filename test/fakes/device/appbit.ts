// Fake "appbit". Test API: __grant(permission, yes), __reset.
import { makeTarget } from "../../helpers/watch-events";

const granted: { [p: string]: boolean } = {};
export const me = makeTarget({
  appTimeoutEnabled: false,
  applicationId: "6f3c2a71-9b4e-4d2a-8e55-3c1f0b7d9a42",
  buildId: "0x0000000000000000",
  launchArguments: undefined as unknown,
  permissions: {
    granted(p: string): boolean {
      return granted[p] !== false;
    },
  },
  exitCount: 0,
  exit(): void {
    me.exitCount++;
  },
});
export function __grant(permission: string, yes: boolean): void {
  granted[permission] = yes;
}
export function __reset(): void {
  me.__clear();
  for (const k of Object.keys(granted)) delete granted[k];
  me.exitCount = 0;
}
