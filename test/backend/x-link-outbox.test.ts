// Linking X on the defaults (X_PROVIDER=outbox) over real HTTP: /x/start sends the wearer to the
// relay's own consent page, whose Approve and Deny come back to /x/callback as X's would.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { call, register, startRelay, type TestRelay } from "../helpers/relay.ts";

const unescape = (s: string) => s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));

/** The consent form's fields, as a browser would send them. */
function formOf(page: string): URLSearchParams {
  const form = new URLSearchParams();
  for (const m of page.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)) form.set(m[1], unescape(m[2]));
  return form;
}

interface Consent {
  status: number;
  page: string;
  /** the relay URL /x/start redirected to */
  at: string;
}

describe.each(DB_KINDS)("linking X on the defaults (outbox) on %s", (kind) => {
  let db: TestDatabase;
  let relay: TestRelay;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    relay = await startRelay({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await relay?.stop();
    await db?.drop();
  });

  /** POST /v1/x/link, then /x/start, then the consent page; each hop by hand, as a browser. */
  async function openConsent(token: string): Promise<Consent> {
    const link = await call<{ url: string }>(relay.url, "POST", "/v1/x/link", { token });
    expect(link.status).toBe(200);
    expect(link.body.url).toMatch(new RegExp(`^${relay.url}/x/start\\?flow=[A-Za-z0-9_-]+$`));
    const start = await fetch(link.body.url, { redirect: "manual" });
    expect(start.status).toBe(302);
    const at = start.headers.get("location")!;
    const consent = await fetch(at, { redirect: "manual" });
    return { status: consent.status, page: await consent.text(), at };
  }

  /** Presses Approve or Deny; returns where the relay's consent page sends the browser. */
  async function decide(page: string, decision: "approve" | "deny", change: Record<string, string> = {}) {
    const form = formOf(page);
    form.set("decision", decision);
    for (const [k, v] of Object.entries(change)) form.set(k, v);
    const r = await fetch(`${relay.url}/dev/x/authorize`, { method: "POST", body: form, redirect: "manual" });
    return { status: r.status, location: r.headers.get("location"), page: await r.text() };
  }

  it("when the wearer approves on the stand-in consent page, then the callback says 'Linked as @outbox_...' and GET /v1/me shows it", async () => {
    const { token } = await register(relay.url);
    const consent = await openConsent(token);
    expect(consent.at.startsWith(`${relay.url}/dev/x/authorize?`)).toBe(true);
    const q = new URL(consent.at).searchParams;
    expect(q.get("redirect_uri")).toBe(`${relay.url}/x/callback`);
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(consent.status).toBe(200);
    expect(consent.page).toContain("X_PROVIDER=outbox");
    expect(consent.page).toContain("nothing is posted to X");
    expect(consent.page).toMatch(/>Approve</);
    expect(consent.page).toMatch(/>Deny</);
    const name = /@(outbox_[a-z0-9]{6})\b/.exec(consent.page)?.[1];
    expect(name).toBeDefined();

    const approved = await decide(consent.page, "approve");
    expect(approved.status).toBe(303);
    const back = new URL(approved.location!);
    expect(`${back.origin}${back.pathname}`).toBe(`${relay.url}/x/callback`);
    expect(back.searchParams.get("state")).toBe(q.get("state"));
    expect(back.searchParams.get("code")).toBeTruthy();

    const cb = await fetch(approved.location!, { redirect: "manual" });
    expect(cb.status).toBe(200);
    expect(cb.headers.get("cache-control"), "a flow's result page is not cached").toBe("no-store");
    const linkedPage = await cb.text();
    expect(linkedPage).toContain(`Linked as @${name}`);
    // started from the settings page: nowhere to go back to, so the page says it can be closed
    expect(linkedPage).toContain("You can close this page.");
    expect(linkedPage).not.toContain('id="continue"');
    const me = await call(relay.url, "GET", "/v1/me", { token });
    expect(me.body.x).toEqual({ linked: true, username: name, status: "linked" });

    // the same callback again: the state is taken once
    const again = await fetch(approved.location!, { redirect: "manual" });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain("already used");
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.x).toEqual({ linked: true, username: name, status: "linked" });
  });

  it("when the same wearer links again, then it is the same @name, and another wearer gets another", async () => {
    const a = await register(relay.url);
    const b = await register(relay.url);
    const nameOf = async (token: string) => /@(outbox_[a-z0-9]{6})\b/.exec((await openConsent(token)).page)![1];
    const first = await nameOf(a.token);
    expect(await nameOf(a.token)).toBe(first);
    expect(await nameOf(b.token)).not.toBe(first);
  });

  it("when the wearer denies, then the callback says nothing was linked and the wearer stays unlinked", async () => {
    const { token } = await register(relay.url, { timezone: "Asia/Tokyo", language: "ja-JP" });
    const consent = await openConsent(token);
    const denied = await decide(consent.page, "deny");
    expect(denied.status).toBe(303);
    const back = new URL(denied.location!);
    expect(back.pathname).toBe("/x/callback");
    expect(back.searchParams.get("error")).toBe("access_denied");
    expect(back.searchParams.get("code")).toBeNull();
    const cb = await fetch(denied.location!, { redirect: "manual" });
    expect(cb.status).toBe(400);
    const deniedPage = await cb.text();
    expect(deniedPage).toContain("投稿が許可されなかったため、連携していません。");
    expect(deniedPage).not.toContain('id="continue"');
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.x).toEqual({ linked: false });
  });

  it("when a link flow is asked to return anywhere but a path on the relay, then it is refused with invalid_return_to and nothing is stored", async () => {
    const { deviceId } = await register(relay.url);
    const { createLinkFlow } = await import("../../backend/src/domain/x-accounts.ts");
    const device = await relay.store.db.selectFrom("devices").selectAll().where("id", "=", deviceId).executeTakeFirstOrThrow();
    const flows = async () => (await relay.store.db.selectFrom("x_link_flows").select("flow_hash").where("device_id", "=", deviceId).execute()).length;
    for (const returnTo of ["https://evil.example/", "//evil.example/", "/\\evil.example", "settings", "", "/a b"]) {
      await expect(createLinkFlow(relay.running.deps, device, { returnTo })).rejects.toMatchObject({ status: 400, code: "invalid_return_to" });
    }
    expect(await flows()).toBe(0);
    await createLinkFlow(relay.running.deps, device, { returnTo: "/?lang=ja" });
    const rows = await relay.store.db.selectFrom("x_link_flows").select("return_to").where("device_id", "=", deviceId).execute();
    expect(rows).toEqual([{ return_to: "/?lang=ja" }]);
  });

  it("when a code comes back with another link's state, then the PKCE check fails and nothing is linked", async () => {
    const { token } = await register(relay.url);
    const one = await openConsent(token);
    const two = await openConsent(token);
    const codeOfTwo = new URL((await decide(two.page, "approve")).location!).searchParams.get("code")!;
    const stateOfOne = new URL(one.at).searchParams.get("state")!;
    const cb = await fetch(`${relay.url}/x/callback?${new URLSearchParams({ code: codeOfTwo, state: stateOfOne })}`, { redirect: "manual" });
    expect(cb.status).toBe(502);
    expect(await cb.text()).toContain("X did not confirm the link");
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.x).toEqual({ linked: false });
  });

  it("when the consent request names another redirect_uri or an unknown state, then the page refuses and redirects nowhere", async () => {
    const { token } = await register(relay.url);
    const consent = await openConsent(token);
    const elsewhere = await decide(consent.page, "approve", { redirect_uri: "https://evil.example/x/callback" });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.location).toBeNull();
    const unknown = await decide(consent.page, "approve", { state: "not-a-state-the-relay-gave" });
    expect(unknown.status).toBe(400);
    expect(unknown.location).toBeNull();
    const bad = new URL(consent.at);
    bad.searchParams.set("code_challenge_method", "plain");
    expect((await fetch(bad, { redirect: "manual" })).status).toBe(400);
  });

  it("when the wearer unlinks, then DELETE /v1/me/x answers 204 and GET /v1/me shows no account", async () => {
    const { token } = await register(relay.url);
    const consent = await openConsent(token);
    const approved = await decide(consent.page, "approve");
    expect((await fetch(approved.location!, { redirect: "manual" })).status).toBe(200);
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.x.linked).toBe(true);
    expect((await call(relay.url, "DELETE", "/v1/me/x", { token })).status).toBe(204);
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.x).toEqual({ linked: false });
    expect((await call(relay.url, "DELETE", "/v1/me/x", { token })).status).toBe(204);
  });

  it("when a wearer has not linked, then their posts are still recorded on /dev/outbox as before", async () => {
    const { token } = await register(relay.url);
    const r = await call(relay.url, "POST", "/v1/summaries", { token, json: { eventId: `outbox-link-${kind}`, date: "2026-11-19", activity: { steps: 4321, distanceMeters: 3000, calories: 1900 } } });
    expect(r.status).toBe(202);
    expect(r.body.posts.map((p: { status: string }) => p.status)).toEqual(["queued", "no_data"]);
  });
});

describe("the stand-in consent page outside development", () => {
  it("when NODE_ENV=production keeps X_PROVIDER=outbox, then the consent page is there and the outbox (it shows codes) is the operator's only", async () => {
    const db = await createTestDatabase("sqlite");
    const admin = "operator-token-0123456789";
    const relay = await startRelay({ databaseUrl: db.url, env: { NODE_ENV: "production", ADMIN_TOKEN: admin } });
    try {
      expect((await fetch(`${relay.url}/dev/outbox`)).status).toBe(401);
      expect((await fetch(`${relay.url}/dev/outbox.json`, { headers: { authorization: "Bearer not-the-operator-token" } })).status).toBe(401);
      expect((await fetch(`${relay.url}/dev/outbox.json`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
      const { token } = await register(relay.url);
      const link = await call(relay.url, "POST", "/v1/x/link", { token });
      expect(link.status).toBe(200);
      const start = await fetch(link.body.url, { redirect: "manual" });
      expect((await fetch(start.headers.get("location")!)).status).toBe(200);
    } finally {
      await relay.stop();
      await db.drop();
    }
  });

  it("when NODE_ENV=production has no ADMIN_TOKEN, then the outbox does not exist", async () => {
    const db = await createTestDatabase("sqlite");
    const relay = await startRelay({ databaseUrl: db.url, env: { NODE_ENV: "production" } });
    try {
      const r = await call(relay.url, "GET", "/dev/outbox.json");
      expect(r.status).toBe(404);
      expect(r.body.code).toBe("not_found");
    } finally {
      await relay.stop();
      await db.drop();
    }
  });

  it("when the relay posts to real X, then /dev/x/authorize does not exist", async () => {
    const db = await createTestDatabase("sqlite");
    const relay = await startRelay({ databaseUrl: db.url, env: { X_PROVIDER: "x", X_CLIENT_ID: "id", X_CLIENT_SECRET: "secret", X_API_URL: "http://127.0.0.1:9", X_AUTHORIZE_URL: "http://127.0.0.1:9/authorize" } });
    try {
      expect((await fetch(`${relay.url}/dev/x/authorize?state=a`)).status).toBe(404);
      expect((await fetch(`${relay.url}/dev/x/authorize`, { method: "POST", body: new URLSearchParams({ decision: "approve" }) })).status).toBe(404);
    } finally {
      await relay.stop();
      await db.drop();
    }
  });
});
