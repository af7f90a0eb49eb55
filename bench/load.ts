// The load generator the relay benchmarks share (bench:relay, bench:scale): POST /v1/battery over
// keep-alive connections from a worker thread (its own event loop, like autocannon in its own
// process), bounded in count and time. With several URLs, connection c talks to urls[c % n], as a
// load balancer spreading connections over relay processes would.
import { Worker } from "node:worker_threads";

const LOADGEN = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const w = workerData;
const bases = w.urls.map((u) => new URL(u));
function body(i) {
  return JSON.stringify({ eventId: w.prefix + "-" + i, level: 60, charging: false, observedAt: new Date().toISOString(), source: "watch" });
}
function send(agent, base, i) {
  const t0 = performance.now();
  const b = body(i);
  const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(b) };
  if (w.tokens.length) headers.authorization = "Bearer " + w.tokens[i % w.tokens.length];
  return new Promise((resolve) => {
    const req = http.request({ agent, host: base.hostname, port: base.port, method: "POST", path: "/v1/battery", headers }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
    });
    req.on("error", () => resolve({ status: 0, ms: performance.now() - t0 }));
    req.end(b);
  });
}
async function closed() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: w.connections });
  let i = 0, ok = 0, other = 0;
  const start = performance.now();
  const one = async (c) => {
    const base = bases[c % bases.length];
    while (performance.now() - start < w.durationMs && i < w.maxRequests) {
      const r = await send(agent, base, i++);
      if (r.status === 202) ok++; else other++;
    }
  };
  await Promise.all(Array.from({ length: w.connections }, (_, c) => one(c)));
  const secs = (performance.now() - start) / 1000;
  agent.destroy();
  return { perSec: ok / secs, ok, other, secs };
}
async function fixed() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const total = Math.round((w.rate * w.fixedMs) / 1000);
  const lat = [];
  let bad = 0;
  const start = performance.now();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / w.rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(agent, bases[i % bases.length], i).then((r) => { lat.push(r.ms); if (r.status !== 202) bad++; }));
  }
  await Promise.all(pending);
  agent.destroy();
  return { lat, bad };
}
(w.mode === "closed" ? closed() : fixed()).then((r) => parentPort.postMessage(r));
`;

function loadgen<T>(data: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOADGEN, { eval: true, workerData: data });
    worker.once("message", (m) => {
      resolve(m as T);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

export interface ClosedLoopResult {
  perSec: number;
  ok: number;
  other: number;
  secs: number;
}

/** As many requests as `connections` keep-alive connections can carry, for durationMs or maxRequests. */
export function closedLoop(urls: string | string[], tokens: string[], prefix: string, o: { connections: number; durationMs: number; maxRequests: number }): Promise<ClosedLoopResult> {
  return loadgen<ClosedLoopResult>({ mode: "closed", urls: [urls].flat(), tokens, prefix, ...o });
}

/** A fixed request rate for fixedMs; latency percentiles of every request. */
export async function fixedRate(urls: string | string[], tokens: string[], prefix: string, o: { rate: number; fixedMs: number }) {
  const r = await loadgen<{ lat: number[]; bad: number }>({ mode: "fixed", urls: [urls].flat(), tokens, prefix, ...o });
  return { p50: pct(r.lat, 50), p99: pct(r.lat, 99), n: r.lat.length, bad: r.bad };
}

export function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export async function postJson(url: string, path: string, body: unknown, token?: string) {
  const res = await fetch(url + path, {
    method: path === "/v1/me/phone" ? "PUT" : "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

/** Prints rows as a table: first column left-aligned, the others right-aligned. */
export function printTable(rows: string[][]) {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
}
