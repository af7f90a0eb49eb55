// Google Health quotas kept in the database: what several relay processes may call per minute.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProjectGate, giveBackUserQuota, nextMinute, pauseProject, projectPausedUntil, sweepQuotaCounters, takeUserQuota } from "../../backend/src/domain/cloud-quota.ts";
import { openStore, type Store } from "../../backend/src/store/open-store.ts";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";

describe.each(DB_KINDS)("cloud quotas on %s", (kind) => {
  let tdb: TestDatabase;
  let a: Store;
  let b: Store;
  beforeAll(async () => {
    tdb = await createTestDatabase(kind);
    a = await openStore(tdb.url);
    b = await openStore(tdb.url);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await tdb.drop();
  });

  it("when two processes ask for far more than the project quota in one minute, then together they get exactly the quota, and more the next minute", async () => {
    const qpm = 250;
    const gates = [createProjectGate(a.db, qpm), createProjectGate(b.db, qpm)];
    const t = new Date("2026-11-20T12:00:10Z");
    const results = await Promise.all(Array.from({ length: 600 }, (_, i) => gates[i % 2]!.takeUpTo(1, t)));
    expect(results.reduce((a, b) => a + b, 0)).toBe(qpm);
    expect(await gates[1]!.takeUpTo(5, t)).toBe(0);
    const later = nextMinute(t);
    expect(await gates[0]!.takeUpTo(3, later)).toBe(3);
  });

  it("when one wearer's calls would pass the per-user quota, then only what is left in the minute is granted", async () => {
    const t = new Date("2026-11-20T13:00:00Z");
    expect(await takeUserQuota(a.db, "dev_q", 4, 5, t)).toBe(4);
    expect(await takeUserQuota(b.db, "dev_q", 3, 5, t)).toBe(1);
    expect(await takeUserQuota(b.db, "dev_q", 1, 5, t)).toBe(0);
    await giveBackUserQuota(a.db, "dev_q", 2, t);
    expect(await takeUserQuota(b.db, "dev_q", 8, 5, t)).toBe(2);
    expect(await takeUserQuota(a.db, "dev_other", 5, 5, t)).toBe(5);
    expect(await takeUserQuota(a.db, "dev_q", 8, 5, nextMinute(t))).toBe(5);
  });

  it("when a process pauses the project, then every process sees the pause until it ends", async () => {
    const t = new Date("2026-11-20T14:00:00Z");
    await pauseProject(a.db, new Date(t.getTime() + 30_000));
    expect((await projectPausedUntil(b.db, t))?.toISOString()).toBe("2026-11-20T14:00:30.000Z");
    expect(await projectPausedUntil(b.db, new Date(t.getTime() + 30_000))).toBeNull();
  });

  it("when minutes are over, then their counters are swept and other counters stay", async () => {
    const t = new Date("2026-11-20T15:00:00Z");
    await takeUserQuota(a.db, "dev_s", 1, 5, t);
    await a.db.insertInto("counters").values({ name: "sms_budget:2026-11-20", count: 3 }).onConflict((oc) => oc.column("name").doNothing()).execute();
    await sweepQuotaCounters(a.db, new Date(t.getTime() + 10 * 60_000));
    const names = (await a.db.selectFrom("counters").select("name").execute()).map((r) => r.name);
    expect(names.filter((n) => n.startsWith("gq:"))).toEqual([]);
    expect(names).toContain("sms_budget:2026-11-20");
  });
});
