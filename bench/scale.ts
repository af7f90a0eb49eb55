// npm run bench:scale [-- --processes 3] — accepted POST /v1/battery per second with one, two and
// three relay processes (real `node --import tsx backend/src/main.ts` children) on one PostgreSQL
// database, the load spread over them connection by connection, and the ratio to one process (the
// baseline, measured in the same run). Each configuration gets a fresh database. The load generator
// is a worker thread of this process (bench/load.ts), so on a small machine it competes for the same
// cores as the relays and PostgreSQL: the table prints the core count and the load average beside
// the figures. Loopback only.
import { availableParallelism, loadavg } from "node:os";
import { randomBytes } from "node:crypto";
import { createTestDatabase } from "../test/helpers/db.ts";
import { killRelayProcess, startRelayProcess, type RelayProcess } from "../test/helpers/relay-process.ts";
import { closedLoop, postJson, printTable } from "./load.ts";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const MAX_PROCESSES = Number(arg("processes", "3"));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 6_000);
const WARM_MS = Number(process.env.BENCH_WARM_MS ?? 2_000);
const MAX_REQUESTS = Number(process.env.BENCH_MAX_REQUESTS ?? 200_000);
const WEARERS = 60;
if (!(MAX_PROCESSES >= 1 && CONNECTIONS >= 1 && DURATION_MS > 0)) throw new Error("--processes, BENCH_CONNECTIONS and BENCH_DURATION_MS must be positive");

interface Run {
  processes: number;
  acceptedPerSec: number;
  requests: number;
  errors: number;
  loadAvg1m: number;
}

async function measure(processes: number): Promise<Run> {
  const db = await createTestDatabase("postgres");
  const procs: RelayProcess[] = [];
  try {
    const env = {
      DATABASE_URL: db.url,
      PORT: "0",
      HOST: "127.0.0.1",
      RELAY_SECRET: randomBytes(32).toString("base64"),
      LOG_LEVEL: "warn",
      REGISTRATIONS_PER_HOUR: "100000",
    };
    // the first one migrates the fresh database; the others join it
    procs.push(await startRelayProcess(env, 90_000));
    const others = await Promise.allSettled(Array.from({ length: processes - 1 }, () => startRelayProcess(env, 90_000)));
    for (const o of others) if (o.status === "fulfilled") procs.push(o.value); // stopped below even if another failed
    for (const o of others) if (o.status === "rejected") throw o.reason;
    const urls = procs.map((p) => p.url);
    const tokens: string[] = [];
    for (let i = 0; i < WEARERS; i++) {
      const r = await postJson(urls[i % urls.length]!, "/v1/devices", { timezone: "UTC" });
      if (r.status !== 201) throw new Error(`register: ${r.status}`);
      tokens.push(r.body.token);
    }
    const run = randomBytes(3).toString("hex");
    await closedLoop(urls, tokens, `warm-${run}`, { connections: CONNECTIONS, durationMs: WARM_MS, maxRequests: MAX_REQUESTS });
    const load = loadavg()[0]!;
    const r = await closedLoop(urls, tokens, `tp-${run}`, { connections: CONNECTIONS, durationMs: DURATION_MS, maxRequests: MAX_REQUESTS });
    return { processes, acceptedPerSec: r.perSec, requests: r.ok, errors: r.other, loadAvg1m: Math.max(load, loadavg()[0]!) };
  } finally {
    await Promise.all(procs.map((p) => killRelayProcess(p, "SIGTERM")));
    await db.drop();
  }
}

async function main() {
  const cores = availableParallelism();
  const runs: Run[] = [];
  for (let n = 1; n <= MAX_PROCESSES; n++) runs.push(await measure(n));
  const base = runs[0]!.acceptedPerSec;
  const f = (x: number, d = 0) => x.toFixed(d);
  console.log(`\nWristRelay scale bench: PostgreSQL, ${CONNECTIONS} keep-alive connections spread over the processes, ${DURATION_MS} ms a run, ${cores} cores\n`);
  printTable([
    ["relay processes", "accepted POST /v1/battery per s", "ratio to 1 process", "non-202", "load avg (1 min)"],
    ...runs.map((r) => [String(r.processes), f(r.acceptedPerSec), f(r.acceptedPerSec / base, 2), String(r.errors), f(r.loadAvg1m, 1)]),
  ]);
  console.log(
    `\nOn ${cores} cores the relays, PostgreSQL and the load generator share the same CPUs: more processes help only while a core is idle.\n`,
  );
  console.log(
    JSON.stringify({
      bench: "scale",
      db: "postgres",
      connections: CONNECTIONS,
      durationMs: DURATION_MS,
      cores,
      runs: runs.map((r) => ({ processes: r.processes, acceptedPerSec: +r.acceptedPerSec.toFixed(1), requests: r.requests, errors: r.errors, loadAvg1m: +r.loadAvg1m.toFixed(2) })),
      ratios: Object.fromEntries(runs.map((r) => [`p${r.processes}OverP1`, +(r.acceptedPerSec / base).toFixed(3)])),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
