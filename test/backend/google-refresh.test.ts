// Google tokens after linking, on SQLite and PostgreSQL, with two relay processes on one database:
// refresh (one refresher per account), rotation, a 401 mid-call, and a revoked grant ("broken", one SMS).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withGoogleAccess } from "../../backend/src/domain/google-accounts.ts";
import { decryptToken } from "../../backend/src/domain/token-crypto.ts";
import { GoogleApiError } from "../../backend/src/providers/google-health.ts";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { linkGoogle, startFakeGoogle, type FakeGoogle } from "../helpers/fake-google.ts";
import { call, createTestClock, register, startRelay, verifiedWearer, type TestRelay } from "../helpers/relay.ts";

describe.each(DB_KINDS)("Google tokens on %s", (kind) => {
  let db: TestDatabase;
  let fake: FakeGoogle;
  let a: TestRelay;
  let b: TestRelay;
  const clock = createTestClock();

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    fake = await startFakeGoogle({ rotateRefreshTokens: true });
    a = await startRelay({ databaseUrl: db.url, env: fake.env(), clock });
    b = await startRelay({ databaseUrl: db.url, env: fake.env(), clock });
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
    await fake.close();
    await db.drop();
  });

  async function linked(o: { phone?: string; language?: string } = {}) {
    const w = o.phone ? await verifiedWearer(a, o.phone, o.language ? { language: o.language } : {}) : await register(a.url);
    const user = fake.addUser();
    fake.approveAs(user);
    const r = await linkGoogle(a.url, w.token);
    expect(r.status).toBe(200);
    return { ...w, user };
  }
  const refreshes = (healthUserId: string) => fake.tokensIssued.filter((t) => t.healthUserId === healthUserId && t.grant === "refresh_token").length;
  const identity = (relay: TestRelay, deviceId: string) => withGoogleAccess(relay.running.deps, deviceId, (t) => relay.running.deps.google!.identity(t));
  const account = (deviceId: string) => a.store.db.selectFrom("google_accounts").selectAll().where("device_id", "=", deviceId).executeTakeFirstOrThrow();

  it("when the access token is still fresh, then calls use it without refreshing", async () => {
    const { deviceId, user } = await linked();
    await expect(identity(a, deviceId)).resolves.toEqual({ healthUserId: user.healthUserId });
    await expect(identity(b, deviceId)).resolves.toEqual({ healthUserId: user.healthUserId });
    expect(refreshes(user.healthUserId)).toBe(0);
  });

  it("when the access token has ended and eight callers in two relays need it at once, then it is refreshed once and Google's new refresh token is stored", async () => {
    const { deviceId, user } = await linked();
    clock.advance(2 * 3_600_000);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => identity(i % 2 ? a : b, deviceId)));
    expect(results.every((r) => r.healthUserId === user.healthUserId)).toBe(true);
    // PostgreSQL: the row lock makes the second relay wait and find the new token; SQLite: one
    // refresh per process at most, and the compare-and-swap keeps one winner
    if (kind === "postgres") expect(refreshes(user.healthUserId)).toBe(1);
    else expect(refreshes(user.healthUserId)).toBeLessThanOrEqual(2);
    const acc = await account(deviceId);
    const newest = fake.tokensIssued.filter((t) => t.healthUserId === user.healthUserId).at(-1)!;
    const stored = decryptToken(a.config.secret, acc.refresh_token!, deviceId);
    expect(fake.tokensIssued.some((t) => t.refreshToken === stored && t.grant === "refresh_token")).toBe(true);
    if (kind === "postgres") expect(stored).toBe(newest.refreshToken);
    // the stored token works without another refresh
    const before = refreshes(user.healthUserId);
    await expect(identity(b, deviceId)).resolves.toEqual({ healthUserId: user.healthUserId });
    expect(refreshes(user.healthUserId)).toBe(before);
  });

  it("when Google answers 401 to a token the relay thought fresh, then it refreshes once and the call is retried", async () => {
    const { deviceId, user } = await linked();
    fake.expireAccessTokens();
    await expect(identity(a, deviceId)).resolves.toEqual({ healthUserId: user.healthUserId });
    expect(refreshes(user.healthUserId)).toBe(1);
  });

  it("when the wearer revoked the grant at Google, then the link is broken, GET /v1/me says so and one SMS is queued in the wearer's language", async () => {
    const { deviceId, user, token } = await linked({ phone: "+14155550101", language: "ja-JP" });
    user.revoke();
    clock.advance(2 * 3_600_000);
    const errors = await Promise.all([identity(a, deviceId), identity(b, deviceId), identity(a, deviceId)].map((p) => p.catch((e: unknown) => e)));
    for (const e of errors) {
      expect(e).toBeInstanceOf(GoogleApiError);
      expect((e as GoogleApiError).kind).toBe("invalid_grant");
    }
    // later calls do not go to Google at all
    const tokenCalls = fake.calls().byUser[user.healthUserId]?.token ?? 0;
    await expect(identity(b, deviceId)).rejects.toMatchObject({ kind: "invalid_grant" });
    expect(fake.calls().byUser[user.healthUserId]?.token ?? 0).toBe(tokenCalls);
    const me = await call(a.url, "GET", "/v1/me", { token });
    expect(me.body.google).toMatchObject({ linked: true, status: "broken" });
    const sms = await a.store.db.selectFrom("deliveries").selectAll().where("device_id", "=", deviceId).where("kind", "=", "google_link_broken").execute();
    expect(sms).toHaveLength(1);
    expect(sms[0]!.to_number).toBe("+14155550101");
    expect(sms[0]!.body).toContain("Google Healthとの連携が切れました");
  });

  it("when a wearer with SMS alerts off loses the link, then it is broken but no SMS is queued; linking again makes it live", async () => {
    const { deviceId, user, token } = await linked({ phone: "+14155550102" });
    expect((await call(a.url, "PATCH", "/v1/me", { token, json: { preferences: { sms: false } } })).status).toBe(200);
    user.revoke();
    fake.expireAccessTokens();
    await expect(identity(a, deviceId)).rejects.toMatchObject({ kind: "invalid_grant" });
    expect((await call(a.url, "GET", "/v1/me", { token })).body.google.status).toBe("broken");
    const sms = await a.store.db.selectFrom("deliveries").selectAll().where("device_id", "=", deviceId).where("kind", "=", "google_link_broken").execute();
    expect(sms).toEqual([]);
    fake.approveAs(user);
    expect((await linkGoogle(a.url, token)).status).toBe(200);
    expect((await call(a.url, "GET", "/v1/me", { token })).body.google.status).toBe("linked");
    await expect(identity(b, deviceId)).resolves.toEqual({ healthUserId: user.healthUserId });
  });

  it("when a wearer has no Google link, then withGoogleAccess refuses as permanent without calling Google", async () => {
    const { deviceId } = await register(a.url);
    const before = fake.calls().total;
    await expect(identity(a, deviceId)).rejects.toMatchObject({ kind: "permanent" });
    expect(fake.calls().total).toBe(before);
    expect(fake.violations()).toEqual([]);
  });
});
