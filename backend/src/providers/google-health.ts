// Google Health API adapter (health.googleapis.com) and Google OAuth 2.0 (web-application client,
// authorization code with PKCE S256, offline access). The relay is the only holder of the client
// secret and the refresh tokens. Plain fetch; tokens never appear in errors or logs.
//
// Data calls use the /v4/ paths, except pairedDevices, which only v4beta has.

export const GOOGLE_SCOPES = {
  activity: "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly",
  sleep: "https://www.googleapis.com/auth/googlehealth.sleep.readonly",
  settings: "https://www.googleapis.com/auth/googlehealth.settings.readonly",
} as const satisfies { activity: string; sleep: string; settings: string };

export type GoogleErrorKind = "unauthorized" | "invalid_grant" | "rate_limited" | "transient" | "permanent";

export class GoogleApiError extends Error {
  readonly status: number;
  readonly kind: GoogleErrorKind;
  readonly retryAfterMs?: number;
  constructor(kind: GoogleErrorKind, status: number, message: string, retryAfterMs?: number) {
    super(message);
    this.name = "GoogleApiError";
    this.kind = kind;
    this.status = status;
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

export interface GoogleTokens {
  accessToken: string;
  /** Google sends one on the first exchange (access_type=offline, prompt=consent); a refresh may or may not */
  refreshToken?: string;
  expiresAt: Date;
  /** the scopes the wearer actually granted (partial consent leaves some out) */
  scopes: string[];
}

export interface PairedDevice {
  /** the {id} of users/x/pairedDevices/{id} */
  id: string;
  deviceType?: string;
  batteryStatus?: string;
  batteryLevel?: number;
  lastSyncTime?: string;
  deviceVersion?: string;
  features?: string[];
}

export interface SleepSession {
  /** the {id} of users/x/dataTypes/sleep/dataPoints/{id} */
  id: string;
  startTime: string;
  endTime: string;
  minutesAsleep: number;
  minutesInSleepPeriod?: number;
  mainSleep: boolean;
  nap: boolean;
  processed: boolean;
}

export interface GoogleHealthClient {
  authorizeUrl(o: { state: string; codeChallenge: string; redirectUri: string; loginHint?: string }): string;
  exchangeCode(code: string, verifier: string, redirectUri: string, signal?: AbortSignal): Promise<GoogleTokens>;
  refresh(refreshToken: string, signal?: AbortSignal): Promise<GoogleTokens>;
  revoke(token: string, signal?: AbortSignal): Promise<void>;
  identity(accessToken: string, signal?: AbortSignal): Promise<{ healthUserId: string }>;
  settings(accessToken: string, signal?: AbortSignal): Promise<{ timeZone?: string; distanceUnit?: string }>;
  /** every paired device, all pages (v4beta path) */
  pairedDevices(accessToken: string, signal?: AbortSignal): Promise<PairedDevice[]>;
  /** the one DailyRollupDataPoint of the civil day `date` (YYYY-MM-DD) for `dataType` (kebab-case, e.g. "total-calories"), or null when none */
  dailyRollUp(accessToken: string, dataType: string, date: string, signal?: AbortSignal): Promise<Record<string, unknown> | null>;
  /** sleep sessions whose civil end falls on `date`, all pages (filter sleep.interval.civil_end_time) */
  sleepSessions(accessToken: string, date: string, signal?: AbortSignal): Promise<SleepSession[]>;
  /** calls made so far, by kind ("token", "identity", "settings", "pairedDevices", "dailyRollUp", "sleep", "revoke") */
  readonly calls: Record<string, number>;
}

export interface GoogleHealthClientOptions {
  clientId: string;
  clientSecret: string;
  /** GOOGLE_AUTH_URL, e.g. https://accounts.google.com/o/oauth2/v2/auth */
  authUrl: string;
  /** GOOGLE_TOKEN_URL, e.g. https://oauth2.googleapis.com/token */
  tokenUrl: string;
  /** GOOGLE_REVOKE_URL, e.g. https://oauth2.googleapis.com/revoke */
  revokeUrl: string;
  /** GOOGLE_HEALTH_API_URL, base of /v4/... e.g. https://health.googleapis.com */
  apiUrl: string;
  /** each call, connect to last byte (default 10 s) */
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_AFTER_MS = 60_000;
const MIN_RETRY_AFTER_MS = 1_000;
/** Google's access tokens last about an hour; used when an answer leaves expires_in out */
const DEFAULT_EXPIRES_IN_S = 3600;
const DATA_VERSION = "v4";
const DEVICES_VERSION = "v4beta";
/** sleep: the default and the maximum page size are both 25 */
const SLEEP_PAGE_SIZE = 25;
/** pairedDevices: at most 100 a page */
const DEVICES_PAGE_SIZE = 100;
/** a runaway nextPageToken loop stops here */
const MAX_PAGES = 50;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * Failures, as GoogleApiError:
 * - rate_limited: 429, retryAfterMs from Retry-After (seconds or HTTP date), else 60 s
 * - transient: 5xx, timeouts, network errors, answers without the expected fields
 * - unauthorized: 401 from the API (refresh, then retry once)
 * - invalid_grant: the token endpoint's {"error":"invalid_grant"} (revoked, expired or used code / refresh token)
 * - permanent: any other 4xx (bad client credentials, a scope not granted, a bad request)
 */
export function createGoogleHealthClient(o: GoogleHealthClientOptions): GoogleHealthClient {
  if (!o.clientId) throw new Error("google: clientId is required");
  if (!o.clientSecret) throw new Error("google: clientSecret is required");
  const authUrl = new URL(cleanUrl(o.authUrl, "authUrl"));
  const tokenUrl = cleanUrl(o.tokenUrl, "tokenUrl");
  const revokeUrl = cleanUrl(o.revokeUrl, "revokeUrl");
  const apiBase = cleanUrl(o.apiUrl, "apiUrl");
  const doFetch = o.fetch ?? fetch;
  const now = o.now ?? Date.now;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const calls: Record<string, number> = {};

  async function call(kind: string, url: string, init: RequestInit, signal: AbortSignal | undefined): Promise<Answer> {
    calls[kind] = (calls[kind] ?? 0) + 1;
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      const res = await doFetch(url, { ...init, signal: combined, redirect: "manual" });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON (a proxy's HTML page, ...): keep the text for the reason
      }
      return { status: res.status, headers: res.headers, body };
    } catch (err) {
      const reason = deadline.aborted ? `timed out after ${timeoutMs} ms` : signal?.aborted ? "aborted" : `network error (${(err as Error)?.name ?? "Error"})`;
      throw new GoogleApiError("transient", 0, `google ${kind}: ${reason}`);
    }
  }

  async function token(what: string, form: Record<string, string>, signal: AbortSignal | undefined): Promise<GoogleTokens> {
    const ans = await call("token", tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ ...form, client_id: o.clientId, client_secret: o.clientSecret }).toString(),
    }, signal);
    if (ans.status !== 200) throw tokenError(what, ans, now());
    const b = ans.body as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown; scope?: unknown } | undefined;
    if (!b || typeof b.access_token !== "string" || b.access_token === "") throw new GoogleApiError("transient", ans.status, `google ${what}: answer without access_token`);
    const expiresIn = typeof b.expires_in === "number" && b.expires_in > 0 ? b.expires_in : DEFAULT_EXPIRES_IN_S;
    return {
      accessToken: b.access_token,
      ...(typeof b.refresh_token === "string" && b.refresh_token !== "" ? { refreshToken: b.refresh_token } : {}),
      expiresAt: new Date(now() + expiresIn * 1000),
      scopes: typeof b.scope === "string" ? b.scope.split(/\s+/).filter(Boolean) : [],
    };
  }

  async function getJson(kind: string, path: string, accessToken: string, signal: AbortSignal | undefined, init?: { method: string; body: unknown }): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken}`, accept: "application/json" };
    if (init) headers["content-type"] = "application/json";
    const ans = await call(kind, apiBase + path, { method: init?.method ?? "GET", headers, ...(init ? { body: JSON.stringify(init.body) } : {}) }, signal);
    if (ans.status !== 200) throw apiError(kind, ans, now());
    if (!ans.body || typeof ans.body !== "object") throw new GoogleApiError("transient", ans.status, `google ${kind}: answer is not a JSON object`);
    return ans.body as Record<string, unknown>;
  }

  return {
    calls,

    authorizeUrl({ state, codeChallenge, redirectUri, loginHint }) {
      const url = new URL(authUrl);
      const q = new URLSearchParams({
        response_type: "code",
        client_id: o.clientId,
        redirect_uri: redirectUri,
        scope: [GOOGLE_SCOPES.activity, GOOGLE_SCOPES.sleep, GOOGLE_SCOPES.settings].join(" "),
        state,
        code_challenge: codeChallenge,
        code_challenge_method: "S256",
        access_type: "offline",
        prompt: "consent",
        include_granted_scopes: "true",
      });
      if (loginHint) q.set("login_hint", loginHint);
      url.search = q.toString();
      return url.toString();
    },

    exchangeCode(code, verifier, redirectUri, signal) {
      return token("exchangeCode", { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: redirectUri }, signal);
    },

    refresh(refreshToken, signal) {
      return token("refresh", { grant_type: "refresh_token", refresh_token: refreshToken }, signal);
    },

    async revoke(tokenValue, signal) {
      const ans = await call("revoke", revokeUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({ token: tokenValue }).toString(),
      }, signal);
      if (ans.status === 200) return;
      // a token Google no longer knows (already revoked or expired) is as good as revoked
      if (ans.status === 400 && (ans.body as { error?: unknown } | undefined)?.error === "invalid_token") return;
      throw tokenError("revoke", ans, now());
    },

    async identity(accessToken, signal) {
      const b = await getJson("identity", `/${DATA_VERSION}/users/me/identity`, accessToken, signal);
      if (typeof b.healthUserId !== "string" || b.healthUserId === "") throw new GoogleApiError("transient", 200, "google identity: answer without healthUserId");
      return { healthUserId: b.healthUserId };
    },

    async settings(accessToken, signal) {
      const b = await getJson("settings", `/${DATA_VERSION}/users/me/settings`, accessToken, signal);
      return {
        ...(typeof b.timeZone === "string" && b.timeZone !== "" ? { timeZone: b.timeZone } : {}),
        ...(typeof b.distanceUnit === "string" ? { distanceUnit: b.distanceUnit } : {}),
      };
    },

    async pairedDevices(accessToken, signal) {
      const out: PairedDevice[] = [];
      let pageToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const q = new URLSearchParams({ pageSize: String(DEVICES_PAGE_SIZE) });
        if (pageToken) q.set("pageToken", pageToken);
        const b = await getJson("pairedDevices", `/${DEVICES_VERSION}/users/me/pairedDevices?${q}`, accessToken, signal);
        for (const d of Array.isArray(b.pairedDevices) ? (b.pairedDevices as Record<string, unknown>[]) : []) {
          const device = toPairedDevice(d);
          if (device) out.push(device);
        }
        pageToken = typeof b.nextPageToken === "string" && b.nextPageToken !== "" ? b.nextPageToken : undefined;
        if (!pageToken) break;
      }
      return out;
    },

    async dailyRollUp(accessToken, dataType, date, signal) {
      if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(dataType)) throw new GoogleApiError("permanent", 0, `google dailyRollUp: data type must be kebab-case`);
      const start = civilDate(date);
      const end = civilDate(nextDate(date));
      const b = await getJson("dailyRollUp", `/${DATA_VERSION}/users/me/dataTypes/${dataType}/dataPoints:dailyRollUp`, accessToken, signal, {
        method: "POST",
        body: { range: { start: { date: start }, end: { date: end } }, windowSizeDays: 1 },
      });
      const points = Array.isArray(b.rollupDataPoints) ? (b.rollupDataPoints as Record<string, unknown>[]) : [];
      const sameDay = (p: Record<string, unknown>) => {
        const d = (p.civilStartTime as { date?: { year?: number; month?: number; day?: number } } | undefined)?.date;
        return !d || (d.year === start.year && d.month === start.month && d.day === start.day);
      };
      return points.find((p) => p && typeof p === "object" && sameDay(p)) ?? null;
    },

    async sleepSessions(accessToken, date, signal) {
      civilDate(date);
      const filter = `sleep.interval.civil_end_time >= "${date}" AND sleep.interval.civil_end_time < "${nextDate(date)}"`;
      const raw: Record<string, unknown>[] = [];
      let pageToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const q = new URLSearchParams({ filter, pageSize: String(SLEEP_PAGE_SIZE) });
        if (pageToken) q.set("pageToken", pageToken);
        const b = await getJson("sleep", `/${DATA_VERSION}/users/me/dataTypes/sleep/dataPoints?${q}`, accessToken, signal);
        for (const p of Array.isArray(b.dataPoints) ? (b.dataPoints as Record<string, unknown>[]) : []) if (p && typeof p === "object") raw.push(p);
        pageToken = typeof b.nextPageToken === "string" && b.nextPageToken !== "" ? b.nextPageToken : undefined;
        if (!pageToken) break;
      }
      return toSleepSessions(raw);
    },
  };
}

// ---------------------------------------------------------------------------------------------

function cleanUrl(raw: string, name: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`google: ${name} is not a URL`);
  }
  return u.origin + u.pathname.replace(/\/+$/, "");
}

function civilDate(date: string): { year: number; month: number; day: number } {
  const m = DATE.exec(date);
  const parsed = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !parsed || parsed.getUTCDate() !== Number(m[3])) throw new GoogleApiError("permanent", 0, "google: date must be YYYY-MM-DD");
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
}

/** The civil day after `date` (YYYY-MM-DD). */
export function nextDate(date: string): string {
  const { year, month, day } = civilDate(date);
  return new Date(Date.UTC(year, month - 1, day + 1)).toISOString().slice(0, 10);
}

const int = (v: unknown): number | undefined => {
  const n = typeof v === "string" ? Number(v) : typeof v === "number" ? v : NaN;
  return Number.isFinite(n) ? n : undefined;
};

const lastSegment = (name: unknown): string | undefined => (typeof name === "string" && name !== "" ? name.slice(name.lastIndexOf("/") + 1) : undefined);

function toPairedDevice(d: Record<string, unknown>): PairedDevice | undefined {
  if (!d || typeof d !== "object") return undefined;
  const id = lastSegment(d.name);
  if (!id) return undefined;
  const level = int(d.batteryLevel);
  return {
    id,
    ...(typeof d.deviceType === "string" ? { deviceType: d.deviceType } : {}),
    ...(typeof d.batteryStatus === "string" ? { batteryStatus: d.batteryStatus } : {}),
    ...(level !== undefined ? { batteryLevel: level } : {}),
    ...(typeof d.lastSyncTime === "string" ? { lastSyncTime: d.lastSyncTime } : {}),
    ...(typeof d.deviceVersion === "string" ? { deviceVersion: d.deviceVersion } : {}),
    ...(Array.isArray(d.features) ? { features: d.features.filter((f): f is string => typeof f === "string") } : {}),
  };
}

/**
 * Sleep data points -> sessions. v4 leaves metadata.mainSleep out (v4beta has it): when no session
 * of the day says, the main sleep is the longest one that is not a nap (Google's own definition).
 */
export function toSleepSessions(points: Record<string, unknown>[]): SleepSession[] {
  const sessions: (SleepSession & { explicitMain: boolean })[] = [];
  for (const p of points) {
    const s = p.sleep as { interval?: Record<string, unknown>; summary?: Record<string, unknown>; metadata?: Record<string, unknown> } | undefined;
    const id = lastSegment(p.name);
    const startTime = s?.interval?.startTime;
    const endTime = s?.interval?.endTime;
    if (!s || !id || typeof startTime !== "string" || typeof endTime !== "string") continue;
    const minutesInSleepPeriod = int(s.summary?.minutesInSleepPeriod);
    sessions.push({
      id,
      startTime,
      endTime,
      minutesAsleep: int(s.summary?.minutesAsleep) ?? 0,
      ...(minutesInSleepPeriod !== undefined ? { minutesInSleepPeriod } : {}),
      mainSleep: s.metadata?.mainSleep === true,
      explicitMain: typeof s.metadata?.mainSleep === "boolean",
      nap: s.metadata?.nap === true,
      processed: s.metadata?.processed !== false,
    });
  }
  if (!sessions.some((s) => s.explicitMain)) {
    const candidates = sessions.filter((s) => !s.nap);
    const longest = candidates.reduce<(typeof sessions)[number] | undefined>((best, s) => (!best || s.minutesAsleep > best.minutesAsleep ? s : best), undefined);
    if (longest) longest.mainSleep = true;
  }
  return sessions.map(({ explicitMain: _explicit, ...s }) => s);
}

/** Google's own words for the failure (error.message / error_description), never a token. */
function reasonOf(body: unknown): string {
  if (!body || typeof body !== "object") return typeof body === "string" ? body.slice(0, 200) : "";
  const b = body as { error?: unknown; error_description?: unknown };
  if (b.error && typeof b.error === "object") {
    const e = b.error as { status?: unknown; message?: unknown };
    return [e.status, e.message].filter((x): x is string => typeof x === "string" && x !== "").join(": ").slice(0, 300);
  }
  return [b.error, b.error_description].filter((x): x is string => typeof x === "string" && x !== "").join(": ").slice(0, 300);
}

function retryAfter(headers: Headers, nowMs: number): number {
  const ra = headers.get("retry-after");
  if (ra !== null && ra.trim() !== "") {
    const secs = Number(ra);
    if (Number.isFinite(secs) && secs >= 0) return Math.max(MIN_RETRY_AFTER_MS, secs * 1000);
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(MIN_RETRY_AFTER_MS, at - nowMs);
  }
  return DEFAULT_RETRY_AFTER_MS;
}

function commonError(what: string, ans: Answer, nowMs: number, reason: string): GoogleApiError | undefined {
  if (ans.status === 429) return new GoogleApiError("rate_limited", 429, `google ${what}: 429 ${reason}`.trim(), retryAfter(ans.headers, nowMs));
  if (ans.status >= 500 || ans.status < 200 || (ans.status >= 300 && ans.status < 400)) {
    return new GoogleApiError("transient", ans.status, `google ${what}: HTTP ${ans.status} ${reason}`.trim());
  }
  return undefined;
}

function apiError(what: string, ans: Answer, nowMs: number): GoogleApiError {
  const reason = reasonOf(ans.body);
  const common = commonError(what, ans, nowMs, reason);
  if (common) return common;
  if (ans.status === 401) return new GoogleApiError("unauthorized", 401, `google ${what}: 401 ${reason}`.trim());
  return new GoogleApiError("permanent", ans.status, `google ${what}: HTTP ${ans.status} ${reason}`.trim());
}

function tokenError(what: string, ans: Answer, nowMs: number): GoogleApiError {
  const reason = reasonOf(ans.body);
  const common = commonError(what, ans, nowMs, reason);
  if (common) return common;
  const error = (ans.body as { error?: unknown } | undefined)?.error;
  if (error === "invalid_grant") return new GoogleApiError("invalid_grant", ans.status, `google ${what}: ${reason}`);
  return new GoogleApiError("permanent", ans.status, `google ${what}: HTTP ${ans.status} ${reason}`.trim());
}
