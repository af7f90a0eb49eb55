// npm run bench:link: the Bluetooth and relay cost of a simulated day per wearer, and the delay from
// a threshold crossing to the SMS reaching the (outbox) provider. Runs several seeded days with the
// link up (no loss, no kills) and prints a table, then one JSON line.
// Targets: at most 30 relay calls per wearer per day; p95 delay under 2 s of simulated time.
import { runSim, SimReport } from "../sim/world";

const DAYS = Number(process.env.BENCH_DAYS || 5);

function pct(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function main(): Promise<void> {
  const runs: SimReport[] = [];
  for (let seed = 1; seed <= DAYS; seed++) runs.push(await runSim({ seed, loss: 0, kills: 0 }));
  const avg = (f: (r: SimReport) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  const delays = runs.flatMap((r) => r.sms.filter((s) => s.linkUp && s.delayMs !== null).map((s) => s.delayMs as number));
  const wall = runs.flatMap((r) => r.sms.filter((s) => s.linkUp && s.wallMs !== null).map((s) => s.wallMs as number));
  const routes: { [k: string]: number } = {};
  for (const r of runs) for (const k in r.relayCallsByRoute) routes[k] = (routes[k] || 0) + r.relayCallsByRoute[k] / runs.length;
  const result = {
    days: runs.length,
    watchToPhone: { messages: avg((r) => r.toPhone.messages), bytes: avg((r) => r.toPhone.bytes) },
    phoneToWatch: { messages: avg((r) => r.toWatch.messages), bytes: avg((r) => r.toWatch.bytes) },
    relayCallsPerDay: avg((r) => r.relayCalls),
    relayCallsMax: Math.max(...runs.map((r) => r.relayCalls)),
    smsPerDay: avg((r) => r.sms.length),
    delayMs: { samples: delays.length, p50: pct(delays, 50), p95: pct(delays, 95) },
    /** real milliseconds on this machine from the watch's send to the SMS record (an upper bound: includes polling) */
    wallMs: { samples: wall.length, p50: pct(wall, 50), p95: pct(wall, 95) },
    targets: { relayCallsMax: 30, p95DelayMs: 2000 },
    ok: false,
  };
  result.ok = result.relayCallsMax <= 30 && result.delayMs.samples > 0 && result.delayMs.p95 < 2000;

  const row = (a: string, b: string) => console.log(a.padEnd(42) + b);
  console.log(`link bench: ${runs.length} simulated days, link up, no loss`);
  row("Bluetooth watch -> phone, messages/day", result.watchToPhone.messages.toFixed(1));
  row("Bluetooth watch -> phone, bytes/day", result.watchToPhone.bytes.toFixed(0));
  row("Bluetooth phone -> watch, messages/day", result.phoneToWatch.messages.toFixed(1));
  row("Bluetooth phone -> watch, bytes/day", result.phoneToWatch.bytes.toFixed(0));
  row("relay calls/day (max)", `${result.relayCallsPerDay.toFixed(1)} (${result.relayCallsMax})  target <= 30`);
  for (const k of Object.keys(routes).sort()) row("  " + k, routes[k].toFixed(1));
  row("SMS/day", result.smsPerDay.toFixed(1));
  row("crossing -> SMS delay p50 / p95", `${result.delayMs.p50} ms / ${result.delayMs.p95} ms (n=${delays.length})  target p95 < 2000 ms`);
  row("  same, wall-clock on this machine", `${result.wallMs.p50} ms / ${result.wallMs.p95} ms (relay worker on real timers)`);
  row("targets met", result.ok ? "yes" : "NO");
  console.log(JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
