// Fault injection for the hardening suite: a seeded random source, a free port, a client that
// retries like the companion (same body, same eventId, until a 2xx or 4xx), wearers set up over HTTP
// against a relay process, and a chaos proxy that sits between the relay and a provider fake.
import { randomBytes } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { FAKE_FROM, type FakeTwilio } from "../../helpers/fake-twilio.ts";
import type { FakeX } from "../../helpers/fake-x.ts";
import { xEnv } from "../../helpers/relay-x.ts";

/** mulberry32: a small, fast, seedable generator (runs repeat with the same seed). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A port nobody listens on right now (the relay restarts on it, so clients keep one URL). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Answer<T = any> {
  status: number;
  body: T;
}

export interface RetryStats {
  /** requests sent, first tries and retries */
  requests: number;
  /** retries after a dead connection, a timeout or a 5xx */
  retries: number;
  /** 5xx answers among them */
  serverErrors?: number;
}

/**
 * One call as the companion makes it: the same request again after a dead connection, a timeout or
 * a 5xx (a 503 while the relay is not ready), until a 2xx or 4xx answer or the deadline.
 */
export async function callUntilAnswered<T = any>(
  url: string,
  method: string,
  path: string,
  o: { token?: string; json?: unknown; deadlineMs?: number; timeoutMs?: number; stats?: RetryStats; stop?: () => boolean } = {},
): Promise<Answer<T>> {
  const deadline = Date.now() + (o.deadlineMs ?? 60_000);
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  const body = o.json === undefined ? undefined : JSON.stringify(o.json);
  if (body !== undefined) headers["content-type"] = "application/json";
  let wait = 20;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0 && o.stats) o.stats.retries++;
    if (o.stats) o.stats.requests++;
    try {
      const res = await fetch(url + path, { method, headers, body, signal: AbortSignal.timeout(o.timeoutMs ?? 5_000) });
      const text = await res.text();
      if (res.status < 500) {
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: handed back as text
        }
        return { status: res.status, body: body as T };
      }
      if (o.stats) o.stats.serverErrors = (o.stats.serverErrors ?? 0) + 1;
    } catch {
      // connection refused or reset, or no answer in time: the relay may be down; try again
    }
    if (Date.now() > deadline || o.stop?.()) throw new Error(`${method} ${path}: no answer before the deadline`);
    await sleep(wait);
    wait = Math.min(500, wait * 2);
  }
}

/** Relay settings for the fault tests: short leases and timeouts, caps out of the way of the load. */
export function relayProcessEnv(o: { databaseUrl: string; port: number; twilio: FakeTwilio | { url: string; accountSid: string; authToken: string }; x?: FakeX; xApiUrl?: string; secret: string; extra?: Record<string, string> }): Record<string, string> {
  return {
    DATABASE_URL: o.databaseUrl,
    PORT: String(o.port),
    HOST: "127.0.0.1",
    PUBLIC_URL: `http://127.0.0.1:${o.port}`,
    RELAY_SECRET: o.secret,
    LOG_LEVEL: "warn",
    SMS_PROVIDER: "twilio",
    TWILIO_ACCOUNT_SID: o.twilio.accountSid,
    TWILIO_AUTH_TOKEN: o.twilio.authToken,
    TWILIO_FROM: FAKE_FROM,
    TWILIO_API_URL: o.twilio.url,
    ...(o.x ? xEnv(o.x, o.xApiUrl ? { X_API_URL: o.xApiUrl } : {}) : {}),
    DELIVERY_POLL_MS: "100",
    DELIVERY_LEASE_MS: "4000",
    SEND_TIMEOUT_MS: "1000",
    SMS_PER_NUMBER_DAILY: "100000",
    SMS_DAILY_BUDGET: "1000000",
    X_POSTS_PER_ACCOUNT_DAILY: "100000",
    X_DAILY_POST_BUDGET: "1000000",
    REGISTRATIONS_PER_HOUR: "100000",
    ...o.extra,
  };
}

export const newSecret = () => randomBytes(32).toString("base64");

export interface Wearer {
  index: number;
  deviceId: string;
  token: string;
  number: string;
  xLinked: boolean;
}

/** A 415-555 number per wearer (555 numbers are set aside for fiction and tests). */
export const wearerNumber = (i: number) => `+1415555${String(2600 + i).padStart(4, "0")}`;

/** Registers a wearer, confirms its number (the code read at the fake Twilio) and turns quiet hours off. */
export async function setUpWearer(url: string, twilio: FakeTwilio, i: number): Promise<Wearer> {
  const reg = await callUntilAnswered<{ deviceId: string; token: string }>(url, "POST", "/v1/devices", { json: { timezone: "UTC" } });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const { token, deviceId } = reg.body;
  const number = wearerNumber(i);
  const put = await callUntilAnswered(url, "PUT", "/v1/me/phone", { token, json: { number } });
  if (put.status !== 202) throw new Error(`phone: ${put.status} ${JSON.stringify(put.body)}`);
  let code: string | undefined;
  const until = Date.now() + 15_000;
  while (!code && Date.now() < until) {
    const m = [...twilio.messages].reverse().find((x) => x.to === number && /\b\d{6}\b/.test(x.body ?? ""));
    code = m ? /\b(\d{6})\b/.exec(m.body!)![1] : undefined;
    if (!code) await sleep(50);
  }
  if (!code) throw new Error(`no code reached ${number}`);
  const v = await callUntilAnswered(url, "POST", "/v1/me/phone/verify", { token, json: { code } });
  if (v.status !== 200) throw new Error(`verify: ${v.status} ${JSON.stringify(v.body)}`);
  const p = await callUntilAnswered(url, "PATCH", "/v1/me", { token, json: { preferences: { quietHours: null } } });
  if (p.status !== 200) throw new Error(`preferences: ${p.status} ${JSON.stringify(p.body)}`);
  return { index: i, deviceId, token, number, xLinked: false };
}

/** Links the wearer's X account at the fake X, every redirect followed by hand as a browser would. */
export async function linkXOver(url: string, w: Wearer): Promise<void> {
  const link = await callUntilAnswered<{ url: string }>(url, "POST", "/v1/x/link", { token: w.token });
  if (link.status !== 200) throw new Error(`x link: ${link.status}`);
  const start = await fetch(link.body.url, { redirect: "manual" });
  const authorize = await fetch(start.headers.get("location")!, { redirect: "manual" });
  const cb = await fetch(authorize.headers.get("location")!, { redirect: "manual" });
  if (cb.status !== 200) throw new Error(`x callback: ${cb.status} ${await cb.text()}`);
  w.xLinked = true;
}

// ------------------------------------------------------------------------------------------------
// The chaos proxy

/** What the proxy does with one request. */
export type Fault =
  /** answer this status (and headers) without passing the request on */
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: string }
  /** hold the request `ms`, then pass it on (the provider acts on it, whoever still listens) or drop it */
  | { kind: "slow"; ms: number; passOn: boolean }
  /** pass it on, then answer the provider's success with a body cut short (the provider did act on it; error answers pass untouched) */
  | { kind: "malformed" }
  /** pass it on, then cut the connection before any answer (the provider did act on it) */
  | { kind: "hangup" }
  /** pass it on, and hold the provider's answer `ms` on its way back (a slow network) */
  | { kind: "late"; ms: number };

export interface ChaosProxy {
  url: string;
  /** requests received, by "METHOD /path" (query left out) */
  calls: Map<string, number>;
  /** faults injected, by kind */
  injected: Map<string, number>;
  /** when false, every request passes untouched (set-up before the chaos) */
  enabled: boolean;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of a provider fake: each request is passed on, or met with a fault that
 * `decide` picks (undefined: passed on). The fakes stay as they are; the relay is pointed here.
 */
export async function startChaosProxy(target: string, decide: (req: { method: string; path: string }) => Fault | undefined): Promise<ChaosProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const proxy: ChaosProxy = { url: "", calls: new Map(), injected: new Map(), enabled: true, close: async () => {} };
  const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

  const passOn = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: upstream.host };
      const r = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string" && k !== "content-length" && k !== "connection" && k !== "transfer-encoding") out[k] = v;
          resolve({ status: res.statusCode ?? 502, headers: out, body: Buffer.concat(chunks) });
        });
        res.on("error", reject);
      });
      r.on("error", reject);
      r.end(body);
    });

  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? "/").split("?")[0]!;
      count(proxy.calls, `${req.method} ${path}`);
      const fault = proxy.enabled ? decide({ method: req.method ?? "GET", path }) : undefined;
      if (fault) count(proxy.injected, fault.kind === "status" ? `status ${fault.status}` : fault.kind);
      const relay = async () => {
        try {
          const r = await passOn(req, body);
          if (res.destroyed) return;
          if (fault?.kind === "hangup") return res.socket?.destroy();
          if (fault?.kind === "late") await sleep(fault.ms);
          if (res.destroyed) return;
          if (fault?.kind === "malformed" && r.status >= 200 && r.status < 300) {
            res.writeHead(r.status, { "content-type": r.headers["content-type"] ?? "application/json" });
            return res.end(r.body.subarray(0, Math.max(1, Math.floor(r.body.length / 3))));
          }
          res.writeHead(r.status, r.headers);
          res.end(r.body);
        } catch {
          if (!res.destroyed) res.socket?.destroy();
        }
      };
      if (!fault || fault.kind === "malformed" || fault.kind === "hangup" || fault.kind === "late") return void relay();
      if (fault.kind === "status") {
        res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
        return res.end(fault.body ?? JSON.stringify({ status: fault.status, title: "injected", detail: "failure injected by the chaos proxy" }));
      }
      const t = setTimeout(() => {
        timers.delete(t);
        if (fault.passOn) void relay();
        else if (!res.destroyed) res.socket?.destroy();
      }, fault.ms);
      timers.add(t);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    for (const t of timers) clearTimeout(t);
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return proxy;
}

/** Counts of each value; for comparing what was owed with what arrived. */
export function tally<T>(items: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** Owed vs. arrived, per key: how many arrived more often than owed (duplicates) and how many never (lost). */
export function compareCounts<T>(owed: Map<T, number>, arrived: Map<T, number>): { duplicates: number; lost: number; unexpected: number; duplicateKeys: T[]; lostKeys: T[] } {
  let duplicates = 0;
  let lost = 0;
  let unexpected = 0;
  const duplicateKeys: T[] = [];
  const lostKeys: T[] = [];
  for (const [k, n] of owed) {
    const got = arrived.get(k) ?? 0;
    if (got > n) {
      duplicates += got - n;
      duplicateKeys.push(k);
    }
    if (got < n) {
      lost += n - got;
      lostKeys.push(k);
    }
  }
  for (const [k, n] of arrived) if (!owed.has(k)) unexpected += n;
  return { duplicates, lost, unexpected, duplicateKeys, lostKeys };
}
