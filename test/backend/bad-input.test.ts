// Bad input on every endpoint gets a 4xx problem+json, never a 5xx or a stack trace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { battery, call, register, startRelay, type TestRelay } from "../helpers/relay.ts";

let db: TestDatabase;
let relay: TestRelay;
let token: string;
beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  relay = await startRelay({ databaseUrl: db.url });
  token = (await register(relay.url)).token;
});
afterAll(async () => {
  await relay?.stop();
  await db?.drop();
});

function expectProblem(r: { status: number; body: any; headers: Headers }, status: number, code?: string) {
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type")).toContain("application/problem+json");
  expect(r.body).toMatchObject({ status, title: expect.any(String), type: expect.any(String), detail: expect.any(String), code: expect.any(String) });
  if (code) expect(r.body.code).toBe(code);
  expect(JSON.stringify(r.body)).not.toMatch(/at .*\.ts:\d+/);
}

const huge = JSON.stringify({ timezone: "x".repeat(20_000) });

const endpoints: { method: string; path: string; good: () => object }[] = [
  { method: "POST", path: "/v1/devices", good: () => ({ timezone: "Europe/Paris" }) },
  { method: "PATCH", path: "/v1/me", good: () => ({ language: "ja-JP" }) },
  { method: "PUT", path: "/v1/me/phone", good: () => ({ number: "+14155550199" }) },
  { method: "POST", path: "/v1/me/phone/verify", good: () => ({ code: "123456" }) },
  { method: "POST", path: "/v1/battery", good: () => battery(relay.clock, 50) },
  { method: "POST", path: "/v1/heartbeat", good: () => ({ observedAt: relay.clock.now().toISOString() }) },
];

describe.each(endpoints)("$method $path", ({ method, path, good }) => {
  it("when the body is malformed JSON, then 400", async () => {
    expectProblem(await call(relay.url, method, path, { token, raw: '{"a":' }), 400, "invalid_json");
  });
  it("when the body is too big, then 413", async () => {
    expectProblem(await call(relay.url, method, path, { token, raw: huge }), 413, "payload_too_large");
  });
  it("when the body has an unknown field, then 400", async () => {
    expectProblem(await call(relay.url, method, path, { token, json: { ...good(), surprise: 1 } }), 400, "invalid_request");
  });
  it("when the body is not an object, then 400", async () => {
    for (const raw of ["[]", "null", "42", '"x"']) expectProblem(await call(relay.url, method, path, { token, raw }), 400);
  });
  it("when every field has the wrong type, then 400 with each problem listed", async () => {
    const wrong = Object.fromEntries(Object.keys(good()).map((k) => [k, { nested: [true] }]));
    const r = await call(relay.url, method, path, { token, json: wrong });
    expectProblem(r, 400, "invalid_request");
    expect(r.body.errors.length).toBeGreaterThanOrEqual(Object.keys(good()).length);
  });
  it("when the body is sent as a form, then 4xx", async () => {
    const r = await call(relay.url, method, path, { token, raw: "a=1", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  });
});

describe("authentication", () => {
  const authed = [
    ["GET", "/v1/me"],
    ["PATCH", "/v1/me"],
    ["DELETE", "/v1/me"],
    ["PUT", "/v1/me/phone"],
    ["POST", "/v1/me/phone/verify"],
    ["DELETE", "/v1/me/phone"],
    ["POST", "/v1/battery"],
    ["POST", "/v1/heartbeat"],
    ["GET", "/v1/deliveries"],
  ];
  it.each(authed)("when %s %s has no token or a wrong one, then 401 unauthorized", async (method, path) => {
    expectProblem(await call(relay.url, method, path, {}), 401, "unauthorized");
    expectProblem(await call(relay.url, method, path, { token: "A".repeat(43) }), 401, "unauthorized");
    expectProblem(await call(relay.url, method, path, { headers: { authorization: "Basic abc" } }), 401, "unauthorized");
  });
});

describe("field rules", () => {
  const cases: [string, string, string, object][] = [
    ["an unknown time zone", "POST", "/v1/devices", { timezone: "Mars/Olympus" }],
    ["a language we do not speak", "POST", "/v1/devices", { timezone: "UTC", language: "fr-FR" }],
    ["a level above 100", "POST", "/v1/battery", { eventId: "a", level: 101, charging: false, observedAt: "2026-11-20T12:00:00Z", source: "watch" }],
    ["a fractional level", "POST", "/v1/battery", { eventId: "a", level: 9.5, charging: false, observedAt: "2026-11-20T12:00:00Z", source: "watch" }],
    ["a bad eventId", "POST", "/v1/battery", { eventId: "a b/c", level: 9, charging: false, observedAt: "2026-11-20T12:00:00Z", source: "watch" }],
    ["a long eventId", "POST", "/v1/battery", { eventId: "a".repeat(65), level: 9, charging: false, observedAt: "2026-11-20T12:00:00Z", source: "watch" }],
    ["a time without offset", "POST", "/v1/battery", { eventId: "a", level: 9, charging: false, observedAt: "2026-11-20 12:00", source: "watch" }],
    ["an unknown source", "POST", "/v1/battery", { eventId: "a", level: 9, charging: false, observedAt: "2026-11-20T12:00:00Z", source: "cloud" }],
    ["a time far in the future", "POST", "/v1/battery", { eventId: "a", level: 9, charging: false, observedAt: "2030-01-01T00:00:00Z", source: "watch" }],
    ["repeated thresholds", "PATCH", "/v1/me", { preferences: { lowBattery: [20, 20] } }],
    ["too many thresholds", "PATCH", "/v1/me", { preferences: { lowBattery: [50, 40, 30, 20, 10] } }],
    ["a threshold of 0", "PATCH", "/v1/me", { preferences: { lowBattery: [0] } }],
    ["a bad quiet-hours time", "PATCH", "/v1/me", { preferences: { quietHours: { start: "25:00", end: "07:00" } } }],
    ["silence hours above 72", "PATCH", "/v1/me", { preferences: { silenceAlertHours: 73 } }],
    ["an unknown preference", "PATCH", "/v1/me", { preferences: { colour: "red" } }],
    ["a code with letters", "POST", "/v1/me/phone/verify", { code: "12a456" }],
    ["a code too short", "POST", "/v1/me/phone/verify", { code: "12345" }],
    ["a numeric code", "POST", "/v1/me/phone/verify", { code: 123456 }],
  ];
  it.each(cases)("when the request has %s, then 400", async (_name, method, path, body) => {
    expectProblem(await call(relay.url, method, path, { token, json: body }), 400, "invalid_request");
  });

  it("when the deliveries limit is out of range or not a number, then 400", async () => {
    for (const q of ["limit=0", "limit=101", "limit=abc", "limit=5&x=1"]) {
      expectProblem(await call(relay.url, "GET", `/v1/deliveries?${q}`, { token }), 400, "invalid_request");
    }
    expect((await call(relay.url, "GET", "/v1/deliveries?limit=100", { token })).status).toBe(200);
  });

  it("when a path does not exist, then 404 problem+json; when it exists with other methods, then 405", async () => {
    expectProblem(await call(relay.url, "GET", "/v1/nope"), 404, "not_found");
    expectProblem(await call(relay.url, "POST", "/v1/me"), 405, "method_not_allowed");
  });
});
