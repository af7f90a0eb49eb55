// Linking an X account over real HTTP against a fake X: the happy path, and every way a callback can be wrong.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeX, type FakeX } from "../helpers/fake-x.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { call, register, startRelay, type TestRelay } from "../helpers/relay.ts";
import { linkX, startXRelay } from "../helpers/relay-x.ts";

describe("linking X", () => {
  let db: TestDatabase;
  let fake: FakeX;
  let relay: TestRelay;

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    fake = await startFakeX();
    relay = await startXRelay({ databaseUrl: db.url, fake });
  });
  afterAll(async () => {
    await relay.stop();
    await fake.close();
    await db.drop();
  });
  afterEach(() => {
    expect(fake.specViolations).toEqual([]);
  });

  const accounts = async () => relay.store.db.selectFrom("x_accounts").selectAll().execute();

  it("when the wearer approves at X, then the callback page says 'Linked as @name' and GET /v1/me shows the account", async () => {
    const { token, deviceId } = await register(relay.url);
    const link = await call(relay.url, "POST", "/v1/x/link", { token });
    expect(link.status).toBe(200);
    expect(link.body.url).toMatch(new RegExp(`^${relay.url}/x/start\\?flow=[A-Za-z0-9_-]+$`));
    const r = await linkX(relay, token);
    expect(r.status).toBe(200);
    expect(r.page).toContain("Linked as @wristrelay_tester");
    const me = await call(relay.url, "GET", "/v1/me", { token });
    expect(me.body.x).toEqual({ linked: true, username: "wristrelay_tester", status: "linked" });
    expect((await accounts()).filter((a) => a.device_id === deviceId)).toHaveLength(1);
  });

  it("when a Japanese wearer links, then the page is in Japanese", async () => {
    const { token } = await register(relay.url, { timezone: "Asia/Tokyo", language: "ja-JP" });
    const r = await linkX(relay, token);
    expect(r.status).toBe(200);
    expect(r.page).toContain("@wristrelay_testerとして連携しました");
  });

  it("when the same callback comes again, then it is refused with a page and nothing new is exchanged or stored", async () => {
    const { token } = await register(relay.url);
    const r = await linkX(relay, token);
    expect(r.status).toBe(200);
    const issued = fake.tokensIssued.length;
    const before = await accounts();
    const again = await fetch(r.callbackUrl, { redirect: "manual" });
    expect(again.status).toBe(400);
    expect(again.headers.get("content-type")).toContain("text/html");
    expect(await again.text()).toContain("already used");
    expect(fake.tokensIssued.length).toBe(issued);
    expect(await accounts()).toEqual(before);
  });

  it("when the state is unknown, then a 400 page says so and nothing is stored", async () => {
    const before = (await accounts()).length;
    const r = await fetch(`${relay.url}/x/callback?state=not-a-state-we-gave&code=whatever`, { redirect: "manual" });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("not known");
    const none = await fetch(`${relay.url}/x/callback`, { redirect: "manual" });
    expect(none.status).toBe(400);
    expect((await accounts()).length).toBe(before);
  });

  it("when the wearer denies consent, then the page says nothing was linked and nothing is stored", async () => {
    const { token, deviceId } = await register(relay.url);
    fake.denyNextAuthorization();
    const r = await linkX(relay, token);
    expect(r.status).toBe(400);
    expect(r.page).toContain("did not allow");
    expect((await accounts()).some((a) => a.device_id === deviceId)).toBe(false);
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.x).toEqual({ linked: false });
  });

  it("when the callback comes more than 10 minutes after the link was made, then it is refused as expired", async () => {
    const { token, deviceId } = await register(relay.url);
    const issued = fake.tokensIssued.length;
    const r = await linkX(relay, token, () => relay.clock.advance(11 * 60_000));
    expect(r.status).toBe(400);
    expect(r.page).toContain("expired");
    expect(fake.tokensIssued.length).toBe(issued);
    expect((await accounts()).some((a) => a.device_id === deviceId)).toBe(false);
  });

  it("when /x/start is opened with an unknown flow, then a 400 page answers", async () => {
    const r = await fetch(`${relay.url}/x/start?flow=nope`, { redirect: "manual" });
    expect(r.status).toBe(400);
    expect(r.headers.get("content-type")).toContain("text/html");
  });

  /** the page's language and text: `lang` of <html>, and whether any Japanese is on it */
  const pageOf = async (r: Response) => {
    const text = await r.text();
    return { status: r.status, type: r.headers.get("content-type"), lang: /<html lang="(\w+)"/.exec(text)?.[1], text, japanese: /[ぁ-んァ-ン一-龯]/.test(text) };
  };
  const JA = { "accept-language": "ja-JP,ja;q=0.9" };

  it("when a Japanese wearer's link fails at /x/start (expired, already used), then each page is in Japanese, whatever the browser prefers", async () => {
    const { token } = await register(relay.url, { timezone: "Asia/Tokyo", language: "ja-JP" });
    const expired = await call(relay.url, "POST", "/v1/x/link", { token });
    relay.clock.advance(11 * 60_000);
    const en = { "accept-language": "en-US,en;q=0.9" };
    const p1 = await pageOf(await fetch(expired.body.url, { redirect: "manual", headers: en }));
    expect(p1).toMatchObject({ status: 400, lang: "ja", japanese: true });
    expect(p1.text).toContain("期限切れ");
    expect(p1.text).not.toContain("expired");

    // a link that went all the way through, opened again
    const again = await call(relay.url, "POST", "/v1/x/link", { token });
    const start = await fetch(again.body.url, { redirect: "manual" });
    const authorize = await fetch(start.headers.get("location")!, { redirect: "manual" });
    expect((await fetch(authorize.headers.get("location")!, { redirect: "manual" })).status).toBe(200);
    const p2 = await pageOf(await fetch(again.body.url, { redirect: "manual", headers: en }));
    expect(p2).toMatchObject({ status: 400, lang: "ja", japanese: true });
    expect(p2.text).toContain("使用済み");
  });

  it("when a Japanese wearer denies consent or replays the callback, then the callback pages are in Japanese", async () => {
    const { token } = await register(relay.url, { timezone: "Asia/Tokyo", language: "ja-JP" });
    fake.denyNextAuthorization();
    const denied = await linkX(relay, token);
    expect(denied.status).toBe(400);
    expect(denied.page).toContain('<html lang="ja">');
    expect(denied.page).toContain("投稿が許可されなかった");
    const ok = await linkX(relay, token);
    const replay = await pageOf(await fetch(ok.callbackUrl, { redirect: "manual" }));
    expect(replay).toMatchObject({ status: 400, lang: "ja", japanese: true });
    expect(replay.text).toContain("使用済み");
  });

  it("when a link nobody knows is opened, then the page follows the browser's language: Japanese for ja, English otherwise", async () => {
    for (const path of ["/x/start?flow=nope", "/x/start", "/x/callback?state=not-a-state-we-gave&code=x", "/x/callback"]) {
      const ja = await pageOf(await fetch(relay.url + path, { redirect: "manual", headers: JA }));
      expect(ja, path).toMatchObject({ status: 400, lang: "ja", japanese: true });
      expect(ja.text, path).toContain("無効");
      expect(ja.type, path).toContain("text/html");
      for (const headers of [{ "accept-language": "fr-FR,fr;q=0.9" }, {}] as Record<string, string>[]) {
        const en = await pageOf(await fetch(relay.url + path, { redirect: "manual", headers }));
        expect(en, path).toMatchObject({ status: 400, lang: "en", japanese: false });
        expect(en.text, path).toContain("not known");
      }
    }
  });

  it("when the wearer unlinks, then the relay revokes at X and forgets the tokens", async () => {
    const { token, deviceId } = await register(relay.url);
    await linkX(relay, token);
    const del = await call(relay.url, "DELETE", "/v1/me/x", { token });
    expect(del.status).toBe(204);
    expect(fake.requests.some((q) => q.method === "POST" && q.path === "/2/oauth2/revoke")).toBe(true);
    expect((await accounts()).some((a) => a.device_id === deviceId)).toBe(false);
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.x).toEqual({ linked: false });
    expect((await call(relay.url, "DELETE", "/v1/me/x", { token })).status).toBe(204);
  });

  // the whole outbox walk (consent, deny, replay, unlink) is in x-link-outbox.test.ts
  it("when X_PROVIDER is outbox, then linking leads to the relay's stand-in consent page, and unknown links get the usual pages", async () => {
    const dbo = await createTestDatabase("sqlite");
    const outboxRelay = await startRelay({ databaseUrl: dbo.url });
    try {
      const { token } = await register(outboxRelay.url);
      const r = await call(outboxRelay.url, "POST", "/v1/x/link", { token });
      expect(r.status).toBe(200);
      const start = await fetch(r.body.url, { redirect: "manual" });
      expect(start.status).toBe(302);
      expect(start.headers.get("location")!.startsWith(`${outboxRelay.url}/dev/x/authorize?`)).toBe(true);
      expect((await fetch(`${outboxRelay.url}/x/callback?state=a&code=b`)).status).toBe(400);
      const ja = await fetch(`${outboxRelay.url}/x/start?flow=a`, { headers: { "accept-language": "ja" } });
      expect(ja.status).toBe(400);
      expect(await ja.text()).toContain("このリンクは無効です");
    } finally {
      await outboxRelay.stop();
      await dbo.drop();
    }
  });
});
