// The worker's periodic jobs (silence check, housekeeping and retention, the cloud tick): a job with
// a first run soon after start does not wait a whole period, one run of a job is in progress at a
// time, and stopping waits for the run in progress.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeliveryWorker } from "../../backend/src/domain/delivery-worker.ts";
import { createLogger } from "../../backend/src/http/logger.ts";
import { createOutboxSms } from "../../backend/src/providers/outbox.ts";
import { openStore, type Store } from "../../backend/src/store/open-store.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { createTestClock } from "../helpers/relay.ts";

let db: TestDatabase;
let store: Store;
beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  store = await openStore(db.url);
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function workerWith(periodic: { everyMs: number; firstAfterMs?: number; run: () => Promise<unknown> }[]) {
  const clock = createTestClock();
  const sms = createOutboxSms({ db: store.db, now: () => clock.now() });
  return createDeliveryWorker({ store, sms, clock, log: createLogger("silent"), pollMs: 60_000, leaseMs: 30_000, maxAttempts: 8, concurrency: 1, sendTimeoutMs: 5_000, periodic });
}

describe("periodic jobs", () => {
  it("when a job has a first run soon after start, then it runs then, not only after its hour", async () => {
    let runs = 0;
    const w = workerWith([{ everyMs: 3_600_000, firstAfterMs: 20, run: async () => void runs++ }]);
    w.start();
    await sleep(300);
    await w.stop();
    expect(runs).toBe(1);
  });

  it("when a job has no first run, then nothing runs before its period", async () => {
    let runs = 0;
    const w = workerWith([{ everyMs: 3_600_000, run: async () => void runs++ }]);
    w.start();
    await sleep(100);
    await w.stop();
    expect(runs).toBe(0);
  });

  it("when a run outlasts its period, then the next is skipped rather than overlapping, and stop waits for the run in progress", async () => {
    let active = 0;
    let most = 0;
    let finished = 0;
    const w = workerWith([
      {
        everyMs: 20,
        run: async () => {
          active++;
          most = Math.max(most, active);
          await sleep(150);
          active--;
          finished++;
        },
      },
    ]);
    w.start();
    await sleep(100); // the first run started at ~20 ms and is still going
    await w.stop();
    expect(most).toBe(1);
    expect(active).toBe(0); // stop returned only after the run in progress had finished
    expect(finished).toBeGreaterThanOrEqual(1);
  });
});
