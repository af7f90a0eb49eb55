// Fake "display": on/off with a change event. Test API: __setOn, __reset.
import { makeTarget } from "../../helpers/watch-events";

const hooks: ((on: boolean) => void)[] = [];

export const display = makeTarget({
  on: true,
  autoOff: true,
  aodAllowed: false,
  aodActive: false,
  aodAvailable: false,
  aodEnabled: false,
  brightnessOverride: undefined as "dim" | "normal" | "max" | undefined,
  poke(): void {
    __setOn(true);
  },
  onchange: undefined as undefined | ((e: unknown) => void),
});

/** Other fakes (clock, sleep) follow the display like the real system does. */
export function __onDisplay(fn: (on: boolean) => void): void {
  hooks.push(fn);
}

export function __setOn(on: boolean): void {
  if (display.on === on) return;
  display.on = on;
  for (const h of hooks) h(on);
  display.__emit("change");
}

export function __reset(): void {
  display.__clear();
  display.on = true;
}
