// Takeover and cross-wearer access: every route of the served /openapi.json, read at run time, is tried
// without a token, with wrong and erased wearers' tokens, and with wearer A's token and wearer B's ids
// and data. B's records must stay exactly as they were and nothing of B's may show in A's answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { linkGoogle } from "../../helpers/fake-google.ts";
import { battery, call, register, verifiedWearer } from "../../helpers/relay.ts";
import { reportFigures } from "../profile.ts";
import { fillPath, loadOperations, sample, type OpenApi, type Operation } from "../helpers/openapi.ts";
import { GOOGLE_ROUTES_FILE, HAS_GOOGLE, startKit, wearerRows, type Kit } from "../helpers/relay-kit.ts";

let kit: Kit;
let url: string;
let doc: OpenApi;
let ops: Operation[];
const figures: Record<string, number | string | boolean> = {};

interface Wearer {
  token: string;
  deviceId: string;
}
let A: Wearer;
let erased: Wearer;
const B = {
  token: "",
  deviceId: "",
  number: "+14155550199",
  eventIds: [] as string[],
  deliveryIds: [] as string[],
  date: "2026-11-19",
  x: { flow: "", state: "", code: "" },
  google: { flow: "", state: "", code: "" },
};

const isProblem = (r: Response) => (r.headers.get("content-type") ?? "").startsWith("application/problem+json");

/** POST /v1/x/link, then each hop by hand; keeps the flow, state and code (they are replayed later) */
async function linkXKeepingFlow(token: string) {
  const link = await call<{ url: string }>(url, "POST", "/v1/x/link", { token });
  expect(link.status).toBe(200);
  const flow = new URL(link.body.url).searchParams.get("flow")!;
  const start = await fetch(link.body.url, { redirect: "manual" });
  const authorize = await fetch(start.headers.get("location")!, { redirect: "manual" });
  const cb = new URL(authorize.headers.get("location")!);
  const done = await fetch(cb, { redirect: "manual" });
  expect(done.status).toBe(200);
  return { flow, state: cb.searchParams.get("state")!, code: cb.searchParams.get("code") ?? "" };
}

beforeAll(async () => {
  kit = await startKit({ kind: "sqlite" });
  url = kit.relay.url;
  ({ doc, ops } = await loadOperations(url));
  if (HAS_GOOGLE) {
    // the Google link routes of the contract (relay-api.md), until /openapi.json lists them
    const google: Operation[] = [
      { method: "POST", path: "/v1/google/link", auth: "bearer", params: [] },
      { method: "DELETE", path: "/v1/me/google", auth: "bearer", params: [] },
      { method: "GET", path: "/google/start", auth: "none", params: [{ name: "flow", in: "query" }] },
      { method: "GET", path: "/google/callback", auth: "none", params: ["state", "code", "error"].map((name) => ({ name, in: "query" as const })) },
    ];
    for (const g of google) if (!ops.some((o) => o.method === g.method && o.path === g.path)) ops.push(g);
  }

  // B: verified number, an alert queued for after quiet hours, a summary, X (and Google) linked
  const b = await verifiedWearer(kit.relay, B.number);
  B.token = b.token;
  B.deviceId = b.deviceId;
  await call(url, "PATCH", "/v1/me", { token: B.token, json: { preferences: { quietHours: { start: "00:00", end: "23:59" } } } });
  const ev = battery(kit.relay.clock, 19);
  const bat = await call(url, "POST", "/v1/battery", { token: B.token, json: ev });
  expect(bat.body).toMatchObject({ action: "sms", reason: "quiet_hours" });
  B.eventIds.push(ev.eventId);
  B.x = await linkXKeepingFlow(B.token);
  const sum = await call(url, "POST", "/v1/summaries", {
    token: B.token,
    json: { eventId: "b-summary-1", date: B.date, activity: { steps: 12345, distanceMeters: 9000, calories: 2100 }, sleep: { minutesAsleep: 420 } },
  });
  expect(sum.status).toBe(202);
  B.eventIds.push("b-summary-1");
  if (kit.google) {
    kit.google.addUser();
    const link = await call<{ url: string }>(url, "POST", "/v1/google/link", { token: B.token });
    expect(link.status).toBe(200);
    B.google.flow = new URL(link.body.url).searchParams.get("flow") ?? "";
    const hops = await linkGoogle(url, B.token, { linkUrl: link.body.url });
    expect(hops.status).toBe(200);
    const cb = new URL(hops.callbackUrl!);
    B.google.state = cb.searchParams.get("state") ?? "";
    B.google.code = cb.searchParams.get("code") ?? "";
  }
  await kit.relay.running.worker.drain();
  const list = await call(url, "GET", "/v1/deliveries?limit=100", { token: B.token });
  B.deliveryIds = list.body.map((d: { id: string }) => d.id);
  expect(B.deliveryIds.length).toBeGreaterThan(0);

  A = await register(url, { timezone: "Europe/Paris" });
  erased = await register(url, { timezone: "UTC" });
  expect((await call(url, "DELETE", "/v1/me", { token: erased.token })).status).toBe(204);
});
afterAll(async () => {
  await kit?.stop();
  reportFigures("auth", figures);
});

/** One request as wearer A would make it to `op`, carrying B's ids and data. */
function requestAsA(op: Operation, variant = 0) {
  const google = op.path.includes("google");
  const by: Record<string, unknown> = {
    eventId: B.eventIds[variant % B.eventIds.length],
    date: B.date,
    number: variant === 0 ? B.number : "+14155550142",
    country: "US",
    code: google ? B.google.code : B.x.code,
    flow: google ? B.google.flow : B.x.flow,
    state: google ? B.google.state : B.x.state,
    limit: 100,
    id: B.deliveryIds[0],
    deviceId: B.deviceId,
    From: B.number,
    Body: "STOP",
    _csrf: "forged",
    observedAt: kit.relay.clock.now().toISOString(),
    level: 5,
  };
  const u = new URL(url + fillPath(op.path, by));
  for (const p of op.params) if (p.in === "query") u.searchParams.set(p.name, String(by[p.name] ?? sample(doc, p.schema)));
  const headers: Record<string, string> = { authorization: `Bearer ${A.token}` };
  let body: string | undefined;
  if (op.body) {
    const value = sample(doc, op.body.schema, by) as Record<string, unknown>;
    headers["content-type"] = op.body.type;
    body = op.body.type.includes("json") ? JSON.stringify(value) : new URLSearchParams(Object.entries(value).map(([k, v]) => [k, String(v)])).toString();
  }
  return { url: u.toString(), init: { method: op.method, headers, body, redirect: "manual" as const } };
}

/** what must never show in A's answers (unless A itself sent it) */
function secretsOfB(): string[] {
  const out = [B.token, B.deviceId, B.number, B.number.slice(2), ...B.deliveryIds, kit.x.user.username, B.x.code, B.google.code];
  return out.filter((s) => s.length >= 4);
}

describe("authentication", () => {
  it("when a bearer route of /openapi.json gets no token, a wrong one, a malformed one or an erased wearer's, then 401 problem+json unauthorized", async () => {
    const bearer = ops.filter((o) => o.auth === "bearer");
    expect(bearer.length).toBeGreaterThan(10);
    const variants: Record<string, string | undefined> = {
      missing: undefined,
      wrong: `Bearer ${randomBytes(32).toString("base64url")}`,
      erased: `Bearer ${erased.token}`,
      "other scheme": `Basic ${Buffer.from(`x:${A.token}`).toString("base64")}`,
      "no scheme": A.token,
      "token with junk": `Bearer ${A.token}.x`,
      "two tokens": `Bearer ${A.token}, Bearer ${A.token}`,
      empty: "Bearer ",
    };
    let tried = 0;
    const before = await wearerRows(kit.relay.store, A.deviceId);
    for (const op of bearer) {
      for (const [what, authorization] of Object.entries(variants)) {
        const r = requestAsA(op);
        const headers = { ...(r.init.headers as Record<string, string>) };
        if (authorization === undefined) delete headers.authorization;
        else headers.authorization = authorization;
        const res = await fetch(r.url, { ...r.init, headers });
        const text = await res.text();
        tried++;
        expect(res.status, `${op.method} ${op.path} with ${what}: ${text}`).toBe(401);
        expect(isProblem(res), `${op.method} ${op.path} with ${what}`).toBe(true);
        expect(JSON.parse(text).code).toBe("unauthorized");
      }
    }
    expect(await wearerRows(kit.relay.store, A.deviceId)).toBe(before);
    figures["bearer routes (from /openapi.json)"] = bearer.length;
    figures["token variants per route"] = Object.keys(variants).length;
    figures["unauthenticated requests refused (401)"] = `${tried} / ${tried}`;
  });

  it("when wearer A calls every route with B's ids and data, then B's records are unchanged and nothing of B's shows in A's answers", async () => {
    // erasing A comes last, other deletions just before it
    const rank = (o: Operation) => (o.method === "DELETE" ? (o.path === "/v1/me" ? 2 : 1) : 0);
    const ordered = [...ops].sort((a, b) => rank(a) - rank(b));
    const secrets = secretsOfB();
    let before = await wearerRows(kit.relay.store, B.deviceId);
    const log: string[] = [];
    let requests = 0;
    for (const op of ordered) {
      const variants = op.body && JSON.stringify(op.body.schema).includes('"number"') ? 2 : 1;
      for (let v = 0; v < variants; v++) {
        const r = requestAsA(op, v);
        const res = await fetch(r.url, r.init);
        const text = await res.text();
        requests++;
        const where = `${op.method} ${op.path} (${res.status})`;
        log.push(where);
        expect(res.status, `${where}: ${text.slice(0, 300)}`).toBeLessThan(500);
        const sent = r.url + (r.init.body ?? "");
        for (const s of secrets) if (!sent.includes(s)) expect(text.includes(s) || (res.headers.get("location") ?? "").includes(s), `${where} shows B's ${s}`).toBe(false);
        const after = await wearerRows(kit.relay.store, B.deviceId);
        expect(after, `${where} changed B's records`).toBe(before);
        before = after;
      }
    }
    // B still works as before: the link flows of B replayed by A did not link anything to A
    const meB = await call(url, "GET", "/v1/me", { token: B.token });
    expect(meB.body.phone).toMatchObject({ verified: true, optedOut: false });
    expect(meB.body.x.linked).toBe(true);
    expect((await call(url, "GET", "/v1/deliveries?limit=100", { token: B.token })).body.map((d: { id: string }) => d.id)).toEqual(B.deliveryIds);
    figures["routes tried with A's token and B's data"] = ops.length;
    figures["requests"] = requests;
    figures["B's records changed"] = 0;
    figures["B's values seen in A's answers"] = 0;
    figures["Google routes covered"] = HAS_GOOGLE ? ops.filter((o) => o.path.includes("google")).length : `none (${GOOGLE_ROUTES_FILE} missing)`;
  });

  it("when A posts events with B's event ids, then A gets its own answer, never B's recorded one", async () => {
    const a = await register(url, { timezone: "UTC" });
    const r = await call(url, "POST", "/v1/battery", { token: a.token, json: battery(kit.relay.clock, 19, { eventId: B.eventIds[0] }) });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ eventId: B.eventIds[0], action: "none", reason: "no_phone" });
  });
});
