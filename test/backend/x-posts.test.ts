// Daily posts on X: summaries in, at most one post per kind per day out, at the wearer's summary time,
// through X's failures (duplicate, 5xx, expired tokens; 429s are in x-pause.test.ts) against a fake X;
// tokens never in plaintext.
import { existsSync, readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { decryptToken } from "../../backend/src/domain/token-crypto.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { startFakeX, type FakeX } from "../helpers/fake-x.ts";
import { call, createTestClock, register, startRelay, type TestRelay } from "../helpers/relay.ts";
import { linkX, startXRelay } from "../helpers/relay-x.ts";

let n = 0;
const summary = (date: string, over: Record<string, unknown> = {}) => ({
  eventId: `sum-${date}-${++n}`,
  date,
  activity: { steps: 8000 + n, distanceMeters: 6000, calories: 2100, floors: 7, activeZoneMinutes: 30 },
  sleep: { minutesAsleep: 400 + n, minutesInBed: 440 },
  ...over,
});

const dbBytes = (url: string) => {
  const path = url.slice(5);
  return Buffer.concat([path, path + "-wal"].filter(existsSync).map((p) => readFileSync(p))).toString("latin1");
};

describe("daily posts on X", () => {
  let db: TestDatabase;
  let fake: FakeX;
  let relay: TestRelay;

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    fake = await startFakeX();
    relay = await startXRelay({ databaseUrl: db.url, fake, runWorker: false, env: { SEND_TIMEOUT_MS: "1500" } });
  });
  afterAll(async () => {
    await relay.stop();
    await fake.close();
    await db.drop();
  });
  afterEach(() => {
    expect(fake.specViolations).toEqual([]);
  });

  /** a linked wearer; the clock is back at the default start and earlier tests' posts are out of the way */
  async function linkedWearer(extra: Record<string, unknown> = {}) {
    relay.clock.set("2026-11-20T12:00:00.000Z");
    await relay.store.db.updateTable("deliveries").set({ status: "dead", error: "earlier test" }).where("status", "=", "queued").execute();
    const w = await register(relay.url, { timezone: "America/New_York", ...extra });
    const r = await linkX(relay, w.token);
    expect(r.status).toBe(200);
    return w;
  }
  const drain = () => relay.running.worker.drain();
  const deliveries = async (token: string) => (await call(relay.url, "GET", "/v1/deliveries", { token })).body as { kind: string; channel: string; status: string; error?: string }[];
  const tweetsOf = () => fake.tweets.length;

  it("when a summary arrives after the summary time, then both posts are due at once and go out in the wearer's language", async () => {
    const { token } = await linkedWearer({ language: "ja-JP", timezone: "Asia/Tokyo" });
    const before = tweetsOf();
    const r = await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({
      date: "2026-11-19",
      posts: [
        { kind: "activity", status: "queued", at: "2026-11-20T12:00:00.000Z" },
        { kind: "sleep", status: "queued", at: "2026-11-20T12:00:00.000Z" },
      ],
    });
    await drain();
    expect(tweetsOf()).toBe(before + 2);
    expect(fake.tweets.at(-1)!.text).toMatch(/[ぁ-んァ-ン一-龯]/);
    expect((await deliveries(token)).filter((d) => d.channel === "x").map((d) => d.status)).toEqual(["sent", "sent"]);
  });

  it("when posts are due at 00:10 in Tokyo, then nothing goes out before and both go out at that minute", async () => {
    const { token } = await linkedWearer({ timezone: "Asia/Tokyo" });
    relay.clock.set("2026-11-20T10:00:00.000Z"); // 19:00 in Tokyo
    const r = await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-20") });
    expect(r.body.posts.map((p: { at: string }) => p.at)).toEqual(["2026-11-20T15:10:00.000Z", "2026-11-20T15:10:00.000Z"]);
    const before = tweetsOf();
    await drain();
    relay.clock.set("2026-11-20T15:09:59.000Z");
    await drain();
    expect(tweetsOf()).toBe(before);
    relay.clock.set("2026-11-20T15:10:00.000Z");
    await drain();
    expect(tweetsOf()).toBe(before + 2);
  });

  it("when the wearer has sleep posts off and no X account, then the answer says so and nothing is queued", async () => {
    relay.clock.set("2026-11-20T12:00:00.000Z");
    const { token } = await register(relay.url);
    const r = await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
    expect(r.body.posts.map((p: { status: string }) => p.status)).toEqual(["not_linked", "not_linked"]);
    await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { postSleep: false } } });
    await linkX(relay, token);
    const again = await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
    expect(again.body.posts.map((p: { status: string }) => p.status)).toEqual(["queued", "off"]);
    expect((await deliveries(token)).filter((d) => d.channel === "x")).toHaveLength(1);
    const noSleep = await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-18", { sleep: undefined }) });
    expect(noSleep.body.posts[1].status).toBe("no_data");
  });

  it("when a summary has an unknown field or a bad date, then it is a 400", async () => {
    const { token } = await register(relay.url);
    expect((await call(relay.url, "POST", "/v1/summaries", { token, json: { ...summary("2026-11-19"), extra: 1 } })).status).toBe(400);
    expect((await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-13-40") })).status).toBe(400);
    expect((await call(relay.url, "POST", "/v1/summaries", { json: summary("2026-11-19") })).status).toBe(401);
  });

  it("when X answers 503 once, then the post is retried after a backoff and goes out once", async () => {
    const { token } = await linkedWearer();
    await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { postSleep: false } } });
    const before = tweetsOf();
    fake.failNext(1, { status: 503 }, { path: "/2/tweets" });
    await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
    await drain();
    expect(tweetsOf()).toBe(before);
    expect((await deliveries(token))[0]).toMatchObject({ status: "queued", error: "transient:http_503" });
    relay.clock.advance(5_000);
    await drain();
    expect(tweetsOf()).toBe(before + 1);
    expect((await deliveries(token))[0].status).toBe("sent");
  });

  it("when an attempt timed out but X had posted it, then the retry's 'duplicate' counts as sent", async () => {
    const { token } = await linkedWearer();
    await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { postSleep: false } } });
    await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
    const preview = await call(relay.url, "GET", "/v1/summaries/preview?date=2026-11-19", { token });
    expect(preview.body.source).toBe("summary");
    fake.failNext(1, { timeoutMs: 5_000 }, { path: "/2/tweets" }); // longer than SEND_TIMEOUT_MS
    await drain();
    expect((await deliveries(token))[0]).toMatchObject({ status: "queued", error: expect.stringMatching(/^transient:(timeout|network)$/) });
    // what X did with the request whose answer was lost
    fake.tweets.push({ userId: fake.user.id, text: preview.body.posts[0].text, id: "1" });
    const before = tweetsOf();
    relay.clock.advance(5_000);
    await drain();
    expect(tweetsOf()).toBe(before);
    expect((await deliveries(token))[0].status).toBe("sent");
  });

  it("when X calls the first attempt a duplicate, then the post is dead with that reason", async () => {
    const { token } = await linkedWearer();
    await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { postSleep: false } } });
    await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
    const text = (await call(relay.url, "GET", "/v1/summaries/preview?date=2026-11-19", { token })).body.posts[0].text;
    fake.tweets.push({ userId: fake.user.id, text, id: "2" });
    await drain();
    expect((await deliveries(token))[0]).toMatchObject({ status: "dead", error: "permanent:duplicate" });
  });

  it("when the access token has expired, then the relay refreshes, posts, and keeps X's newest refresh token each time", async () => {
    const { token, deviceId } = await linkedWearer();
    await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { postSleep: false } } });
    for (const date of ["2026-11-18", "2026-11-19"]) {
      fake.expireAccessTokens();
      const before = tweetsOf();
      await call(relay.url, "POST", "/v1/summaries", { token, json: summary(date) });
      await drain();
      expect(tweetsOf()).toBe(before + 1);
      const newest = fake.tokensIssued.at(-1)!;
      expect(newest.grant).toBe("refresh_token");
      const acc = await relay.store.db.selectFrom("x_accounts").selectAll().where("device_id", "=", deviceId).executeTakeFirstOrThrow();
      expect(decryptToken(relay.config.secret, acc.refresh_token!, deviceId)).toBe(newest.refreshToken);
      expect(decryptToken(relay.config.secret, acc.access_token, deviceId)).toBe(newest.accessToken);
    }
  });

  it("when X refuses the refresh token, then the post is dead and GET /v1/me shows the link expired", async () => {
    const { token } = await linkedWearer();
    await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { postSleep: false } } });
    fake.expireAccessTokens();
    fake.expireRefreshTokens();
    await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
    await drain();
    expect((await deliveries(token))[0]).toMatchObject({ status: "dead", error: "permanent:link_expired" });
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.x).toEqual({ linked: false, username: "wristrelay_tester", status: "expired" });
    const next = await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-20") });
    expect(next.body.posts[0].status).toBe("not_linked");
  });

  it("when a day's posts are previewed, then the stored numbers are used, or a sample day before any summary, in the wearer's language", async () => {
    const { token } = await register(relay.url, { timezone: "Asia/Tokyo", language: "ja-JP" });
    const sample = await call(relay.url, "GET", "/v1/summaries/preview?date=2026-11-01", { token });
    expect(sample.status).toBe(200);
    expect(sample.body.source).toBe("sample");
    expect(sample.body.posts.map((p: { kind: string }) => p.kind)).toEqual(["activity", "sleep"]);
    expect(sample.body.posts[0].text).toMatch(/8,?432/);
    await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-02", { activity: { steps: 12345, distanceMeters: 9000, calories: 2500 } }) });
    const stored = await call(relay.url, "GET", "/v1/summaries/preview?date=2026-11-02", { token });
    expect(stored.body.source).toBe("summary");
    expect(stored.body.posts[0].text).toMatch(/12,?345/);
    expect((await call(relay.url, "GET", "/v1/summaries/preview?date=nope", { token })).status).toBe(400);
  });

  it("when the database file is read byte by byte, then none of the tokens X issued is in it", async () => {
    expect(fake.tokensIssued.length).toBeGreaterThan(3);
    const bytes = dbBytes(db.url);
    expect(bytes.length).toBeGreaterThan(0);
    for (const t of fake.tokensIssued) {
      expect(bytes.includes(t.accessToken)).toBe(false);
      if (t.refreshToken) expect(bytes.includes(t.refreshToken)).toBe(false);
    }
  });
});

describe("daily posts on X across restarts and budgets", () => {
  it("when a summary arrives three times across a relay restart, then X gets one post per kind", async () => {
    const db = await createTestDatabase("sqlite");
    const fake = await startFakeX();
    const clock = createTestClock();
    let relay = await startXRelay({ databaseUrl: db.url, fake, clock });
    try {
      const { token } = await register(relay.url);
      await linkX(relay, token);
      const first = await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
      const second = await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
      expect(second.body).toEqual(first.body);
      await relay.running.worker.drain();
      await relay.stop();
      relay = await startXRelay({ databaseUrl: db.url, fake, clock });
      const third = await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
      expect(third.body).toEqual(first.body);
      await relay.running.worker.drain();
      expect(fake.tweets).toHaveLength(2);
      expect((await call(relay.url, "GET", "/v1/deliveries", { token })).body.filter((d: { channel: string }) => d.channel === "x")).toHaveLength(2);
      const bytes = dbBytes(db.url);
      for (const t of fake.tokensIssued) expect(bytes.includes(t.accessToken)).toBe(false);
      expect(fake.specViolations).toEqual([]);
    } finally {
      await relay.stop();
      await fake.close();
      await db.drop();
    }
  });

  it("when an account's daily posts are used up, then the next post that day is dead with the reason", async () => {
    const db = await createTestDatabase("sqlite");
    const fake = await startFakeX();
    const relay = await startXRelay({ databaseUrl: db.url, fake, runWorker: false, env: { X_POSTS_PER_ACCOUNT_DAILY: "1" } });
    try {
      const { token } = await register(relay.url);
      await linkX(relay, token);
      await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { postSleep: false } } });
      await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-18") });
      await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
      await relay.running.worker.drain();
      expect(fake.tweets).toHaveLength(1);
      const ds = (await call(relay.url, "GET", "/v1/deliveries", { token })).body as { status: string; error?: string }[];
      expect(ds.map((d) => d.status).sort()).toEqual(["dead", "sent"]);
      expect(ds.find((d) => d.status === "dead")!.error).toBe("permanent:account_daily_cap");
    } finally {
      await relay.stop();
      await fake.close();
      await db.drop();
    }
  });

  it("when X_PROVIDER is outbox (the default), then a summary shows up as posts on /dev/outbox beside the SMS", async () => {
    const db = await createTestDatabase("sqlite");
    const relay = await startRelay({ databaseUrl: db.url });
    try {
      const { token } = await register(relay.url);
      const r = await call(relay.url, "POST", "/v1/summaries", { token, json: summary("2026-11-19") });
      expect(r.body.posts.map((p: { status: string }) => p.status)).toEqual(["queued", "queued"]);
      await relay.running.worker.drain();
      const box = (await call(relay.url, "GET", "/dev/outbox.json")).body as { channel: string; to: string; body: string }[];
      expect(box.filter((m) => m.channel === "x")).toHaveLength(2);
      expect(box.every((m) => m.channel !== "x" || m.to === "@outbox")).toBe(true);
      const page = await (await fetch(relay.url + "/dev/outbox")).text();
      expect(page).toContain("X posts");
      expect(page).toContain("8,");
      expect((await call(relay.url, "DELETE", "/v1/me", { token })).status).toBe(204);
      const after = (await call(relay.url, "GET", "/dev/outbox.json")).body as { channel: string }[];
      expect(after.filter((m) => m.channel === "x")).toHaveLength(0);
    } finally {
      await relay.stop();
      await db.drop();
    }
  });
});


describe("daily posts on X with two relays on one PostgreSQL database", () => {
  it("when both relays find the same posts due and both refresh at once, then X gets one post per kind and one refresh", async () => {
    const db = await createTestDatabase("postgres");
    const fake = await startFakeX();
    const clock = createTestClock();
    const a = await startXRelay({ databaseUrl: db.url, fake, clock, runWorker: false });
    const b = await startXRelay({ databaseUrl: db.url, fake, clock, runWorker: false });
    try {
      const { token, deviceId } = await register(a.url, { timezone: "Asia/Tokyo" });
      expect((await linkX(a, token)).status).toBe(200);
      clock.set("2026-11-20T10:00:00.000Z");
      const r = await call(b.url, "POST", "/v1/summaries", { token, json: summary("2026-11-20") });
      expect(r.body.posts.map((p: { status: string }) => p.status)).toEqual(["queued", "queued"]);
      clock.set("2026-11-20T15:10:00.000Z");
      await Promise.all([a.running.worker.drain(), b.running.worker.drain(), a.running.worker.drain(), b.running.worker.drain()]);
      expect(fake.tweets).toHaveLength(2);

      const { refreshAccount } = await import("../../backend/src/domain/x-accounts.ts");
      const stale = (await a.store.db.selectFrom("x_accounts").select("access_token").where("device_id", "=", deviceId).executeTakeFirstOrThrow()).access_token;
      const refreshesBefore = fake.tokensIssued.filter((t) => t.grant === "refresh_token").length;
      const [ta, tb] = await Promise.all([refreshAccount(a.running.deps, deviceId, stale), refreshAccount(b.running.deps, deviceId, stale)]);
      expect(ta.token).toBe(tb.token);
      expect(fake.tokensIssued.filter((t) => t.grant === "refresh_token").length).toBe(refreshesBefore + 1);
      expect(fake.specViolations).toEqual([]);
    } finally {
      await a.stop();
      await b.stop();
      await fake.close();
      await db.drop();
    }
  });
});
