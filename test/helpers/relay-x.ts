// A relay wired to a fake X (X_PROVIDER=x), and the wearer's side of linking done over real HTTP:
// every redirect is followed by hand (redirect: "manual"), as a browser would.
import type { FakeX } from "./fake-x.ts";
import { call, startRelay, type TestClock, type TestRelay } from "./relay.ts";

export function xEnv(fake: FakeX, extra: Record<string, string> = {}): Record<string, string> {
  return {
    X_PROVIDER: "x",
    X_CLIENT_ID: fake.clientId,
    X_CLIENT_SECRET: fake.clientSecret,
    X_API_URL: fake.url,
    X_AUTHORIZE_URL: fake.authorizeUrl,
    ...extra,
  };
}

export function startXRelay(o: { databaseUrl: string; fake: FakeX; clock?: TestClock; env?: Record<string, string>; runWorker?: boolean }): Promise<TestRelay> {
  return startRelay({ databaseUrl: o.databaseUrl, clock: o.clock, runWorker: o.runWorker, env: xEnv(o.fake, o.env) });
}

export interface LinkResult {
  status: number;
  page: string;
  /** the callback URL X redirected to (for replay tests) */
  callbackUrl: string;
}

/** POST /v1/x/link, then /x/start -> X's authorize page -> /x/callback, each hop by hand. */
export async function linkX(relay: TestRelay, token: string, between?: () => void): Promise<LinkResult> {
  const link = await call<{ url: string }>(relay.url, "POST", "/v1/x/link", { token });
  if (link.status !== 200) throw new Error(`link: ${link.status} ${JSON.stringify(link.body)}`);
  const start = await fetch(link.body.url, { redirect: "manual" });
  if (start.status !== 302) throw new Error(`/x/start: ${start.status}`);
  const authorize = await fetch(start.headers.get("location")!, { redirect: "manual" });
  if (authorize.status !== 302) throw new Error(`authorize: ${authorize.status} ${await authorize.text()}`);
  const callbackUrl = authorize.headers.get("location")!;
  between?.();
  const cb = await fetch(callbackUrl, { redirect: "manual" });
  return { status: cb.status, page: await cb.text(), callbackUrl };
}
