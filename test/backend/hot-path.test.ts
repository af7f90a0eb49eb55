// The POST /v1/battery hot path after its speed-ups: the access log line (one per request, same shape
// as pino-http wrote), request ids, helmet's headers, the lean JSON body reader next to body-parser,
// the request counter, and an erased wearer's token refused at once.
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../backend/src/domain/deps.ts";
import { createLogger } from "../../backend/src/http/logger.ts";
import { createOutboxSms } from "../../backend/src/providers/outbox.ts";
import { serve, type Running } from "../../backend/src/serve.ts";
import { openStore, type Store } from "../../backend/src/store/open-store.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { call, register, testConfig } from "../helpers/relay.ts";

let db: TestDatabase;
let store: Store;
let relay: Running;
const lines: Record<string, any>[] = [];

beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  const config = testConfig(db.url, { LOG_LEVEL: "info" });
  store = await openStore(config.databaseUrl);
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n")) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  relay = await serve({ config, log: createLogger("info", sink), store, sms: createOutboxSms({ db: store.db }), clock: systemClock });
});
afterAll(async () => {
  await relay?.stop();
  await store?.close();
  await db?.drop();
});

const ev = (eventId: string, extra: Record<string, unknown> = {}) => ({
  eventId,
  level: 60,
  charging: false,
  observedAt: new Date(Date.now() - 60_000).toISOString(),
  source: "watch",
  ...extra,
});
const accessLines = (reqId: string) => lines.filter((l) => l.reqId === reqId && /^request /.test(l.msg));
const until = async (f: () => boolean) => {
  for (let i = 0; i < 100 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe("the battery hot path", () => {
  it("when a report is accepted, then one info access line carries the request id, method, path without query, status and time", async () => {
    const { token } = await register(relay.url);
    const r = await call(relay.url, "POST", "/v1/battery?trace=1", { token, json: ev("log-1"), headers: { "x-request-id": "given.id-1" } });
    expect(r.status).toBe(202);
    expect(r.headers.get("x-request-id")).toBe("given.id-1");
    await until(() => accessLines("given.id-1").length > 0);
    const mine = accessLines("given.id-1");
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      level: 30,
      app: "wristrelay-relay",
      reqId: "given.id-1",
      req: { id: "given.id-1", method: "POST", url: "/v1/battery" },
      res: { statusCode: 202 },
      msg: "request completed",
    });
    expect(typeof mine[0].responseTime).toBe("number");
    expect(JSON.stringify(mine[0])).not.toContain(token);
  });

  it("when a request id is unusable, then a fresh one is made; refusals log at warn; probes are not logged", async () => {
    const r = await call(relay.url, "POST", "/v1/battery", { json: ev("log-2"), headers: { "x-request-id": "bad id with spaces" } });
    expect(r.status).toBe(401);
    const id = r.headers.get("x-request-id")!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await until(() => accessLines(id).length > 0);
    expect(accessLines(id)).toMatchObject([{ level: 40, res: { statusCode: 401 } }]);
    const h = await call(relay.url, "GET", "/healthz");
    expect(h.headers.get("x-request-id")).toBeTruthy();
    await new Promise((res) => setTimeout(res, 20));
    expect(lines.some((l) => l.req?.url === "/healthz")).toBe(false);
  });

  it("when any answer goes out, then helmet's headers are on it", async () => {
    const r = await call(relay.url, "POST", "/v1/battery", { json: ev("hdr") });
    expect(r.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(r.headers.get("strict-transport-security")).toBeNull(); // PUBLIC_URL unset: http (http-contract.test.ts)
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(r.headers.get("x-powered-by")).toBeNull();
  });

  it("when bodies are plain JSON, then they read as body-parser reads them (BOM, spaces, empty, not an object, bad JSON)", async () => {
    const { token } = await register(relay.url);
    const raw = (s: string, headers: Record<string, string> = {}) => call(relay.url, "POST", "/v1/battery", { token, raw: s, headers });
    expect((await raw("\ufeff" + JSON.stringify(ev("bom")))).status).toBe(202);
    expect((await raw(" \n\t" + JSON.stringify(ev("spaces")))).status).toBe(202);
    expect((await raw(JSON.stringify(ev("cs")), { "content-type": "application/json; charset=UTF-8" })).status).toBe(202);
    const empty = await raw("");
    expect([empty.status, empty.body.code]).toEqual([400, "invalid_request"]);
    for (const s of ["{bad", "   ", '"text"', "12"]) {
      const r = await raw(s);
      expect([s, r.status, r.body.code]).toEqual([s, 400, "invalid_json"]);
    }
    const arr = await raw("[1]");
    expect([arr.status, arr.body.code]).toEqual([400, "invalid_request"]);
    // not plain JSON: body-parser answers as before
    expect((await raw(JSON.stringify(ev("l1")), { "content-type": "application/json; charset=latin1" })).status).toBe(415);
    expect((await raw(JSON.stringify({ ...ev("big"), pad: "x".repeat(17_000) }))).status).toBe(413);
  });

  it("when reports are counted, then /metrics shows them by method, route and status", async () => {
    const { token } = await register(relay.url);
    await call(relay.url, "POST", "/v1/battery", { token, json: ev("m1") });
    await call(relay.url, "POST", "/v1/battery", { token, json: ev("m2") });
    const text = (await call(relay.url, "GET", "/metrics")).body as string;
    const m = /wristrelay_http_requests_total\{method="POST",route="\/v1\/battery",status="202"\} (\d+)/.exec(text);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(2);
  });

  it("when a wearer is erased, then the token is refused on the very next report", async () => {
    const { token } = await register(relay.url);
    expect((await call(relay.url, "POST", "/v1/battery", { token, json: ev("before") })).status).toBe(202);
    expect((await call(relay.url, "DELETE", "/v1/me", { token })).status).toBe(204);
    const r = await call(relay.url, "POST", "/v1/battery", { token, json: ev("after") });
    expect([r.status, r.body.code]).toEqual([401, "unauthorized"]);
  });
});
