// npm run bench:retention — a large retention backlog pruned on SQLite (the embedded default, one
// writer at a time) while the relay keeps writing events: the hourly job in batches of 1,000 rows,
// beside the same rows deleted by one statement each (the baseline), and beside no pruning at all.
// The figure that matters is how long the relay's own writes wait while it runs.
// Options: --old N (old events, default 200000; as many old finished deliveries / 2), --recent N.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pruneRetained } from "../backend/src/domain/retention.ts";
import { openStore, type Store } from "../backend/src/store/open-store.ts";
import { pct, printTable } from "./load.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const OLD = arg("old", 200_000);
const RECENT = arg("recent", 20_000);
const DAY = 86_400_000;
const NOW = Date.parse("2026-11-20T12:00:00.000Z");
const clock = { now: () => new Date(NOW) };
const iso = (t: number) => new Date(t).toISOString();
const RETENTION_DAYS = 30;
const PROBE_EVERY_MS = 5;

async function seed(store: Store) {
  const { db } = store;
  const CHUNK = 500;
  for (let i = 0; i < OLD + RECENT; i += CHUNK) {
    const rows = [];
    for (let j = i; j < Math.min(OLD + RECENT, i + CHUNK); j++) {
      const at = j < OLD ? NOW - (40 + (j % 300) / 10) * DAY : NOW - (j % 25) * DAY;
      rows.push({ device_id: `dev_${j % 5000}`, event_id: `ev_${j}`, kind: "battery", observed_at: iso(at), answer: '{"action":"none"}', created_at: iso(at) });
    }
    await db.insertInto("events").values(rows).execute();
  }
  const deliveries = Math.floor(OLD / 2);
  for (let i = 0; i < deliveries; i += CHUNK) {
    const rows = [];
    for (let j = i; j < Math.min(deliveries, i + CHUNK); j++) {
      const at = iso(NOW - (35 + (j % 200) / 10) * DAY);
      rows.push({
        id: `dl_${String(j).padStart(8, "0")}`,
        device_id: `dev_${j % 5000}`,
        channel: "sms" as const,
        kind: "low_battery",
        to_number: "+14155550123",
        body: "Your watch battery is at 9%.",
        status: j % 10 === 0 ? "dead" : "sent",
        attempts: 1,
        next_attempt_at: at,
        claimed_until: null,
        claimed_by: null,
        provider_id: null,
        error: null,
        event_id: null,
        created_at: at,
        sent_at: at,
        updated_at: at,
      });
    }
    await db.insertInto("deliveries").values(rows).execute();
  }
}

/** Writes one event every PROBE_EVERY_MS, as the relay would; the wait of each, from when it was due. */
function probe(store: Store) {
  const waits: number[] = [];
  let stop = false;
  let n = 0;
  const done = (async () => {
    while (!stop) {
      const due = performance.now();
      await store.db
        .insertInto("events")
        .values({ device_id: "probe", event_id: `p_${n++}_${Math.random()}`, kind: "battery", observed_at: iso(NOW), answer: "{}", created_at: iso(NOW) })
        .execute();
      waits.push(performance.now() - due);
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
    }
  })();
  // a timer that also measures event-loop stalls: better-sqlite3 runs each statement on the main thread
  const lags: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const t = performance.now();
    lags.push(Math.max(0, t - last - PROBE_EVERY_MS));
    last = t;
  }, PROBE_EVERY_MS);
  return async () => {
    stop = true;
    clearInterval(timer);
    await done;
    return { waits, lags };
  };
}

async function run(mode: "batched" | "one statement" | "no pruning") {
  const dir = mkdtempSync(join(tmpdir(), "wr-bench-retention-"));
  const store = await openStore(`file:${join(dir, "relay.db")}`);
  try {
    await seed(store);
    const before = Number((await store.db.selectFrom("events").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()).n);
    const finish = probe(store);
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    let deleted = 0;
    if (mode === "batched") {
      const p = await pruneRetained({ store, clock, retentionDays: RETENTION_DAYS });
      deleted = p.events + p.deliveries;
    } else if (mode === "one statement") {
      const cutoff = iso(NOW - RETENTION_DAYS * DAY);
      const a = await store.db.deleteFrom("events").where("created_at", "<", cutoff).where("device_id", "!=", "probe").executeTakeFirst();
      const b = await store.db
        .deleteFrom("deliveries")
        .where("status", "in", ["sent", "delivered", "undelivered", "failed", "dead"])
        .where("next_attempt_at", "<", cutoff)
        .where("updated_at", "<", cutoff)
        .executeTakeFirst();
      deleted = Number(a.numDeletedRows) + Number(b.numDeletedRows);
    } else {
      await new Promise((r) => setTimeout(r, 1_500));
    }
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 200));
    const { waits, lags } = await finish();
    return { mode, rowsBefore: before, deleted, pruneMs: Math.round(ms), writes: waits.length, writeP99: pct(waits, 99), stallP99: pct(lags, 99), stallMax: Math.max(...lags) };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const f = (n: number) => n.toFixed(2);
  const results: Awaited<ReturnType<typeof run>>[] = [];
  for (const mode of ["no pruning", "batched", "one statement"] as const) results.push(await run(mode));
  console.log(`retention on SQLite: ${OLD} old events + ${RECENT} recent, ${Math.floor(OLD / 2)} old finished deliveries; the relay writes an event every ${PROBE_EVERY_MS} ms meanwhile`);
  console.log("(a stall is time the process could answer nothing: better-sqlite3 runs each statement on the main thread and holds the one write lock)\n");
  printTable([
    ["mode", "deleted", "prune ms", "rows/s", "writes meanwhile", "write p99 ms", "stall p99 ms", "stall max ms"],
    ...results.map((r) => [
      r.mode,
      String(r.deleted),
      r.mode === "no pruning" ? "-" : String(r.pruneMs),
      r.mode === "no pruning" ? "-" : String(Math.round(r.deleted / (r.pruneMs / 1000))),
      String(r.writes),
      f(r.writeP99),
      f(r.stallP99),
      f(r.stallMax),
    ]),
  ]);
  const [idle, batched, single] = results;
  const ratio = (a: number, b: number) => Math.round((a / b) * 10) / 10;
  console.log(
    `\nlongest stall: batched ${f(batched!.stallMax)} ms, one statement ${f(single!.stallMax)} ms (${ratio(single!.stallMax, batched!.stallMax)}x longer), no pruning ${f(idle!.stallMax)} ms; ` +
      `batched pruning takes ${ratio(batched!.pruneMs, single!.pruneMs)}x the wall time of one statement`,
  );
  const pick = (r: (typeof results)[number]) => ({ deleted: r.deleted, pruneMs: r.pruneMs, writes: r.writes, stallP99Ms: Math.round(r.stallP99 * 10) / 10, stallMaxMs: Math.round(r.stallMax * 10) / 10 });
  console.log(
    JSON.stringify({
      bench: "retention",
      old: OLD,
      recent: RECENT,
      idle: pick(idle!),
      batched: pick(batched!),
      oneStatement: pick(single!),
      stallMaxRatio: ratio(single!.stallMax, batched!.stallMax),
      timeRatio: ratio(batched!.pruneMs, single!.pruneMs),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
