// Health, readiness, metrics, the OpenAPI document and the dev outbox.
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../backend/src/http/logger.ts";
import { createOutboxSms } from "../../backend/src/providers/outbox.ts";
import { serve } from "../../backend/src/serve.ts";
import { openStore } from "../../backend/src/store/open-store.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { battery, call, createTestClock, startRelay, testConfig, verifiedWearer, type TestRelay } from "../helpers/relay.ts";

let db: TestDatabase;
let relay: TestRelay;
beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  relay = await startRelay({ databaseUrl: db.url });
});
afterAll(async () => {
  await relay?.stop();
  await db?.drop();
});

function registeredRoutes(app: any): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  for (const layer of app.router.stack) {
    if (!layer.route) continue;
    for (const m of Object.keys(layer.route.methods)) out.push({ method: m.toLowerCase(), path: layer.route.path });
  }
  return out;
}

describe("operations", () => {
  it("when the relay is up, then /healthz and /readyz answer 200", async () => {
    expect((await call(relay.url, "GET", "/healthz")).status).toBe(200);
    expect((await call(relay.url, "GET", "/readyz")).status).toBe(200);
  });

  it("when the database is gone, then /readyz answers 503 problem+json", async () => {
    const other = await createTestDatabase("sqlite");
    const r = await startRelay({ databaseUrl: other.url });
    try {
      await r.store.close();
      const ready = await call(r.url, "GET", "/readyz");
      expect(ready.status).toBe(503);
      expect(ready.headers.get("content-type")).toContain("application/problem+json");
      expect(ready.body.code).toBe("not_ready");
    } finally {
      await r.running.stop();
      await other.drop();
    }
  });

  it("when PostgreSQL's database is dropped under a running relay, then /readyz answers 503 problem+json", async () => {
    const pgdb = await createTestDatabase("postgres");
    const r = await startRelay({ databaseUrl: pgdb.url, runWorker: false });
    try {
      expect((await call(r.url, "GET", "/readyz")).status).toBe(200);
      await pgdb.drop(); // DROP DATABASE ... WITH (FORCE): every connection of the pool is cut
      const ready = await call(r.url, "GET", "/readyz");
      expect(ready.status).toBe(503);
      expect(ready.headers.get("content-type")).toContain("application/problem+json");
      expect(ready.body).toMatchObject({ status: 503, code: "not_ready" });
      expect((await call(r.url, "GET", "/healthz")).status).toBe(200); // alive, just not ready
      // a wearer's call meanwhile is "try again", not a fault of the relay's code
      const reg = await call(r.url, "POST", "/v1/devices", { json: { timezone: "UTC" } });
      expect(reg.status).toBe(503);
      expect(reg.body).toMatchObject({ status: 503, code: "unavailable" });
      expect(reg.headers.get("retry-after")).toBe("5");
    } finally {
      await r.running.stop();
      await r.store.close().catch(() => {});
    }
  });

  it("when metrics are scraped, then the counters and gauges are there in Prometheus text", async () => {
    const { token } = await verifiedWearer(relay, "+14155550170");
    await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 9) });
    await relay.running.worker.drain();
    const text = await (await fetch(relay.url + "/metrics")).text();
    expect(text).toMatch(/^wristrelay_http_requests_total\{method="POST",route="\/v1\/battery",status="202"\} 1$/m);
    expect(text).toMatch(/^wristrelay_deliveries\{channel="sms",status="sent"\} \d+$/m);
    expect(text).toMatch(/^wristrelay_delivery_queue_depth 0$/m);
    expect(text).toMatch(/^wristrelay_sms_budget_remaining \d+$/m);
  });

  it("when the exposition is parsed, then every family is wristrelay_-prefixed, declared once with HELP and TYPE, counters end in _total and units are base units", async () => {
    const day = relay.clock.now().toISOString().slice(0, 10);
    await relay.store.db.insertInto("counters").values({ name: `x_budget:${day}`, count: 3 }).onConflict((oc) => oc.column("name").doUpdateSet({ count: 3 })).execute();
    const res = await fetch(relay.url + "/metrics");
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text.endsWith("\n")).toBe(true);
    const help = new Map<string, number>();
    const type = new Map<string, string>();
    const samples: { name: string; labels: string; value: number }[] = [];
    for (const line of text.trimEnd().split("\n")) {
      let m: RegExpExecArray | null;
      if ((m = /^# HELP (\S+) (.+)$/.exec(line))) help.set(m[1]!, (help.get(m[1]!) ?? 0) + 1);
      else if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
        expect(type.has(m[1]!), `TYPE ${m[1]} twice`).toBe(false);
        type.set(m[1]!, m[2]!);
      } else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN|\+Inf|-Inf)$/.exec(line))) {
        samples.push({ name: m[1]!, labels: m[2] ?? "", value: Number(m[3]) });
      } else throw new Error(`not exposition text: ${line}`);
    }
    const familyOf = (name: string) => (type.has(name) ? name : name.replace(/_(bucket|sum|count)$/, ""));
    for (const s of samples) {
      const f = familyOf(s.name);
      expect(type.has(f), `${s.name} has a TYPE line`).toBe(true);
      expect(Number.isNaN(s.value), `${s.name} value`).toBe(false);
      if (f !== s.name) expect(type.get(f)).toBe("histogram");
    }
    for (const [name, t] of type) {
      expect(name).toMatch(/^wristrelay_[a-z0-9_]+$/);
      expect(help.get(name), `HELP for ${name}`).toBe(1);
      if (t === "counter") expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
      expect(name).not.toMatch(/_(ms|millis|milliseconds|minutes|hours|kb|kilobytes|mb|megabytes)(_|$)/);
    }
    const value = (name: string) => samples.find((s) => s.name === name && s.labels === "")?.value;
    expect(type.get("wristrelay_http_requests_total")).toBe("counter");
    expect(type.get("wristrelay_http_request_duration_seconds")).toBe("histogram");
    expect(value("wristrelay_delivery_queue_depth")).toBe(0);
    expect(value("wristrelay_delivery_oldest_due_age_seconds")).toBe(0);
    expect(value("wristrelay_dead_letters")).toBe(0);
    expect(value("wristrelay_sms_budget_used")).toBeGreaterThan(0); // the codes and the alert sent above
    expect(value("wristrelay_sms_budget_limit")).toBe(1000);
    expect(value("wristrelay_x_post_budget_used")).toBe(3);
    expect(value("wristrelay_x_post_budget_limit")).toBe(500);
    expect(value("wristrelay_process_resident_memory_bytes")).toBeGreaterThan(1e6);
    // the histogram's buckets are cumulative and end in +Inf = _count
    const buckets = samples.filter((s) => s.name === "wristrelay_http_request_duration_seconds_bucket" && s.labels.includes('route="/v1/battery"'));
    expect(buckets.length).toBeGreaterThan(2);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(buckets.at(-1)!.labels).toContain('le="+Inf"');
    const count = samples.find((s) => s.name === "wristrelay_http_request_duration_seconds_count" && s.labels === '{route="/v1/battery"}');
    expect(count?.value).toBe(buckets.at(-1)!.value);
  });

  it("when deliveries wait past their due time or die, then the queue gauges say so", async () => {
    const other = await createTestDatabase("sqlite");
    const r = await startRelay({ databaseUrl: other.url, runWorker: false });
    try {
      const row = (id: string, status: string, dueAgoSec: number) => {
        const due = new Date(r.clock.now().getTime() - dueAgoSec * 1000).toISOString();
        return { id, device_id: null, channel: "sms" as const, kind: "low_battery", to_number: "+14155550123", body: "b", status, attempts: 0, next_attempt_at: due, claimed_until: null, claimed_by: null, provider_id: null, error: null, event_id: null, created_at: due, sent_at: null, updated_at: due };
      };
      await r.store.db.insertInto("deliveries").values([row("a", "queued", 95), row("b", "queued", 5), row("c", "queued", -60), row("d", "sending", 1), row("e", "dead", 1000)]).execute();
      const text = await (await fetch(r.url + "/metrics")).text();
      expect(text).toMatch(/^wristrelay_delivery_queue_depth 4$/m);
      expect(text).toMatch(/^wristrelay_delivery_oldest_due_age_seconds 95$/m);
      expect(text).toMatch(/^wristrelay_dead_letters 1$/m);
    } finally {
      await r.stop();
      await other.drop();
    }
  });

  it("when the app's routes are compared with /openapi.json, then each is in the other", async () => {
    const doc = (await call(relay.url, "GET", "/openapi.json")).body;
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) =>
      Object.keys(ops).filter((k) => ["get", "post", "put", "patch", "delete"].includes(k)).map((m) => `${m} ${p}`),
    );
    const express = (await import("../../backend/src/app.ts")).createApp(relay.running.deps);
    const registered = registeredRoutes(express).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    expect(new Set(registered)).toEqual(new Set(documented));
  });

  it("when SMS_PROVIDER is outbox, then /dev/outbox lists what would have been sent with numbers masked", async () => {
    await verifiedWearer(relay, "+14155550171");
    const json = await call(relay.url, "GET", "/dev/outbox.json");
    expect(json.status).toBe(200);
    expect(JSON.stringify(json.body)).not.toContain("4155550171");
    expect(json.body.some((m: { to: string }) => m.to === "+1 •••• •• 71")).toBe(true);
    const page = await fetch(relay.url + "/dev/outbox");
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("+1 •••• •• 71");
  });

  it("when SMS_PROVIDER is not twilio, then the Twilio webhooks answer 403 (no signature can be checked)", async () => {
    const r = await fetch(relay.url + "/webhooks/twilio/inbound", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "From=%2B14155550100&Body=STOP" });
    expect(r.status).toBe(403);
  });

  it("when a caller sends a sane X-Request-Id, then it is echoed and logged; otherwise a new one is made", async () => {
    const other = await createTestDatabase("sqlite");
    const config = testConfig(other.url, { LOG_LEVEL: "info" });
    const store = await openStore(config.databaseUrl);
    const lines: Record<string, any>[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split("\n")) if (l.trim()) lines.push(JSON.parse(l));
        cb();
      },
    });
    const clock = createTestClock();
    const running = await serve({ config, log: createLogger("info", sink), store, sms: createOutboxSms({ db: store.db }), clock, runWorker: false });
    try {
      const given = await fetch(running.url + "/v1/me", { headers: { "x-request-id": "lb-7f3a.2_Z" } });
      expect(given.status).toBe(401);
      expect(given.headers.get("x-request-id")).toBe("lb-7f3a.2_Z");
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
      for (const bad of ["has space", "x".repeat(65), "<script>", "a\u00e9b", ""]) {
        const r = await fetch(running.url + "/v1/me", { headers: { "x-request-id": bad } });
        const id = r.headers.get("x-request-id")!;
        expect(id, JSON.stringify(bad)).toMatch(uuid);
        expect(lines.some((l) => l.reqId === id && l.req?.url === "/v1/me")).toBe(true);
      }
      const none = await fetch(running.url + "/v1/me");
      expect(none.headers.get("x-request-id")).toMatch(uuid);
      expect(none.headers.get("x-request-id")).not.toBe(given.headers.get("x-request-id"));
      const line = lines.find((l) => l.reqId === "lb-7f3a.2_Z");
      expect(line).toMatchObject({ req: { id: "lb-7f3a.2_Z", method: "GET", url: "/v1/me" }, res: { statusCode: 401 } });
      expect(lines.filter((l) => l.reqId === "lb-7f3a.2_Z")).toHaveLength(1);
    } finally {
      await running.stop();
      await store.close();
      await other.drop();
    }
  });

  it("when a response goes out, then it carries a request id and security headers", async () => {
    const r = await fetch(relay.url + "/healthz");
    expect(r.headers.get("x-request-id")).toBeTruthy();
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
