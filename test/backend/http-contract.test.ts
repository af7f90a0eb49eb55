// The HTTP layer as a client meets it: the token before the body and the bearer scheme, which content
// types are JSON, 405 for a known path with another method (204 to OPTIONS), security headers by the
// scheme of PUBLIC_URL, heartbeat eventId and canonical time zones, the Twilio webhooks without
// Twilio, and /openapi.json listing those answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { battery, call, register, startRelay, verifiedWearer, type TestRelay } from "../helpers/relay.ts";

let db: TestDatabase;
let relay: TestRelay;
let token: string;
beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  relay = await startRelay({ databaseUrl: db.url, env: { ADMIN_TOKEN: "admin-token-for-http-contract" } });
  token = (await register(relay.url)).token;
});
afterAll(async () => {
  await relay?.stop();
  await db?.drop();
});

/** a request with exactly these headers and body bytes (fetch adds no Content-Type to bytes) */
async function send(method: string, path: string, o: { token?: string; authorization?: string; type?: string; body?: string } = {}) {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.authorization) headers.authorization = o.authorization;
  if (o.type !== undefined) headers["content-type"] = o.type;
  const res = await fetch(relay.url + path, { method, headers, body: o.body === undefined ? undefined : new TextEncoder().encode(o.body) });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

function expectProblem(r: { status: number; body: any; headers: Headers }, status: number, code: string) {
  expect([r.status, r.body?.code]).toEqual([status, code]);
  expect(r.headers.get("content-type")).toContain("application/problem+json");
  expect(r.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
}

const withBody: [string, string][] = [
  ["POST", "/v1/battery"],
  ["PATCH", "/v1/me"],
  ["PUT", "/v1/me/phone"],
  ["POST", "/v1/me/phone/verify"],
  ["POST", "/v1/heartbeat"],
  ["POST", "/v1/summaries"],
  ["POST", "/v1/x/link"],
  ["POST", "/v1/google/link"],
];

describe("the token before the body", () => {
  it.each(withBody)("when %s %s has no token or a wrong one, then 401 unauthorized whatever the body", async (method, path) => {
    const huge = JSON.stringify({ pad: "x".repeat(40_000) });
    for (const auth of [undefined, "A".repeat(43)]) {
      expectProblem(await send(method, path, { token: auth, type: "application/json", body: "{bad" }), 401, "unauthorized");
      expectProblem(await send(method, path, { token: auth, type: "application/json", body: huge }), 401, "unauthorized");
      expectProblem(await send(method, path, { token: auth, type: "application/x-www-form-urlencoded", body: "a=1" }), 401, "unauthorized");
      expectProblem(await send(method, path, { token: auth, type: "application/json; charset=latin1", body: "{}" }), 401, "unauthorized");
    }
  });

  it("when the token is right, then a bad or oversized body is still 400 invalid_json or 413, and the relay keeps serving", async () => {
    expectProblem(await send("POST", "/v1/battery", { token, type: "application/json", body: "{bad" }), 400, "invalid_json");
    expectProblem(await send("POST", "/v1/battery", { token, type: "application/json", body: JSON.stringify({ pad: "x".repeat(40_000) }) }), 413, "payload_too_large");
    expect((await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 80) })).status).toBe(202);
  });
});

describe("the bearer scheme", () => {
  it.each([
    ["lower case", (t: string) => `bearer ${t}`],
    ["upper case", (t: string) => `BEARER ${t}`],
    ["spaces around", (t: string) => `  Bearer   ${t}  `],
    ["a tab", (t: string) => `Bearer\t${t}`],
  ])("when the scheme is written in %s, then the token is accepted", async (_what, header) => {
    const r = await call(relay.url, "GET", "/v1/me", { headers: { authorization: header(token) } });
    expect([r.status, r.headers.get("www-authenticate")]).toEqual([200, null]);
  });

  it("when no token or another scheme is sent, then 401 with WWW-Authenticate: Bearer", async () => {
    for (const authorization of [undefined, "", "Basic dXNlcjpwYXNz", `Token ${"A".repeat(43)}`, "Bearer"]) {
      const r = await call(relay.url, "GET", "/v1/me", { headers: authorization === undefined ? {} : { authorization } });
      expect([authorization, r.status, r.headers.get("www-authenticate")]).toEqual([authorization, 401, "Bearer"]);
    }
  });

  it.each(withBody)("when %s %s is sent a wrong or malformed bearer token, then 401 with WWW-Authenticate: Bearer error=\"invalid_token\"", async (method, path) => {
    for (const authorization of [`Bearer ${"A".repeat(43)}`, `bearer ${"A".repeat(43)}`, "Bearer short", "Bearer not/a+token=="]) {
      const r = await send(method, path, { type: "application/json", body: "{}", authorization });
      expectProblem(r, 401, "unauthorized");
      expect([authorization, r.headers.get("www-authenticate")]).toEqual([authorization, 'Bearer error="invalid_token"']);
    }
  });

  it("when an erased wearer's token is sent, then 401 invalid_token", async () => {
    const gone = (await register(relay.url)).token;
    expect((await call(relay.url, "DELETE", "/v1/me", { token: gone })).status).toBe(204);
    const r = await call(relay.url, "GET", "/v1/me", { token: gone });
    expect([r.status, r.headers.get("www-authenticate")]).toEqual([401, 'Bearer error="invalid_token"']);
  });
});

describe("content types", () => {
  const ev = (over: Record<string, unknown> = {}) => JSON.stringify(battery(relay.clock, 70, over));

  it.each([
    ["application/json", "application/json"],
    ["application/*+json", "application/vnd.api+json"],
    ["text/plain, as fetch labels a string", "text/plain;charset=UTF-8"],
    ["no content type", undefined],
    ["upper-case JSON with a charset", "APPLICATION/JSON; Charset=UTF-8"],
  ])("when a battery report comes as %s, then it is read as JSON and accepted", async (_name, type) => {
    const body = ev();
    const r = await send("POST", "/v1/battery", { token, type, body });
    expect([r.status, r.body.eventId]).toEqual([202, JSON.parse(body).eventId]);
  });

  it("when a string body goes through fetch as it is (text/plain), then PATCH /v1/me applies it", async () => {
    const res = await fetch(relay.url + "/v1/me", { method: "PATCH", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ language: "ja-JP" }) });
    expect([res.status, (await res.json()).language]).toEqual([200, "ja-JP"]);
    const merge = await send("PATCH", "/v1/me", { token, type: "application/merge-patch+json", body: JSON.stringify({ language: "en-US" }) });
    expect([merge.status, merge.body.language]).toEqual([200, "en-US"]);
  });

  it.each([["text/plain"], [undefined], ["application/vnd.api+json"]])("when the body under %s is not JSON, then 400 invalid_json", async (type) => {
    expectProblem(await send("POST", "/v1/battery", { token, type, body: "{bad" }), 400, "invalid_json");
  });

  it.each([
    ["application/x-www-form-urlencoded", "a=1"],
    ["multipart/form-data; boundary=xyz", "--xyz--"],
    ["text/xml", "<a/>"],
    ["application/xml", "<a/>"],
    ["application/octet-stream", "{}"],
    ["*/*", "{}"],
  ])("when a body comes as %s, then 415 unsupported_media_type saying to send application/json", async (type, body) => {
    for (const [method, path] of [["POST", "/v1/battery"], ["PATCH", "/v1/me"], ["POST", "/v1/devices"], ["POST", "/v1/summaries"]]) {
      const r = await send(method, path, { token, type, body });
      expectProblem(r, 415, "unsupported_media_type");
      expect(r.body.detail).toContain("application/json");
    }
  });

  it("when the charset is not UTF-8, then 415 as before", async () => {
    expectProblem(await send("POST", "/v1/battery", { token, type: "application/json; charset=latin1", body: ev() }), 415, "unsupported_media_type");
    expectProblem(await send("POST", "/v1/battery", { token, type: "text/plain; charset=latin1", body: ev() }), 415, "unsupported_media_type");
  });

  it("when a JSON type carries odd parameters, then it is still JSON (the schema answers, never a 5xx)", async () => {
    expectProblem(await send("POST", "/v1/battery", { token, type: "application/json; boundary=;;;", body: "{}" }), 400, "invalid_request");
    expect((await send("POST", "/v1/battery", { token, type: "application/json; boundary=;;;", body: ev() })).status).toBe(202);
  });

  it("when there is no body and no content type, then the schema answers 400 invalid_request", async () => {
    expectProblem(await send("POST", "/v1/heartbeat", { token }), 400, "invalid_request");
  });
});

describe("methods", () => {
  it.each([
    ["PUT", "/v1/battery", "POST"],
    ["GET", "/v1/battery", "POST"],
    ["POST", "/v1/me", "GET, HEAD, PATCH, DELETE"],
    ["GET", "/v1/summaries", "POST"],
    ["PUT", "/v1/battery/", "POST"],
    ["DELETE", "/V1/Battery", "POST"],
    ["GET", "/webhooks/twilio/inbound", "POST"],
    ["GET", "/admin/api/deliveries/7/retry", "POST"],
  ])("when %s %s is asked, then 405 method_not_allowed with Allow: %s", async (method, path, allow) => {
    const r = await send(method, path, { token });
    expectProblem(r, 405, "method_not_allowed");
    expect(r.headers.get("allow")).toBe(allow);
  });

  it("when HEAD is asked of a POST-only path, then 405 with Allow and no body; of a GET path, then as GET", async () => {
    const post = await fetch(relay.url + "/v1/battery", { method: "HEAD" });
    expect([post.status, post.headers.get("allow"), await post.text()]).toEqual([405, "POST", ""]);
    const get = await fetch(relay.url + "/healthz", { method: "HEAD" });
    expect([get.status, get.headers.get("content-type")]).toEqual([200, expect.stringContaining("application/json")]);
    const me = await fetch(relay.url + "/v1/me", { method: "HEAD", headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
  });

  it.each([
    ["/v1/me", "GET, HEAD, PATCH, DELETE"],
    ["/v1/battery", "POST"],
    ["/V1/Battery/", "POST"],
    ["/healthz", "GET, HEAD"],
    ["/admin/api/deliveries/7/retry", "POST"],
  ])("when OPTIONS %s is asked, then 204 with no body and Allow: %s, OPTIONS", async (path, allow) => {
    for (const auth of [token, undefined]) {
      const res = await fetch(relay.url + path, { method: "OPTIONS", headers: auth ? { authorization: `Bearer ${auth}` } : {} });
      expect([res.status, res.headers.get("allow"), await res.text()]).toEqual([204, `${allow}, OPTIONS`, ""]);
    }
  });

  it("when a path is not known, then 404 not_found whatever the method", async () => {
    for (const method of ["GET", "POST", "PUT", "OPTIONS"]) {
      const r = await send(method, "/v1/nope", { token });
      expectProblem(r, 404, "not_found");
      expect(r.headers.get("allow")).toBeNull();
    }
    expectProblem(await send("GET", "/v1/battery/extra", { token }), 404, "not_found");
  });

  it("when every path of /openapi.json is called with a method it does not list, then 405 with exactly its methods in Allow", async () => {
    const doc = (await call(relay.url, "GET", "/openapi.json")).body as { paths: Record<string, Record<string, unknown>> };
    const all = ["GET", "PUT", "POST", "DELETE", "PATCH"];
    for (const [template, item] of Object.entries(doc.paths)) {
      const path = template.replace(/\{\w+\}/g, "1");
      const listed = Object.keys(item).map((m) => m.toUpperCase()).filter((m) => all.includes(m));
      const other = all.find((m) => !listed.includes(m))!;
      const r = await send(other, path);
      expect([template, other, r.status, r.body?.code], template).toEqual([template, other, 405, "method_not_allowed"]);
      const allow = new Set(r.headers.get("allow")!.split(", "));
      expect(allow, template).toEqual(new Set([...listed, ...(listed.includes("GET") ? ["HEAD"] : [])]));
    }
  });
});

describe("security headers and the scheme of PUBLIC_URL", () => {
  const pages = ["/", "/admin", "/healthz"];

  it("when PUBLIC_URL is unset (plain http on a LAN address), then no upgrade-insecure-requests and no HSTS, the rest of helmet's headers kept", async () => {
    for (const path of pages) {
      const res = await fetch(relay.url + path);
      const csp = res.headers.get("content-security-policy");
      expect([path, csp]).toEqual([path, expect.stringContaining("default-src 'self'")]);
      expect([path, csp]).not.toEqual([path, expect.stringContaining("upgrade-insecure-requests")]);
      expect([path, res.headers.get("strict-transport-security"), res.headers.get("x-content-type-options")]).toEqual([path, null, "nosniff"]);
    }
  });

  it("when PUBLIC_URL is http, then neither is sent; when it is https, then both are", async () => {
    for (const [publicUrl, tls] of [
      ["http://192.0.2.2:8080", false],
      ["https://relay.example", true],
    ] as const) {
      const other = await startRelay({ databaseUrl: db.url, env: { PUBLIC_URL: publicUrl } });
      try {
        for (const path of pages) {
          const res = await fetch(other.url + path);
          const csp = res.headers.get("content-security-policy") ?? "";
          expect([publicUrl, path, csp.includes("upgrade-insecure-requests"), res.headers.get("strict-transport-security")]).toEqual([
            publicUrl,
            path,
            tls,
            tls ? "max-age=31536000; includeSubDomains" : null,
          ]);
        }
      } finally {
        await other.stop();
      }
    }
  });
});

describe("event and wearer bodies", () => {
  const hb = (over: Record<string, unknown> = {}) => ({ observedAt: relay.clock.now().toISOString(), level: 15, ...over });

  it("when a heartbeat carries an eventId, then 204; a malformed one or another unknown key is still 400", async () => {
    expect((await call(relay.url, "POST", "/v1/heartbeat", { token, json: hb({ eventId: "h1" }) })).status).toBe(204);
    expect((await call(relay.url, "POST", "/v1/heartbeat", { token, json: hb({ eventId: "A_-9".repeat(16) }) })).status).toBe(204);
    expect((await call(relay.url, "POST", "/v1/heartbeat", { token, json: hb() })).status).toBe(204);
    for (const bad of [{ eventId: "" }, { eventId: "x".repeat(65) }, { eventId: "a b" }, { eventId: 7 }, { eventIds: "h1" }, { eventId: "h1", extra: 1 }]) {
      const r = await call(relay.url, "POST", "/v1/heartbeat", { token, json: hb(bad) });
      expect([bad, r.status, r.body?.code]).toEqual([bad, 400, "invalid_request"]);
    }
  });

  it("when a time zone is sent in another case or as an alias, then its canonical IANA name is stored and answered", async () => {
    const wearer = await register(relay.url, { timezone: "asia/tokyo" });
    expect((await call(relay.url, "GET", "/v1/me", { token: wearer.token })).body.timezone).toBe("Asia/Tokyo");
    for (const [given, stored] of [
      ["EUROPE/PARIS", "Europe/Paris"],
      ["america/new_york", "America/New_York"],
      ["Etc/UTC", "UTC"],
    ]) {
      const r = await call(relay.url, "PATCH", "/v1/me", { token: wearer.token, json: { timezone: given } });
      expect([given, r.status, r.body.timezone]).toEqual([given, 200, stored]);
      expect((await call(relay.url, "GET", "/v1/me", { token: wearer.token })).body.timezone).toBe(stored);
    }
    const bad = await call(relay.url, "PATCH", "/v1/me", { token: wearer.token, json: { timezone: "mars/olympus" } });
    expect([bad.status, bad.body.code]).toEqual([400, "invalid_request"]);
  });
});

describe("Twilio webhooks without Twilio", () => {
  it("when SMS_PROVIDER is not twilio, then both webhooks answer 403 signed or not, and a STOP changes nothing", async () => {
    const number = "+14155550161";
    const wearer = await verifiedWearer(relay, number);
    for (const path of ["/webhooks/twilio/inbound", "/webhooks/twilio/status"]) {
      for (const headers of [{}, { "x-twilio-signature": "bm90IGEgc2lnbmF0dXJl" }] as Record<string, string>[]) {
        const res = await fetch(relay.url + path, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
          body: `From=${encodeURIComponent(number)}&Body=STOP&MessageSid=SM1&MessageStatus=failed`,
        });
        expect([path, res.status, res.headers.get("content-type")]).toEqual([path, 403, expect.stringContaining("application/problem+json")]);
        expect((await res.json()).code).toBe("forbidden");
      }
    }
    const me = await call(relay.url, "GET", "/v1/me", { token: wearer.token });
    expect(me.body.phone).toMatchObject({ verified: true, optedOut: false });
  });
});

describe("/openapi.json", () => {
  it("when it is read, then JSON bodies list 415, what reaches the database lists 503, and 405 and every problem code are described", async () => {
    const doc = (await call(relay.url, "GET", "/openapi.json")).body;
    const noDatabase = ["/healthz", "/openapi.json", "/static/signup.js"];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(item)) {
        const codes = Object.keys(op.responses);
        if (op.requestBody?.content?.["application/json"]) expect(codes, `${method} ${path}`).toContain("415");
        if (!noDatabase.includes(path)) expect(codes, `${method} ${path}`).toContain("503");
        if (path.startsWith("/webhooks/")) expect(codes, `${method} ${path}`).toEqual(expect.arrayContaining(["403"]));
        if (path.startsWith("/webhooks/")) expect(codes, `${method} ${path}`).not.toContain("404");
      }
    }
    expect(doc.components.responses.MethodNotAllowed.headers.Allow).toBeDefined();
    expect(doc.components.responses.Options.headers.Allow).toBeDefined();
    expect(doc.components.responses.Unauthorized.headers["WWW-Authenticate"]).toBeDefined();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(item)) {
        if (op.security?.some((s: object) => "bearer" in s)) expect(op.responses["401"], `${method} ${path}`).toEqual({ $ref: "#/components/responses/Unauthorized" });
      }
    }
    expect(doc.paths["/v1/heartbeat"].post.requestBody.content["application/json"].schema.properties.eventId.pattern).toBe("^[A-Za-z0-9_-]{1,64}$");
    const examples = doc.components.schemas.Problem.properties.code.examples;
    for (const code of ["x_not_configured", "google_not_configured", "unsupported_media_type", "unavailable", "invalid_return_to", "method_not_allowed", "unauthorized", "forbidden"]) {
      expect(examples).toContain(code);
    }
  });
});
