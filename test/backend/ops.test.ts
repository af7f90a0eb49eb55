// Health, readiness, metrics, the OpenAPI document and the dev outbox.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { battery, call, startRelay, verifiedWearer, type TestRelay } from "../helpers/relay.ts";

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

  it("when SMS_PROVIDER is not twilio, then the Twilio webhooks answer 404", async () => {
    const r = await fetch(relay.url + "/webhooks/twilio/inbound", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "From=%2B14155550100&Body=STOP" });
    expect(r.status).toBe(404);
  });

  it("when a response goes out, then it carries a request id and security headers", async () => {
    const r = await fetch(relay.url + "/healthz");
    expect(r.headers.get("x-request-id")).toBeTruthy();
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
