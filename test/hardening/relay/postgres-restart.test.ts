// PostgreSQL restarted under load (a private cluster: the machine's shared server is not touched).
// While the database is down the relay says so on /readyz (503); it recovers by itself once the
// database is back, and every battery event it accepted gets its SMS exactly once.
import { afterEach, describe, expect, it } from "vitest";
import { lowBatteryText } from "../../../backend/src/domain/alert-text.ts";
import { openStore } from "../../../backend/src/store/open-store.ts";
import { startFakeTwilio } from "../../helpers/fake-twilio.ts";
import { killRelayProcess, startRelayProcess } from "../../helpers/relay-process.ts";
import { callUntilAnswered, compareCounts, freePort, newSecret, relayProcessEnv, seededRandom, setUpWearer, sleep, tally, type RetryStats, type Wearer } from "../helpers/faults.ts";
import { postgresBin, startPrivatePostgres } from "../helpers/faults-pg.ts";
import { reportFigures, scale } from "../profile.ts";

const RESTARTS = scale(2, 5);
const WEARERS = 3;
const DOWN_MS = scale(1_500, 3_000);

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await Promise.resolve().then(c).catch(() => {});
  cleanup = [];
});

describe("PostgreSQL restarted under load", () => {
  it.skipIf(!postgresBin() || process.getuid?.() !== 0)(
    `when PostgreSQL is stopped and started again ${RESTARTS} times while wearers report their battery, then /readyz answers 503 while it is down, the relay recovers by itself, and every accepted event's SMS goes out exactly once`,
    async () => {
      const pgc = await startPrivatePostgres();
      cleanup.push(() => pgc.remove());
      const twilio = await startFakeTwilio();
      cleanup.push(() => twilio.close());
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const env = relayProcessEnv({ databaseUrl: pgc.url, port, twilio, secret: newSecret() });
      const relay = await startRelayProcess(env);
      cleanup.push(async () => void (await killRelayProcess(relay, "SIGTERM")));

      const wearers: Wearer[] = [];
      for (let i = 0; i < WEARERS; i++) wearers.push(await setUpWearer(url, twilio, 80 + i));

      // readiness, watched all along
      const probes: { at: number; status: number }[] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const status = await fetch(url + "/readyz", { signal: AbortSignal.timeout(2_000) }).then((r) => r.status, () => 0);
          probes.push({ at: Date.now(), status });
          await sleep(100);
        }
      })();

      // the load: readings cycling above the thresholds, under 20, under 10, on the charger
      const owed: string[] = [];
      let accepted = 0;
      let stop = false;
      const stats: RetryStats = { requests: 0, retries: 0 };
      const loaders = wearers.map(async (w) => {
        const random = seededRandom(w.index);
        let last = 0;
        for (let seq = 1; !stop; seq++) {
          const step = seq % 4;
          const charging = step === 3;
          const level = charging ? 60 : step === 0 ? 25 : step === 1 ? 15 + Math.floor(random() * 6) : 6 + Math.floor(random() * 5);
          const observedAt = new Date(Math.max(Date.now(), last + 1));
          last = observedAt.getTime();
          const r = await callUntilAnswered<{ action: string }>(url, "POST", "/v1/battery", {
            token: w.token,
            json: { eventId: `pg-${w.index}-${seq}`, level, charging, observedAt: observedAt.toISOString(), source: "watch" },
            stats,
            deadlineMs: 60_000,
          });
          expect(r.status).toBe(202);
          accepted++;
          if (r.body.action === "sms") owed.push(`${w.number}|${lowBatteryText("en-US", level)}`);
          await sleep(10 + Math.floor(random() * 20));
        }
      });

      const outages: { downAt: number; upAt: number; readyAgainMs: number; saw503: boolean }[] = [];
      try {
        for (let k = 0; k < RESTARTS; k++) {
          await sleep(800);
          pgc.stop();
          const downAt = Date.now();
          await sleep(DOWN_MS);
          pgc.start();
          const upAt = Date.now();
          // back by itself: no restart of the relay, nothing done to it
          let readyAt = 0;
          while (!readyAt && Date.now() - upAt < 20_000) {
            const p = probes.filter((x) => x.at > upAt && x.status === 200)[0];
            if (p) readyAt = p.at;
            else await sleep(50);
          }
          const saw503 = probes.some((x) => x.at > downAt + 200 && x.at < upAt && x.status === 503);
          outages.push({ downAt, upAt, readyAgainMs: readyAt ? readyAt - upAt : -1, saw503 });
        }
        await sleep(800);
      } finally {
        stop = true;
        watching = false;
        await Promise.allSettled(loaders);
        await watcher;
      }
      await Promise.all(loaders);

      const store = await openStore(pgc.url, { migrate: false, poolSize: 1 });
      cleanup.push(() => store.close());
      const until = Date.now() + 30_000;
      let pending = 1;
      while (pending > 0 && Date.now() < until) {
        const r = await store.db.selectFrom("deliveries").select((eb) => eb.fn.countAll<number>().as("n")).where("status", "in", ["queued", "sending"]).executeTakeFirstOrThrow();
        pending = Number(r.n);
        if (pending > 0) await sleep(200);
      }
      const dead = await store.db.selectFrom("deliveries").select(["error"]).where("status", "=", "dead").execute();
      await sleep(300);
      const arrived = twilio.messages.filter((m) => !/code/i.test(m.body ?? "") && wearers.some((w) => w.number === m.to)).map((m) => `${m.to}|${m.body}`);
      const cmp = compareCounts(tally(owed), tally(arrived));
      const downStatuses = [...new Set(probes.filter((p) => outages.some((o) => p.at > o.downAt + 200 && p.at < o.upAt)).map((p) => p.status))].sort();

      reportFigures("postgres-restart", {
        restarts: outages.length,
        "database down per restart, ms": DOWN_MS,
        "/readyz answers while down": downStatuses.join(", "),
        "ready again after the database, ms (max)": Math.max(...outages.map((o) => o.readyAgainMs)),
        "battery events accepted": accepted,
        "client requests (retries)": `${stats.requests} (${stats.retries})`,
        "5xx answers to clients while down": stats.serverErrors ?? 0,
        "SMS expected": owed.length,
        "SMS sent": arrived.length,
        "SMS duplicates": cmp.duplicates,
        "SMS lost": cmp.lost,
        "deliveries dead-lettered": dead.length,
        "deliveries still pending": pending,
      });

      for (const o of outages) {
        expect(o.saw503).toBe(true);
        expect(o.readyAgainMs).toBeGreaterThanOrEqual(0);
      }
      expect(downStatuses).toEqual([503]);
      expect(owed.length).toBeGreaterThan(RESTARTS);
      expect(pending).toBe(0);
      expect(dead).toEqual([]);
      expect({ duplicates: cmp.duplicates, lost: cmp.lost, unexpected: cmp.unexpected }).toEqual({ duplicates: 0, lost: 0, unexpected: 0 });
    },
  );
});
