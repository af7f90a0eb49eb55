// POST /v1/summaries and its eventId: a repeated id gets the first answer (status and body) and causes
// nothing new, whatever the body, the wearer's preferences or the relay process now are; and summaries
// the relay cannot sensibly accept (fractional counts, a day not yet begun for the wearer) are refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pruneRetained } from "../../backend/src/domain/retention.ts";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { call, createTestClock, register, startRelay, type TestRelay } from "../helpers/relay.ts";

let n = 0;
const summary = (date: string, over: Record<string, unknown> = {}) => ({
  eventId: `idem-${++n}`,
  date,
  activity: { steps: 8000 + n, distanceMeters: 6000.5, calories: 2100, floors: 7 },
  sleep: { minutesAsleep: 400 + n, minutesInBed: 440 },
  ...over,
});

describe.each(DB_KINDS)("summary event ids on %s", (kind) => {
  let db: TestDatabase;
  let relay: TestRelay;
  const clock = createTestClock();

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    relay = await startRelay({ databaseUrl: db.url, clock, runWorker: false });
  });
  afterAll(async () => {
    await relay.stop();
    await db.drop();
  });

  const post = (token: string, json: unknown) => call(relay.url, "POST", "/v1/summaries", { token, json });
  const xDeliveries = async (token: string) =>
    ((await call(relay.url, "GET", "/v1/deliveries?limit=100", { token })).body as { channel: string; kind: string; eventId?: string }[]).filter((d) => d.channel === "x");
  const setPosts = (token: string, on: boolean) => call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { postActivity: on, postSleep: on } } });

  it("when the same eventId comes again after posts were turned on, then the first answer comes back and nothing is queued", async () => {
    clock.set("2026-11-20T12:00:00.000Z");
    const { token } = await register(relay.url);
    await setPosts(token, false);
    const body = summary("2026-11-20");
    const first = await post(token, body);
    expect(first.status).toBe(202);
    expect(first.body.posts.map((p: { status: string }) => p.status)).toEqual(["off", "off"]);

    await setPosts(token, true);
    clock.advance(60_000);
    const again = await post(token, body);
    expect(again.status).toBe(first.status);
    expect(again.body).toEqual(first.body);
    // the same id with another day and other numbers: still the first answer, still nothing
    const otherDay = await post(token, { ...body, date: "2026-11-19", activity: { steps: 1, distanceMeters: 1, calories: 1 } });
    expect(otherDay.status).toBe(202);
    expect(otherDay.body).toEqual(first.body);
    expect(await xDeliveries(token)).toEqual([]);
    const preview = await call(relay.url, "GET", "/v1/summaries/preview?date=2026-11-19", { token });
    expect(preview.body.source).toBe("sample");
  });

  it("when a new eventId comes for a day not posted yet, then it is queued once, and further ids for that day queue nothing", async () => {
    clock.set("2026-11-20T12:00:00.000Z");
    const { token } = await register(relay.url);
    await setPosts(token, false);
    expect((await post(token, summary("2026-11-19"))).body.posts.map((p: { status: string }) => p.status)).toEqual(["off", "off"]);
    await setPosts(token, true);
    const second = await post(token, summary("2026-11-19"));
    expect(second.body.posts.map((p: { status: string }) => p.status)).toEqual(["queued", "queued"]);
    const third = await post(token, summary("2026-11-19"));
    expect(third.body).toEqual(second.body);
    expect(await xDeliveries(token)).toHaveLength(2);
  });

  it("when one eventId is posted several times at once, then every answer is the first one and the day is queued once", async () => {
    clock.set("2026-11-20T12:00:00.000Z");
    const { token } = await register(relay.url);
    const body = summary("2026-11-19");
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(token, body)));
    for (const a of answers) {
      expect(a.status).toBe(202);
      expect(a.body).toEqual(answers[0]!.body);
    }
    expect(answers[0]!.body.posts.map((p: { status: string }) => p.status)).toEqual(["queued", "queued"]);
    const x = await xDeliveries(token);
    expect(x.map((d) => [d.kind, d.eventId]).sort()).toEqual([
      ["activity", body.eventId],
      ["sleep", body.eventId],
    ]);
  });

  it("when the relay restarts, then a repeated eventId still gets the first answer and causes nothing", async () => {
    clock.set("2026-11-20T12:00:00.000Z");
    const { token } = await register(relay.url);
    await setPosts(token, false);
    const body = summary("2026-11-18");
    const first = await post(token, body);
    await setPosts(token, true);
    await relay.stop();
    relay = await startRelay({ databaseUrl: db.url, clock, runWorker: false });
    const again = await post(token, { ...body, date: "2026-11-17" });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(await xDeliveries(token)).toEqual([]);
  });

  it("when ids are the same for two wearers, then each wearer gets their own answer", async () => {
    clock.set("2026-11-20T12:00:00.000Z");
    const a = await register(relay.url);
    const b = await register(relay.url);
    await setPosts(a.token, false);
    const body = summary("2026-11-19");
    expect((await post(a.token, body)).body.posts[0].status).toBe("off");
    expect((await post(b.token, body)).body.posts[0].status).toBe("queued");
  });

  it("when a summary's date is after the wearer's tomorrow, then it is a 422 future_date, and nothing is kept for its id", async () => {
    clock.set("2026-11-20T12:00:00.000Z"); // 07:00 in New York, already the 21st in Kiritimati (UTC+14)
    const ny = await register(relay.url, { timezone: "America/New_York" });
    expect((await post(ny.token, summary("2026-11-21"))).status).toBe(202); // a day ahead: a phone's zone may be off
    const refused = await post(ny.token, summary("2026-11-22", { eventId: "future-1" }));
    expect(refused.status).toBe(422);
    expect(refused.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(refused.body.code).toBe("future_date");
    // the refusal caused nothing: the phone may send that id again with its clock fixed
    const fixed = await post(ny.token, summary("2026-11-19", { eventId: "future-1" }));
    expect(fixed.status).toBe(202);
    expect(fixed.body.date).toBe("2026-11-19");

    const kiri = await register(relay.url, { timezone: "Pacific/Kiritimati" });
    expect((await post(kiri.token, summary("2026-11-22"))).status).toBe(202);
    expect((await post(kiri.token, summary("2026-11-23"))).body.code).toBe("future_date");
  });

  it("when a summary is months old, then it is accepted (the day is still posted at most once)", async () => {
    clock.set("2026-11-20T12:00:00.000Z");
    const { token } = await register(relay.url);
    const r = await post(token, summary("2026-08-01"));
    expect(r.status).toBe(202);
    expect(r.body.posts.map((p: { status: string }) => p.status)).toEqual(["queued", "queued"]);
  });

  it("when a count is fractional, then it is a 400; a fractional distance is fine", async () => {
    clock.set("2026-11-20T12:00:00.000Z");
    const { token } = await register(relay.url);
    const activity = { steps: 8000, distanceMeters: 6000, calories: 2100 };
    for (const bad of [{ steps: 8000.5 }, { calories: 2100.2 }, { floors: 1.5 }, { veryActiveMinutes: 0.1 }]) {
      const r = await post(token, summary("2026-11-19", { activity: { ...activity, ...bad } }));
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.code).toBe("invalid_request");
    }
    expect((await post(token, summary("2026-11-19", { sleep: { minutesAsleep: 400.5 } }))).status).toBe(400);
    expect((await post(token, summary("2026-11-19", { activity: { ...activity, distanceMeters: 6123.45 } }))).status).toBe(202);
  });

  it("when the wearer erases themselves, then their summary ids are gone too", async () => {
    clock.set("2026-11-20T12:00:00.000Z");
    const { token, deviceId } = await register(relay.url);
    await post(token, summary("2026-11-19"));
    expect(await relay.store.db.selectFrom("summary_events").select("event_id").where("device_id", "=", deviceId).execute()).toHaveLength(1);
    expect((await call(relay.url, "DELETE", "/v1/me", { token })).status).toBe(204);
    expect(await relay.store.db.selectFrom("summary_events").select("event_id").where("device_id", "=", deviceId).execute()).toEqual([]);
  });

  it("when summary ids are older than the retry window (14 days), then retention drops them and keeps recent ones", async () => {
    clock.set("2026-11-01T12:00:00.000Z");
    const { token, deviceId } = await register(relay.url);
    await post(token, summary("2026-10-31", { eventId: "old-id" }));
    clock.set("2026-11-25T12:00:00.000Z");
    await post(token, summary("2026-11-24", { eventId: "recent-id" }));
    clock.set("2026-12-01T12:00:00.000Z");
    const pruned = await pruneRetained({ store: relay.store, clock, retentionDays: 1 });
    expect(pruned.summaryEvents).toBeGreaterThanOrEqual(1);
    const left = await relay.store.db.selectFrom("summary_events").select("event_id").where("device_id", "=", deviceId).execute();
    expect(left.map((r) => r.event_id)).toEqual(["recent-id"]);
  });
});
