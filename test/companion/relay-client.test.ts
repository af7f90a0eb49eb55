import { describe, expect, it } from "vitest";
import { createRelayClient } from "../../companion/relay-client";
import { backoffMs } from "../../companion/outbox";
import { createVirtualClock } from "../../sim/virtual-clock";
import { FetchFn } from "../../companion/host";

function client(fetchFn: FetchFn) {
  const clock = createVirtualClock(0);
  return { clock, c: createRelayClient({ fetch: fetchFn, clock, baseUrl: () => "http://relay", token: () => "t", timeoutMs: 10000 }) };
}

describe("relay client", () => {
  it("when the relay does not answer in time, then the call ends as a transient timeout", async () => {
    const { clock, c } = client(() => new Promise(() => {}));
    const p = c.call("POST", "/v1/battery", {});
    await clock.advance(10001);
    expect(await p).toEqual({ ok: false, status: 0, code: "timeout", transient: true });
  });

  it("when fetch fails, then the call ends as a transient network error", async () => {
    const { c } = client(() => Promise.reject(new Error("offline")));
    expect(await c.call("GET", "/v1/me")).toMatchObject({ ok: false, code: "network", transient: true });
  });

  it("when the relay answers problem+json, then the error carries its code; 4xx are permanent, 408/429/5xx transient", async () => {
    const answer = (status: number, body: string): FetchFn => () => Promise.resolve({ status, text: () => Promise.resolve(body) });
    const problem = JSON.stringify({ code: "invalid_phone", detail: "not a number" });
    expect(await client(answer(422, problem)).c.call("PUT", "/v1/me/phone", {})).toEqual({
      ok: false, status: 422, code: "invalid_phone", detail: "not a number", transient: false,
    });
    for (const s of [408, 429, 500, 503]) expect((await client(answer(s, "")).c.call("GET", "/x")) as { transient: boolean }).toMatchObject({ transient: true, code: "http_" + s });
    expect(await client(answer(202, '{"eventId":"e1","action":"sms"}')).c.call("POST", "/v1/battery", {})).toEqual({
      ok: true, status: 202, body: { eventId: "e1", action: "sms" },
    });
  });

  it("when it sends, then it carries the bearer token and JSON", async () => {
    let seen: any;
    const { c } = client((url, init) => {
      seen = { url, init };
      return Promise.resolve({ status: 204, text: () => Promise.resolve("") });
    });
    await c.call("POST", "/v1/heartbeat", { observedAt: "x" });
    expect(seen.url).toBe("http://relay/v1/heartbeat");
    expect(seen.init.headers).toMatchObject({ authorization: "Bearer t", "content-type": "application/json" });
    expect(JSON.parse(seen.init.body)).toEqual({ observedAt: "x" });
  });

  it("when backing off, then each wait is between half and all of an exponentially growing, capped delay", () => {
    for (const [n, lo, hi] of [[1, 7500, 15000], [2, 15000, 30000], [3, 30000, 60000], [20, 1800000, 3600000]]) {
      expect(backoffMs(n, 15000, 3600000, () => 0)).toBe(lo);
      expect(backoffMs(n, 15000, 3600000, () => 0.999999)).toBeCloseTo(hi, -1);
    }
  });
});
