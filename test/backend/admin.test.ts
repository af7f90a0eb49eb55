// The operator page and its JSON twin: off without ADMIN_TOKEN, sign-in and its limits, CSRF on every
// form, retrying dead letters, and the figures after a known set of records, on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../backend/src/store/open-store.ts";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { call, startRelay, type TestRelay } from "../helpers/relay.ts";

const TOKEN = "operator-token-0123456789abcdef";
const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

async function relayWith(kind: "sqlite" | "postgres", env: Record<string, string> = { ADMIN_TOKEN: TOKEN }, runWorker = false): Promise<TestRelay> {
  const db = await createTestDatabase(kind);
  dbs.push(db);
  return startRelay({ databaseUrl: db.url, env, runWorker });
}

const at = (relay: TestRelay, offsetMs: number) => new Date(relay.clock.now().getTime() + offsetMs).toISOString();
const H = 3_600_000;

async function addWearer(store: Store, id: string, o: { phone?: string; verified?: boolean; createdAt: string }) {
  await store.db
    .insertInto("devices")
    .values({
      id,
      token_hash: `hash-${id}`,
      timezone: "UTC",
      language: "en-US",
      model: null,
      app_version: null,
      preferences: "{}",
      created_at: o.createdAt,
      last_seen_at: null,
      last_level: null,
      last_observed_at: null,
      alerted: "[]",
      silence_alerted: 0,
      phone_number: o.phone ?? null,
      phone_verified: o.verified ? 1 : 0,
    })
    .execute();
}

let seq = 0;
async function addDelivery(
  relay: TestRelay,
  o: { channel?: "sms" | "x"; kind?: string; status: string; createdAgoMs?: number; error?: string | null; to?: string | null; deviceId?: string | null; sentAgoMs?: number; attempts?: number },
): Promise<string> {
  const id = `dl_test_${String(++seq).padStart(4, "0")}`;
  const created = at(relay, -(o.createdAgoMs ?? 60_000));
  const updated = o.sentAgoMs !== undefined ? at(relay, -o.sentAgoMs) : created;
  await relay.store.db
    .insertInto("deliveries")
    .values({
      id,
      device_id: o.deviceId ?? null,
      channel: o.channel ?? "sms",
      kind: o.kind ?? (o.channel === "x" ? "activity" : "low_battery"),
      to_number: o.channel === "x" ? null : (o.to === undefined ? "+14155550123" : o.to),
      body: "Your watch battery is at 9%.",
      status: o.status,
      attempts: o.attempts ?? 1,
      next_attempt_at: created,
      claimed_until: null,
      claimed_by: null,
      provider_id: null,
      error: o.error ?? null,
      event_id: null,
      created_at: created,
      sent_at: o.status === "sent" || o.status === "delivered" ? updated : null,
      updated_at: updated,
    })
    .execute();
  return id;
}

/** POST /admin/login with the right token; the session cookie ("name=value") */
async function signIn(relay: TestRelay, token = TOKEN): Promise<{ cookie: string; setCookie: string; res: Response }> {
  const res = await fetch(relay.url + "/admin/login", {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
  });
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith("wr_admin=")) ?? "";
  return { cookie: setCookie.split(";")[0]!, setCookie, res };
}

async function page(relay: TestRelay, cookie: string, path = "/admin") {
  const res = await fetch(relay.url + path, { headers: { cookie }, redirect: "manual" });
  return { status: res.status, text: await res.text(), res };
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";

async function postForm(relay: TestRelay, path: string, cookie: string, fields: Record<string, string>) {
  return fetch(relay.url + path, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams(fields).toString(),
  });
}

const statusOf = async (relay: TestRelay, id: string) =>
  relay.store.db.selectFrom("deliveries").select(["status", "attempts", "error", "next_attempt_at"]).where("id", "=", id).executeTakeFirstOrThrow();

describe("the operator page: access", () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await relayWith("sqlite");
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it("when ADMIN_TOKEN is unset, then every /admin path answers 404 whatever is sent", async () => {
    const off = await relayWith("sqlite", {});
    try {
      for (const [method, path] of [
        ["GET", "/admin"],
        ["GET", "/admin/api/summary"],
        ["POST", "/admin/login"],
        ["POST", "/admin/api/deliveries/x/retry"],
      ] as const) {
        const r = await call(off.url, method, path, { token: TOKEN });
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.body.code).toBe("not_found");
      }
    } finally {
      await off.stop();
    }
  });

  it("when a browser has no session, then /admin answers 401 with a sign-in form and the API a 401 problem", async () => {
    const res = await fetch(relay.url + "/admin");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const text = await res.text();
    expect(text).toContain('<form method="post" action="/admin/login">');
    expect(text).toContain('type="password"');
    const api = await call(relay.url, "GET", "/admin/api/summary");
    expect(api.status).toBe(401);
    expect(api.headers.get("content-type")).toContain("application/problem+json");
    expect(api.body.code).toBe("unauthorized");
  });

  it("when the right token is posted, then a signed HttpOnly SameSite=Strict cookie opens the dashboard and holds no token", async () => {
    const { res, setCookie, cookie } = await signIn(relay);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin");
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Path=\/admin/);
    expect(setCookie).toMatch(/; Max-Age=43200/);
    expect(setCookie).not.toContain(TOKEN);
    expect(Buffer.from(cookie.split("=")[1]!.split(".")[0]!, "base64url").toString()).not.toContain(TOKEN);
    const p = await page(relay, cookie);
    expect(p.status).toBe(200);
    expect(p.text).toContain("WristRelay operator");
    expect(p.text).not.toContain(TOKEN);
    // a tampered cookie is no session
    const forged = cookie.slice(0, -2) + (cookie.endsWith("AA") ? "BB" : "AA");
    expect((await page(relay, forged)).status).toBe(401);
  });

  it("when a script sends the token as a bearer, then the JSON summary answers; a wrong bearer is 401", async () => {
    const ok = await call(relay.url, "GET", "/admin/api/summary", { token: TOKEN });
    expect(ok.status).toBe(200);
    expect(ok.body.wearers.total).toBeTypeOf("number");
    const bad = await call(relay.url, "GET", "/admin/api/summary", { token: TOKEN + "x" });
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe("unauthorized");
  });

  it("when wrong tokens keep coming from one address, then after 10 it answers 429, refuses even the right token, and lets it in 15 minutes later", async () => {
    const r = await relayWith("sqlite");
    try {
      for (let i = 0; i < 10; i++) {
        const res = await fetch(r.url + "/admin/login", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `token=wrong-guess-${i}`,
          redirect: "manual",
        });
        expect(res.status).toBe(401);
        expect(await res.text()).toContain("That token is not right.");
      }
      const eleventh = await fetch(r.url + "/admin/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "token=wrong", redirect: "manual" });
      expect(eleventh.status).toBe(429);
      expect(Number(eleventh.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await signIn(r)).res.status).toBe(429);
      expect((await call(r.url, "GET", "/admin/api/summary", { token: TOKEN })).status).toBe(429);
      r.clock.advance(16 * 60_000);
      expect((await signIn(r)).res.status).toBe(303);
      expect((await call(r.url, "GET", "/admin/api/summary", { token: TOKEN })).status).toBe(200);
    } finally {
      await r.stop();
    }
  });

  it("when signing out, then the cookie is cleared, and without the form's CSRF token nothing happens", async () => {
    const { cookie } = await signIn(relay);
    const csrf = csrfOf((await page(relay, cookie)).text);
    expect(csrf).not.toBe("");
    expect((await postForm(relay, "/admin/logout", cookie, {})).status).toBe(403);
    const out = await postForm(relay, "/admin/logout", cookie, { csrf });
    expect(out.status).toBe(303);
    expect(out.headers.getSetCookie().find((c) => c.startsWith("wr_admin="))).toMatch(/Max-Age=0/);
  });
});

describe("the operator page: retrying dead letters", () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await relayWith("sqlite", { ADMIN_TOKEN: TOKEN }, true);
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it("when Retry is posted without the session's CSRF token, then nothing changes (403)", async () => {
    const dead = await addDelivery(relay, { status: "dead", error: "permanent:30003", attempts: 3 });
    const { cookie } = await signIn(relay);
    const other = await signIn(relay); // another session's token is not this one's
    const otherCsrf = csrfOf((await page(relay, other.cookie)).text);
    for (const fields of [{}, { csrf: "" }, { csrf: otherCsrf }] as Record<string, string>[]) {
      const r = await postForm(relay, `/admin/deliveries/${dead}/retry`, cookie, fields);
      expect(r.status).toBe(403);
    }
    expect((await postForm(relay, `/admin/deliveries/${dead}/retry`, "", { csrf: otherCsrf })).status).toBe(401);
    expect(await statusOf(relay, dead)).toMatchObject({ status: "dead", attempts: 3, error: "permanent:30003" });
  });

  it("when Retry is posted for a dead letter, then it is queued again, due now, attempts reset, and then sent", async () => {
    const dead = await addDelivery(relay, { status: "dead", error: "max_attempts (transient: 503)", attempts: 8 });
    const { cookie } = await signIn(relay);
    const before = await page(relay, cookie);
    expect(before.text).toContain(`action="/admin/deliveries/${dead}/retry"`);
    const r = await postForm(relay, `/admin/deliveries/${dead}/retry`, cookie, { csrf: csrfOf(before.text) });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe(`/admin?retried=${dead}#dead`);
    await relay.running.worker.drain();
    const row = await statusOf(relay, dead);
    expect(row.status).toBe("sent");
    expect(row.attempts).toBe(1); // reset to 0, then the one successful try
    const after = await page(relay, cookie, `/admin?retried=${dead}`);
    expect(after.text).toContain(`${dead}: now sent`);
    expect(after.text).not.toContain(`action="/admin/deliveries/${dead}/retry"`);
    const outbox = await relay.outbox!.list();
    expect(outbox.filter((m) => m.ref === dead)).toHaveLength(1);
  });

  it("when Retry is posted for a delivery that is not dead, unknown, or a confirmation code, then nothing changes (409, 404)", async () => {
    const sent = await addDelivery(relay, { status: "sent", sentAgoMs: 1_000 });
    const queued = await addDelivery(relay, { status: "queued", createdAgoMs: -H }); // due in an hour
    const { cookie } = await signIn(relay);
    const csrf = csrfOf((await page(relay, cookie)).text);
    expect((await postForm(relay, `/admin/deliveries/${sent}/retry`, cookie, { csrf })).status).toBe(409);
    expect((await postForm(relay, `/admin/deliveries/${queued}/retry`, cookie, { csrf })).status).toBe(409);
    expect((await postForm(relay, `/admin/deliveries/dl_nope/retry`, cookie, { csrf })).status).toBe(404);
    // a confirmation code's text is scrubbed once it left the queue: it is never sent again
    const code = await addDelivery(relay, { kind: "verification", status: "dead", error: "permanent:21211" });
    const shown = (await page(relay, cookie)).text;
    expect(shown).toContain(`<tr data-id="${code}">`);
    expect(shown).not.toContain(`action="/admin/deliveries/${code}/retry"`);
    expect((await postForm(relay, `/admin/deliveries/${code}/retry`, cookie, { csrf })).status).toBe(409);
    expect((await call(relay.url, "POST", `/admin/api/deliveries/${code}/retry`, { token: TOKEN })).body.code).toBe("not_retryable");
    expect((await statusOf(relay, code)).status).toBe("dead");
    expect((await statusOf(relay, sent)).status).toBe("sent");
    expect((await statusOf(relay, queued)).next_attempt_at).toBe(at(relay, H));
    // the same through the JSON API
    expect((await call(relay.url, "POST", `/admin/api/deliveries/${sent}/retry`, { token: TOKEN })).body.code).toBe("not_dead");
    expect((await call(relay.url, "POST", `/admin/api/deliveries/dl_nope/retry`, { token: TOKEN })).status).toBe(404);
  });

  it("when a script retries a dead letter with the bearer token, then it is queued; a browser cookie alone is not enough there", async () => {
    const dead = await addDelivery(relay, { status: "dead", error: "permanent:21211" });
    const { cookie } = await signIn(relay);
    const viaCookie = await fetch(`${relay.url}/admin/api/deliveries/${dead}/retry`, { method: "POST", headers: { cookie } });
    expect(viaCookie.status).toBe(401);
    expect((await statusOf(relay, dead)).status).toBe("dead");
    const r = await call(relay.url, "POST", `/admin/api/deliveries/${dead}/retry`, { token: TOKEN });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ id: dead, status: "queued" });
    await relay.running.worker.drain();
    expect((await statusOf(relay, dead)).status).toBe("sent");
  });
});

describe.each(DB_KINDS)("the operator's figures on %s", (kind) => {
  let relay: TestRelay;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    relay = await relayWith(kind);
    const { db } = relay.store;
    const created = at(relay, -10 * 86_400_000);
    await addWearer(relay.store, "dev_a", { phone: "+14155550101", verified: true, createdAt: created });
    await addWearer(relay.store, "dev_b", { phone: "+14155550102", verified: true, createdAt: created });
    await addWearer(relay.store, "dev_c", { phone: "+14155550103", verified: false, createdAt: created });
    await addWearer(relay.store, "dev_d", { createdAt: created });
    const xAccount = (device_id: string, status: string) => ({
      device_id,
      x_user_id: `u-${device_id}`,
      username: `name_${device_id}`,
      access_token: "sealed",
      refresh_token: null,
      expires_at: created,
      status,
      created_at: created,
      updated_at: created,
    });
    await db.insertInto("x_accounts").values([xAccount("dev_a", "linked"), xAccount("dev_b", "expired")]).execute();
    await db
      .insertInto("google_accounts")
      .values({
        device_id: "dev_c",
        health_user_id: "hu-c",
        access_token: "sealed",
        refresh_token: "sealed",
        expires_at: created,
        scopes: "",
        time_zone: null,
        distance_unit: null,
        status: "linked",
        broken_at: null,
        created_at: created,
        updated_at: created,
      })
      .execute();
    // in the last 24 h: sms sent 3 (one 2 h ago, the latest success), sms dead 2, sms queued 1 (due 10 min ago), x sent 1, x dead 1
    ids.sent2h = await addDelivery(relay, { status: "sent", createdAgoMs: 3 * H, sentAgoMs: 2 * H, deviceId: "dev_a" });
    await addDelivery(relay, { status: "sent", createdAgoMs: 5 * H, sentAgoMs: 5 * H });
    await addDelivery(relay, { status: "sent", createdAgoMs: 6 * H, sentAgoMs: 6 * H });
    ids.deadNew = await addDelivery(relay, { status: "dead", createdAgoMs: 2 * H, sentAgoMs: H, error: "permanent: The 'To' number +1 415 555 0102 is not valid", to: "+14155550102" });
    ids.deadOld = await addDelivery(relay, { status: "dead", createdAgoMs: 4 * H, sentAgoMs: 4 * H, error: "opted_out", to: "+14155550101" });
    ids.queued = await addDelivery(relay, { status: "queued", createdAgoMs: 10 * 60_000 });
    await addDelivery(relay, { channel: "x", status: "sent", createdAgoMs: 8 * H, sentAgoMs: 7 * H, deviceId: "dev_a" });
    ids.xDead = await addDelivery(relay, { channel: "x", status: "dead", createdAgoMs: 9 * H, sentAgoMs: 30 * 60_000, error: "permanent:duplicate", deviceId: "dev_a" });
    // older than 24 h: counted in the queue and dead letters, not in the 24 h table
    await addDelivery(relay, { status: "sent", createdAgoMs: 30 * H, sentAgoMs: 30 * H });
    ids.deadOlder = await addDelivery(relay, { status: "dead", createdAgoMs: 48 * H, sentAgoMs: 47 * H, error: "max_attempts (transient: 503)" });
    ids.sending = await addDelivery(relay, { status: "sending", createdAgoMs: 26 * H });
    // today's budgets, and yesterday's that must not count
    const day = relay.clock.now().toISOString().slice(0, 10);
    await db.insertInto("counters").values([
      { name: `sms_budget:${day}`, count: 7 },
      { name: `x_budget:${day}`, count: 2 },
      { name: `sms_budget:2026-11-19`, count: 99 },
    ]).execute();
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it("when the summary is asked for, then every figure matches the records", async () => {
    const r = await call(relay.url, "GET", "/admin/api/summary", { token: TOKEN });
    expect(r.status).toBe(200);
    const s = r.body;
    expect(s.generatedAt).toBe(relay.clock.now().toISOString());
    expect(s.wearers).toEqual({ total: 4, verifiedPhone: 2, xLinked: 1, googleLinked: 1, googleCap: { used: 1, cap: 100 } });
    expect(s.deliveriesLast24h).toEqual([
      { channel: "sms", status: "dead", count: 2 },
      { channel: "sms", status: "queued", count: 1 },
      { channel: "sms", status: "sent", count: 3 },
      { channel: "x", status: "dead", count: 1 },
      { channel: "x", status: "sent", count: 1 },
    ]);
    expect(s.queue).toEqual({ depth: 2, oldestDueAgeSeconds: 600 });
    expect(s.deadLetters.total).toBe(4);
    expect(s.deadLetters.latest.map((d: { id: string }) => d.id)).toEqual([ids.xDead, ids.deadNew, ids.deadOld, ids.deadOlder]);
    const newest = s.deadLetters.latest[1];
    expect(newest).toMatchObject({ channel: "sms", kind: "low_battery", to: "+1 •••• •• 02", failedAt: at(relay, -H) });
    expect(newest.reason).toBe("permanent: The 'To' number •••02 is not valid");
    expect(s.deadLetters.latest[0]).toMatchObject({ channel: "x", to: null, reason: "permanent:duplicate" });
    expect(s.budgets).toEqual({ sms: { used: 7, limit: 1000 }, x: { used: 2, limit: 500 } });
    const sms = s.providers.find((p: { channel: string }) => p.channel === "sms");
    expect(sms).toMatchObject({ provider: "outbox", configured: true, sends: false, lastSuccessAt: at(relay, -2 * H), lastFailureAt: at(relay, -H) });
    const x = s.providers.find((p: { channel: string }) => p.channel === "x");
    expect(x).toMatchObject({ provider: "outbox", lastSuccessAt: at(relay, -7 * H), lastFailureAt: at(relay, -30 * 60_000), lastFailureReason: "permanent:duplicate" });
    expect(s.providers.find((p: { channel: string }) => p.channel === "google")).toMatchObject({ configured: false });
    expect(JSON.stringify(s)).not.toMatch(/41555501\d\d/);
  });

  it("when the dashboard is shown, then it carries the same figures, masked numbers and a Retry per dead letter", async () => {
    const { cookie } = await signIn(relay);
    const { text } = await page(relay, cookie);
    const figure = (id: string) => new RegExp(`data-figure="${id}"><div class="n">([^<]*)<`).exec(text)?.[1];
    expect(figure("wearers")).toBe("4");
    expect(figure("verified")).toBe("2");
    expect(figure("x-linked")).toBe("1");
    expect(figure("google-linked")).toBe("1");
    expect(figure("queue-depth")).toBe("2");
    expect(figure("oldest-due")).toBe("10 min");
    expect(figure("dead")).toBe("4");
    expect(figure("sms-budget")).toBe("7 / 1000");
    expect(figure("x-budget")).toBe("2 / 500");
    expect(text.match(/>Retry<\/button>/g)).toHaveLength(4);
    expect(text).toContain("+1 •••• •• 02");
    expect(text).not.toMatch(/41555501\d\d/);
    expect(text).not.toContain(TOKEN);
  });
});
