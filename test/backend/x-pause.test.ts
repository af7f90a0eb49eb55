// X's 429 is app-wide: it pauses every X post of the relay until X's reset, instead of each post
// meeting the 429 on its own; SMS goes on; a 429 never costs a post an attempt, a charge or its life.
// A relay on a test clock against a fake X, on SQLite and PostgreSQL.
import { afterEach, describe, expect, it } from "vitest";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { startFakeX, type FakeX } from "../helpers/fake-x.ts";
import { battery, call, register, verifiedWearer, type TestRelay } from "../helpers/relay.ts";
import { linkX, startXRelay } from "../helpers/relay-x.ts";

let n = 0;
const summary = (date = "2026-11-19") => ({ eventId: `sum-pause-${++n}`, date, activity: { steps: 5000 + n, distanceMeters: 4000, calories: 2000 } });

describe.each(DB_KINDS)("X's rate limit on %s", (kind) => {
  let db: TestDatabase | undefined;
  let fake: FakeX | undefined;
  let relay: TestRelay | undefined;

  afterEach(async () => {
    await relay?.stop();
    await fake?.close();
    await db?.drop();
    relay = fake = db = undefined;
  });

  /** A relay of its own (the pause lives in its worker), and `wearers` linked wearers with one activity post due each. */
  async function start(wearers: number, env: Record<string, string> = {}) {
    db = await createTestDatabase(kind);
    fake = await startFakeX();
    relay = await startXRelay({ databaseUrl: db.url, fake, runWorker: false, env });
    const tokens: string[] = [];
    for (let i = 0; i < wearers; i++) {
      const { token } = await register(relay.url);
      expect((await linkX(relay, token)).status).toBe(200);
      await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { postSleep: false } } });
      expect((await call(relay.url, "POST", "/v1/summaries", { token, json: summary() })).body.posts[0].status).toBe("queued");
      tokens.push(token);
    }
    return { relay, fake, tokens };
  }

  const postsTried = () => fake!.requests.filter((r) => r.method === "POST" && r.path === "/2/tweets").length;
  const drain = () => relay!.running.worker.drain();
  /** what GET /v1/deliveries shows each wearer, and the attempts the relay counted */
  async function xPosts(tokens: string[]) {
    const shown = await Promise.all(tokens.map(async (token) => (await call(relay!.url, "GET", "/v1/deliveries", { token })).body.find((d: { channel: string }) => d.channel === "x")));
    const rows = await relay!.store.db.selectFrom("deliveries").select(["id", "attempts"]).where("channel", "=", "x").execute();
    const attempts = new Map(rows.map((r) => [r.id, Number(r.attempts)]));
    return shown.map((d: { id: string; status: string; error?: string }) => ({ status: d.status, error: d.error, attempts: attempts.get(d.id) }));
  }

  it("when X answers 429 with a reset 30 s ahead, then no X send is attempted before the reset, and afterwards every post goes out once with attempts unchanged", async () => {
    // two sends at a time: without the pause each of the six posts would meet the 429 in turn; one a
    // day per account: a post charged twice for one publication would be dead-lettered
    const { relay, fake, tokens } = await start(6, { DELIVERY_CONCURRENCY: "2", X_POSTS_PER_ACCOUNT_DAILY: "1" });
    const reset = Math.floor(relay.clock.now().getTime() / 1000) + 30;
    fake.rateLimitPostsUntil(reset, () => relay.clock.now().getTime());

    await drain();
    const met429 = postsTried();
    expect(met429).toBeGreaterThanOrEqual(1);
    expect(met429).toBeLessThanOrEqual(2); // only those already on their way when the first 429 came back
    expect(fake.rateLimited).toBe(met429);
    expect(await xPosts(tokens)).toEqual(tokens.map(() => expect.objectContaining({ status: "queued", attempts: 0 })));

    relay.clock.advance(29_000);
    await drain();
    relay.clock.advance(999);
    await drain();
    expect(postsTried()).toBe(met429);

    relay.clock.set(new Date(reset * 1000).toISOString());
    await drain();
    expect(fake.tweets).toHaveLength(6);
    expect(new Set(fake.tweets.map((t) => t.text)).size).toBe(6);
    expect(postsTried()).toBe(met429 + 6);
    expect(await xPosts(tokens)).toEqual(tokens.map(() => ({ status: "sent", error: undefined, attempts: 1 })));
  });

  it("when X pauses the posts, then a low-battery SMS still goes out at once", async () => {
    const { relay, fake, tokens } = await start(2, { DELIVERY_CONCURRENCY: "1" });
    const reset = Math.floor(relay.clock.now().getTime() / 1000) + 600;
    fake.rateLimitPostsUntil(reset, () => relay.clock.now().getTime());
    await drain();
    expect(postsTried()).toBe(1);

    const number = "+14155550177";
    const { token } = await verifiedWearer(relay, number);
    expect((await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 15) })).body.action).toBe("sms");
    await drain();
    const alerts = (await relay.outbox!.list()).filter((m) => m.to === number && !/\b\d{6}\b/.test(m.body));
    expect(alerts).toHaveLength(1);
    expect((await call(relay.url, "GET", "/v1/deliveries", { token })).body[0]).toMatchObject({ channel: "sms", status: "sent" });
    expect(postsTried()).toBe(1);
    expect((await xPosts(tokens)).map((p) => p.status)).toEqual(["queued", "queued"]);
  });

  it("when a 429 says only one wearer's 24-hour window is used up, then the other wearers' posts go out and that one waits for its reset", async () => {
    const { relay, fake, tokens } = await start(3, { DELIVERY_CONCURRENCY: "1" });
    const nowSec = Math.floor(relay.clock.now().getTime() / 1000);
    const headers = { "x-rate-limit-remaining": "80", "x-rate-limit-reset": String(nowSec + 900), "x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": String(nowSec + 3600) };
    fake.failNext(1, { status: 429, headers }, { path: "/2/tweets" });
    await drain();
    expect(fake.tweets).toHaveLength(2);
    const posts = await xPosts(tokens);
    expect(posts.filter((p) => p.status === "sent")).toHaveLength(2);
    expect(posts.filter((p) => p.status === "queued")).toEqual([{ status: "queued", error: "rate_limited:user_rate_limited", attempts: 0 }]);

    relay.clock.advance(3_599_000);
    await drain();
    expect(fake.tweets).toHaveLength(2);
    relay.clock.advance(1_000);
    await drain();
    expect(fake.tweets).toHaveLength(3);
    expect(await xPosts(tokens)).toEqual(tokens.map(() => ({ status: "sent", error: undefined, attempts: 1 })));
  });

  it("when X answers 429 through more windows than the attempt limit, then the post is not dead-lettered and goes out once X takes it", async () => {
    const { relay, fake, tokens } = await start(1, { DELIVERY_MAX_ATTEMPTS: "2", X_POSTS_PER_ACCOUNT_DAILY: "1" });
    for (let window = 0; window < 5; window++) {
      const reset = Math.floor(relay.clock.now().getTime() / 1000) + 60;
      fake.rateLimitPostsUntil(reset, () => relay.clock.now().getTime());
      await drain();
      expect(fake.rateLimited).toBe(window + 1);
      expect(await xPosts(tokens)).toEqual([{ status: "queued", error: "rate_limited:rate_limited", attempts: 0 }]);
      relay.clock.set(new Date(reset * 1000).toISOString());
    }
    await drain();
    expect(fake.tweets).toHaveLength(1);
    expect(await xPosts(tokens)).toEqual([{ status: "sent", error: undefined, attempts: 1 }]);
  });
});
