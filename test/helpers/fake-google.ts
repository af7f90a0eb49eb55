// A local fake of Google for tests and benchmarks: the OAuth 2.0 consent page (auto-approving a
// queue of wearers), the token and revoke endpoints, and the Google Health API calls the relay
// makes (identity, settings, pairedDevices, dailyRollUp, sleep list), on a real node:http server on
// 127.0.0.1, port 0. Every request to the Health API is checked against the official discovery
// documents (path template, HTTP method, query parameter names and types, request body fields);
// OAuth requests are checked against Google's documented parameters. What does not conform lands
// in violations(), which tests expect empty. The checks are compiled once per process, so a request
// costs a few regex matches, whatever the size of the documents.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { specsDir } from "./spec-check.ts";

export type GoogleGrant = "activity" | "sleep" | "settings";

export const FAKE_GOOGLE_SCOPES: Record<GoogleGrant, string> = {
  activity: "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly",
  sleep: "https://www.googleapis.com/auth/googlehealth.sleep.readonly",
  settings: "https://www.googleapis.com/auth/googlehealth.settings.readonly",
};

export interface FakePairedDevice {
  id: string;
  deviceType?: string;
  batteryStatus?: string;
  batteryLevel?: number;
  /** RFC 3339 */
  lastSyncTime?: string;
  deviceVersion?: string;
  features?: string[];
  macAddress?: string;
}

export interface FakeDay {
  steps: number;
  distanceMm: number;
  totalKcal: number;
  floors: number;
  azm: { fatBurn: number; cardio: number; peak: number };
  sedentarySec: number;
  activeMinutes: { light: number; moderate: number; vigorous: number };
  activityLevelSec?: { sedentary: number; light: number; moderate: number; vigorous: number };
}

export interface FakeSleep {
  id?: string;
  /** RFC 3339 UTC */
  startTime: string;
  endTime: string;
  minutesAsleep: number;
  minutesInSleepPeriod?: number;
  minutesAwake?: number;
  mainSleep?: boolean;
  nap?: boolean;
  processed?: boolean;
}

export interface FakeUserInit {
  healthUserId?: string;
  /** IANA name (settings.timeZone, and the civil times of sleep) */
  timeZone?: string;
  /** what the wearer ticks on the consent page (default all three) */
  grant?: GoogleGrant[];
  devices?: FakePairedDevice[];
  days?: Record<string, FakeDay>;
  sleep?: FakeSleep[];
  distanceUnit?: string;
}

export interface FakeUser {
  readonly healthUserId: string;
  timeZone: string;
  grant: GoogleGrant[];
  devices: FakePairedDevice[];
  days: Record<string, FakeDay>;
  sleep: FakeSleep[];
  /** adds or replaces (by id) a paired device */
  setDevice(d: FakePairedDevice): void;
  setDay(date: string, day: FakeDay | null): void;
  setSleep(sessions: FakeSleep[]): void;
  /** every device last synced at `at` (a time in the past: the data of later hours is not in yet) */
  lagSync(at: Date | string): void;
  /** the wearer removes the app's access at Google: tokens stop working, refresh answers invalid_grant */
  revoke(): void;
  /** true once any of the user's grants was revoked (by the app or by the wearer) */
  readonly revoked: boolean;
}

export type FakeEndpoint = "authorize" | "token" | "revoke" | "identity" | "settings" | "pairedDevices" | "dailyRollUp" | "sleep" | "other";

export interface FakeGoogleCalls {
  total: number;
  byEndpoint: Record<string, number>;
  /** by healthUserId, then by endpoint (token/revoke calls count for the user whose grant they touch) */
  byUser: Record<string, Record<string, number>>;
}

export interface FakeGoogleOptions {
  clientId?: string;
  clientSecret?: string;
  /** access token lifetime in seconds (Google: 3599) */
  expiresIn?: number;
  /** a refresh answer also carries a new refresh token (the old one keeps working, as at Google) */
  rotateRefreshTokens?: boolean;
  latencyMs?: number;
  /** redirect URIs registered for the client (default: any http(s) URI is accepted) */
  redirectUris?: string[];
}

export interface FakeGoogle {
  /** base URL: GOOGLE_HEALTH_API_URL, and url + /o/oauth2/v2/auth, /token, /revoke */
  url: string;
  clientId: string;
  clientSecret: string;
  /** every GOOGLE_* variable the relay needs */
  env(): Record<string, string>;
  /** added to the server's answers, every request (mutable) */
  latencyMs: number;
  addUser(u?: FakeUserInit): FakeUser;
  user(healthUserId: string): FakeUser | undefined;
  /** the next authorization goes to this user (queue; when empty, the user added last) */
  approveAs(user: FakeUser, o?: { grant?: GoogleGrant[]; deny?: boolean }): void;
  /** the next n requests (optionally only to an endpoint, or of a user) answer this status */
  failNext(n: number, status: number, filter?: { endpoint?: FakeEndpoint; user?: FakeUser }): void;
  /** 429 with Retry-After: until the epoch ms `untilMs`, or for the next `count` requests */
  rateLimit(limit: { untilMs: number } | { count: number }, retryAfterSec?: number, filter?: { endpoint?: FakeEndpoint; user?: FakeUser }): void;
  /** every access token issued so far stops working (401), as after an hour */
  expireAccessTokens(): void;
  calls(): FakeGoogleCalls;
  resetCalls(): void;
  violations(): string[];
  /** tokens revoked through the revoke endpoint (as sent) */
  revokedTokens: string[];
  /** every token grant: who, what kind, which scopes */
  tokensIssued: { grant: "authorization_code" | "refresh_token"; healthUserId: string; scopes: string[]; refreshToken?: string }[];
  /** the last authorize request's query, as received */
  lastAuthorize?: Record<string, string>;
  close(): Promise<void>;
}

// ------------------------------------------------------------------------------------------------
// Discovery documents, compiled once per process

type Json = Record<string, unknown>;
type Check = (v: unknown, at: string, out: string[]) => void;

interface Operation {
  id: string;
  httpMethod: string;
  regex: RegExp;
  template: string;
  query: Map<string, Check>;
  requestCheck?: Check;
  scopes: string[];
}

interface Discovery {
  ops: Operation[];
}

let compiled: Discovery | undefined;

function compileDiscovery(): Discovery {
  if (compiled) return compiled;
  const ops: Operation[] = [];
  for (const file of ["google-health-v4-discovery.json", "google-health-v4beta-discovery.json"]) {
    const doc = JSON.parse(readFileSync(resolve(specsDir(), file), "utf8")) as Json;
    const schemas = doc.schemas as Record<string, Json>;
    const memo = new Map<string, Check>();
    const schemaCheck = (s: Json): Check => {
      if (typeof s.$ref === "string") {
        const name = s.$ref;
        return (v, at, out) => {
          let c = memo.get(name);
          if (!c) {
            memo.set(name, () => {}); // recursion guard while compiling
            c = schemaCheck(schemas[name]!);
            memo.set(name, c);
          }
          c(v, at, out);
        };
      }
      const type = s.type as string | undefined;
      const format = s.format as string | undefined;
      if (type === "object" || s.properties) {
        const props = new Map<string, Check>();
        for (const [k, p] of Object.entries((s.properties ?? {}) as Record<string, Json>)) props.set(k, schemaCheck(p));
        const extra = s.additionalProperties as Json | undefined;
        const extraCheck = extra ? schemaCheck(extra) : undefined;
        return (v, at, out) => {
          if (!v || typeof v !== "object" || Array.isArray(v)) return void out.push(`${at}: expected an object`);
          for (const [k, x] of Object.entries(v as Json)) {
            const c = props.get(k) ?? extraCheck;
            if (!c) out.push(`${at}.${k}: not a field of the schema`);
            else c(x, `${at}.${k}`, out);
          }
        };
      }
      if (type === "array") {
        const item = schemaCheck((s.items ?? {}) as Json);
        return (v, at, out) => {
          if (!Array.isArray(v)) return void out.push(`${at}: expected an array`);
          v.forEach((x, i) => item(x, `${at}[${i}]`, out));
        };
      }
      if (type === "integer") return (v, at, out) => void (Number.isInteger(v) ? 0 : out.push(`${at}: expected an integer`));
      if (type === "number") return (v, at, out) => void (typeof v === "number" ? 0 : out.push(`${at}: expected a number`));
      if (type === "boolean") return (v, at, out) => void (typeof v === "boolean" ? 0 : out.push(`${at}: expected a boolean`));
      if (type === "string") {
        const en = s.enum as string[] | undefined;
        return (v, at, out) => {
          if (typeof v !== "string") return void out.push(`${at}: expected a string${format ? ` (${format})` : ""}`);
          if (format === "int64" && !/^-?\d+$/.test(v)) out.push(`${at}: expected an int64 string`);
          if (format === "google-duration" && !/^-?\d+(\.\d{1,9})?s$/.test(v)) out.push(`${at}: expected a duration like "3600s"`);
          if (en && !en.includes(v)) out.push(`${at}: not one of ${en.join(", ")}`);
        };
      }
      return () => {};
    };
    const globals = new Map<string, Check>();
    for (const [k, p] of Object.entries((doc.parameters ?? {}) as Record<string, Json>)) globals.set(k, paramCheck(p));
    const walk = (res: Record<string, Json>) => {
      for (const r of Object.values(res)) {
        for (const m of Object.values((r.methods ?? {}) as Record<string, Json>)) {
          const template = "/" + String(m.flatPath ?? m.path);
          const pattern = template
            .split(/(\{[^}]+\})/)
            .map((part) => (/^\{[^}]+\}$/.test(part) ? "([^/:]+)" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
            .join("");
          const query = new Map(globals);
          for (const [k, p] of Object.entries((m.parameters ?? {}) as Record<string, Json>)) if (p.location === "query") query.set(k, paramCheck(p));
          const req = m.request as Json | undefined;
          ops.push({
            id: String(m.id),
            httpMethod: String(m.httpMethod),
            regex: new RegExp(`^${pattern}$`),
            template,
            query,
            requestCheck: req ? schemaCheck(req) : undefined,
            scopes: (m.scopes ?? []) as string[],
          });
        }
        walk((r.resources ?? {}) as Record<string, Json>);
      }
    };
    walk(doc.resources as Record<string, Json>);
  }
  compiled = { ops };
  return compiled;
}

function paramCheck(p: Json): Check {
  const en = p.enum as string[] | undefined;
  if (p.type === "integer") return (v, at, out) => void (/^-?\d+$/.test(String(v)) ? 0 : out.push(`${at}: expected an integer`));
  if (p.type === "boolean") return (v, at, out) => void (v === "true" || v === "false" ? 0 : out.push(`${at}: expected true or false`));
  return (v, at, out) => void (en && !en.includes(String(v)) ? out.push(`${at}: not one of ${en.join(", ")}`) : 0);
}

/** The discovery operation for a request, plus everything about it that does not conform. */
function checkAgainstDiscovery(method: string, url: URL, body: unknown): { op?: Operation; problems: string[] } {
  const { ops } = compileDiscovery();
  const where = `${method} ${url.pathname}`;
  let pathOnly = false;
  for (const op of ops) {
    if (!op.regex.test(url.pathname)) continue;
    if (op.httpMethod !== method) {
      pathOnly = true;
      continue;
    }
    const problems: string[] = [];
    for (const [k, v] of url.searchParams) {
      const c = op.query.get(k);
      if (!c) problems.push(`${where}: query parameter ${k} is not a parameter of ${op.id}`);
      else c(v, `${where}: query parameter ${k}`, problems);
    }
    if (op.requestCheck) {
      if (body === undefined) problems.push(`${where}: ${op.id} takes a request body`);
      else op.requestCheck(body, `${where}: body`, problems);
    } else if (body !== undefined) problems.push(`${where}: ${op.id} takes no request body`);
    return { op, problems };
  }
  return { problems: [pathOnly ? `${where}: the discovery document has no ${method} for this path` : `${where}: no path in the discovery document matches`] };
}

// ------------------------------------------------------------------------------------------------
// Sleep filter (AIP-160 subset Google accepts for sleep): field op "literal" joined by AND / OR

const SLEEP_FIELDS = new Set(["sleep.interval.civil_end_time", "sleep.interval.end_time"]);

type Clause = { field: string; op: ">=" | "<"; value: string };

function parseSleepFilter(filter: string): { clauses: Clause[][] } | { error: string } {
  const tokens = filter.match(/"[^"]*"|>=|<|\S+/g) ?? [];
  const groups: Clause[][] = [[]];
  let i = 0;
  while (i < tokens.length) {
    const [field, op, lit] = [tokens[i], tokens[i + 1], tokens[i + 2]];
    if (!field || !SLEEP_FIELDS.has(field)) return { error: `unsupported filter field ${JSON.stringify(field ?? "")}` };
    if (op !== ">=" && op !== "<") return { error: `unsupported operator ${JSON.stringify(op ?? "")} (only >= and <)` };
    if (!lit || !/^"[^"]*"$/.test(lit)) return { error: "expected a quoted literal" };
    const value = lit.slice(1, -1);
    const ok =
      field === "sleep.interval.civil_end_time" ? /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?$/.test(value) : !Number.isNaN(Date.parse(value)) && /Z|[+-]\d{2}:\d{2}$/.test(value);
    if (!ok) return { error: `bad literal ${lit} for ${field}` };
    groups[groups.length - 1]!.push({ field, op, value });
    i += 3;
    if (i >= tokens.length) break;
    const joiner = tokens[i];
    if (joiner === "OR") groups.push([]);
    else if (joiner !== "AND") return { error: `unsupported logical operator ${JSON.stringify(joiner)}` };
    i++;
    if (i >= tokens.length) return { error: "filter ends with an operator" };
  }
  if (groups[0]!.length === 0) return { error: "empty filter" };
  return { clauses: groups };
}

// ------------------------------------------------------------------------------------------------

const ROLLUP_TYPES = new Set([
  "active-energy-burned", "active-minutes", "active-zone-minutes", "activity-level", "altitude", "blood-glucose", "body-fat",
  "calories-in-heart-rate-zone", "core-body-temperature", "distance", "floors", "heart-rate", "daily-heart-rate-variability",
  "hydration-log", "nutrition-log", "daily-resting-heart-rate", "run-vo2-max", "sedentary-period", "skin-temperature", "steps",
  "swim-lengths-data", "time-in-heart-rate-zone", "total-calories", "weight",
]);
const SHORT_RANGE_TYPES = new Set(["total-calories", "active-minutes", "heart-rate", "calories-in-heart-rate-zone"]);
const AUTHORIZE_PARAMS = new Set([
  "client_id", "redirect_uri", "response_type", "scope", "access_type", "state", "include_granted_scopes", "enable_granular_consent",
  "login_hint", "prompt", "code_challenge", "code_challenge_method", "nonce", "hd",
]);

interface UserState extends FakeUser {
  revokedFlag: boolean;
}

interface TokenInfo {
  user: UserState;
  scopes: string[];
  active: boolean;
  /** the refresh token of the grant this access token came from */
  grantId: string;
}

interface PendingCode {
  user: UserState;
  scopes: string[];
  redirectUri: string;
  challenge: string;
  used: boolean;
}

type Failure = { status: number; retryAfterSec?: number; endpoint?: FakeEndpoint; user?: FakeUser; untilMs?: number; remaining: number };

const civilFormatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time of `iso` in `timeZone`, and the UTC offset then. */
function civil(iso: string, timeZone: string): { civil: Json; text: string; offsetSec: number } {
  let f = civilFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    civilFormatters.set(timeZone, f);
  }
  const t = Date.parse(iso);
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(t))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  const [year, month, day, hours, minutes, seconds] = [parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!];
  const offsetSec = Math.round((Date.UTC(year, month - 1, day, hours, minutes, seconds) - Math.floor(t / 1000) * 1000) / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return {
    civil: { date: { year, month, day }, time: { hours, minutes, seconds } },
    text: `${year}-${pad(month)}-${pad(day)}T${pad(hours)}:${pad(minutes)}:${pad(seconds)}`,
    offsetSec,
  };
}

const dateOf = (d: { year?: unknown; month?: unknown; day?: unknown } | undefined): string | undefined => {
  if (!d || !Number.isInteger(d.year) || !Number.isInteger(d.month) || !Number.isInteger(d.day)) return undefined;
  const t = new Date(Date.UTC(d.year as number, (d.month as number) - 1, d.day as number));
  if (t.getUTCDate() !== d.day) return undefined;
  return t.toISOString().slice(0, 10);
};
const addDays = (date: string, n: number) => new Date(Date.parse(date + "T00:00:00Z") + n * 86_400_000).toISOString().slice(0, 10);
const civilDateJson = (date: string) => ({ date: { year: Number(date.slice(0, 4)), month: Number(date.slice(5, 7)), day: Number(date.slice(8, 10)) } });

function rollupValue(type: string, d: FakeDay): Json | undefined {
  switch (type) {
    case "steps":
      return { steps: { countSum: String(d.steps) } };
    case "distance":
      return { distance: { millimetersSum: String(d.distanceMm) } };
    case "total-calories":
      return { totalCalories: { kcalSum: d.totalKcal } };
    case "floors":
      return { floors: { countSum: String(d.floors) } };
    case "active-zone-minutes":
      return { activeZoneMinutes: { sumInFatBurnHeartZone: String(d.azm.fatBurn), sumInCardioHeartZone: String(d.azm.cardio), sumInPeakHeartZone: String(d.azm.peak) } };
    case "sedentary-period":
      return { sedentaryPeriod: { durationSum: `${d.sedentarySec}s` } };
    case "active-minutes":
      return {
        activeMinutes: {
          activeMinutesRollupByActivityLevel: [
            { activityLevel: "LIGHT", activeMinutesSum: String(d.activeMinutes.light) },
            { activityLevel: "MODERATE", activeMinutesSum: String(d.activeMinutes.moderate) },
            { activityLevel: "VIGOROUS", activeMinutesSum: String(d.activeMinutes.vigorous) },
          ],
        },
      };
    case "activity-level": {
      const l = d.activityLevelSec ?? {
        sedentary: d.sedentarySec,
        light: d.activeMinutes.light * 60,
        moderate: d.activeMinutes.moderate * 60,
        vigorous: d.activeMinutes.vigorous * 60,
      };
      return {
        activityLevel: {
          activityLevelRollupsByActivityLevelType: [
            { activityLevelType: "SEDENTARY", totalDuration: `${l.sedentary}s` },
            { activityLevelType: "LIGHTLY_ACTIVE", totalDuration: `${l.light}s` },
            { activityLevelType: "MODERATELY_ACTIVE", totalDuration: `${l.moderate}s` },
            { activityLevelType: "VERY_ACTIVE", totalDuration: `${l.vigorous}s` },
          ],
        },
      };
    }
    default:
      return undefined;
  }
}

const googleError = (code: number, status: string, message: string) => ({ error: { code, message, status } });
const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
};

export async function startFakeGoogle(o: FakeGoogleOptions = {}): Promise<FakeGoogle> {
  compileDiscovery();
  const clientId = o.clientId ?? "fake-google-client.apps.googleusercontent.com";
  const clientSecret = o.clientSecret ?? "fake-google-secret-not-real";
  const expiresIn = o.expiresIn ?? 3599;
  const users = new Map<string, UserState>();
  const accessTokens = new Map<string, TokenInfo>();
  const refreshTokens = new Map<string, TokenInfo>();
  const codes = new Map<string, PendingCode>();
  const queue: { user: UserState; grant?: GoogleGrant[]; deny?: boolean }[] = [];
  const failures: Failure[] = [];
  const violations: string[] = [];
  let lastAdded: UserState | undefined;
  let nextUser = 1;
  let calls: FakeGoogleCalls = { total: 0, byEndpoint: {}, byUser: {} };

  const count = (endpoint: FakeEndpoint, user?: UserState) => {
    calls.total++;
    calls.byEndpoint[endpoint] = (calls.byEndpoint[endpoint] ?? 0) + 1;
    if (user) {
      const u = (calls.byUser[user.healthUserId] ??= {});
      u[endpoint] = (u[endpoint] ?? 0) + 1;
    }
  };

  const fake: FakeGoogle = {
    url: "",
    clientId,
    clientSecret,
    latencyMs: o.latencyMs ?? 0,
    revokedTokens: [],
    tokensIssued: [],
    env() {
      return {
        GOOGLE_CLIENT_ID: clientId,
        GOOGLE_CLIENT_SECRET: clientSecret,
        GOOGLE_AUTH_URL: fake.url + "/o/oauth2/v2/auth",
        GOOGLE_TOKEN_URL: fake.url + "/token",
        GOOGLE_REVOKE_URL: fake.url + "/revoke",
        GOOGLE_HEALTH_API_URL: fake.url,
      };
    },
    addUser(init = {}) {
      const healthUserId = init.healthUserId ?? `hu${String(nextUser++).padStart(8, "0")}${randomBytes(3).toString("hex")}`;
      if (users.has(healthUserId)) throw new Error(`fake google: user ${healthUserId} exists`);
      const u: UserState = {
        healthUserId,
        timeZone: init.timeZone ?? "America/New_York",
        grant: init.grant ?? ["activity", "sleep", "settings"],
        devices: init.devices ? init.devices.map((d) => ({ ...d })) : [],
        days: { ...(init.days ?? {}) },
        sleep: [...(init.sleep ?? [])],
        revokedFlag: false,
        get revoked() {
          return this.revokedFlag;
        },
        setDevice(d) {
          const i = this.devices.findIndex((x) => x.id === d.id);
          if (i >= 0) this.devices[i] = { ...d };
          else this.devices.push({ ...d });
        },
        setDay(date, day) {
          if (day) this.days[date] = day;
          else delete this.days[date];
        },
        setSleep(sessions) {
          this.sleep = [...sessions];
        },
        lagSync(at) {
          const iso = typeof at === "string" ? new Date(at).toISOString() : at.toISOString();
          for (const d of this.devices) d.lastSyncTime = iso;
        },
        revoke() {
          revokeUser(this as UserState);
        },
      };
      (u as { distanceUnit?: string }).distanceUnit = init.distanceUnit;
      users.set(healthUserId, u);
      lastAdded = u;
      return u;
    },
    user: (id) => users.get(id),
    approveAs(user, opts = {}) {
      queue.push({ user: user as UserState, grant: opts.grant, deny: opts.deny });
    },
    failNext(n, status, filter) {
      failures.push({ status, remaining: n, endpoint: filter?.endpoint, user: filter?.user });
    },
    rateLimit(limit, retryAfterSec = 30, filter) {
      failures.push({
        status: 429,
        retryAfterSec,
        endpoint: filter?.endpoint,
        user: filter?.user,
        ...("untilMs" in limit ? { untilMs: limit.untilMs, remaining: Infinity } : { remaining: limit.count }),
      });
    },
    expireAccessTokens() {
      for (const t of accessTokens.values()) t.active = false;
    },
    calls: () => structuredClone(calls),
    resetCalls() {
      calls = { total: 0, byEndpoint: {}, byUser: {} };
    },
    violations: () => [...violations],
    close: async () => {},
  };

  function revokeUser(u: UserState) {
    u.revokedFlag = true;
    for (const t of accessTokens.values()) if (t.user === u) t.active = false;
    for (const t of refreshTokens.values()) if (t.user === u) t.active = false;
  }

  /** A scripted failure that applies to this request, if any (used up as it applies). */
  function takeFailure(endpoint: FakeEndpoint, user: UserState | undefined): Failure | undefined {
    for (let i = 0; i < failures.length; i++) {
      const f = failures[i]!;
      if (f.endpoint && f.endpoint !== endpoint) continue;
      if (f.user && f.user !== user) continue;
      if (f.untilMs !== undefined && Date.now() >= f.untilMs) {
        failures.splice(i--, 1);
        continue;
      }
      if (f.untilMs === undefined && --f.remaining <= 0) failures.splice(i, 1);
      return f;
    }
    return undefined;
  }

  function issue(grant: "authorization_code" | "refresh_token", user: UserState, scopes: string[], grantId?: string) {
    const accessToken = "ya29.fake-" + randomBytes(18).toString("base64url");
    const newRefresh = grant === "authorization_code" || o.rotateRefreshTokens ? "1//fake-" + randomBytes(24).toString("base64url") : undefined;
    const id = newRefresh ?? grantId!;
    accessTokens.set(accessToken, { user, scopes, active: true, grantId: id });
    if (newRefresh) refreshTokens.set(newRefresh, { user, scopes, active: true, grantId: id });
    fake.tokensIssued.push({ grant, healthUserId: user.healthUserId, scopes, ...(newRefresh ? { refreshToken: newRefresh } : {}) });
    return {
      access_token: accessToken,
      expires_in: expiresIn,
      scope: scopes.join(" "),
      token_type: "Bearer",
      ...(newRefresh ? { refresh_token: newRefresh } : {}),
    };
  }

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8", ...headers });
    res.end(text);
  };
  const failWith = (res: ServerResponse, f: Failure) =>
    send(res, f.status, googleError(f.status, STATUS_NAMES[f.status] ?? "UNKNOWN", "failure scripted by the test"), f.retryAfterSec !== undefined ? { "retry-after": String(f.retryAfterSec) } : {});

  function authorize(url: URL, res: ServerResponse) {
    const q = Object.fromEntries(url.searchParams);
    fake.lastAuthorize = q;
    count("authorize");
    for (const k of url.searchParams.keys()) if (!AUTHORIZE_PARAMS.has(k)) violations.push(`authorize: unknown parameter ${k}`);
    const problems: string[] = [];
    if (q.client_id !== clientId) problems.push("client_id is not the registered client");
    if (q.response_type !== "code") problems.push("response_type must be code");
    let redirect: URL | undefined;
    try {
      redirect = new URL(q.redirect_uri ?? "");
    } catch {
      problems.push("redirect_uri is missing or not a URL");
    }
    if (redirect && o.redirectUris && !o.redirectUris.includes(q.redirect_uri!)) problems.push("redirect_uri_mismatch");
    const requested = (q.scope ?? "").split(" ").filter(Boolean);
    const known = new Set(Object.values(FAKE_GOOGLE_SCOPES));
    if (requested.length === 0) problems.push("scope is missing");
    for (const s of requested) if (!known.has(s) && !s.startsWith("https://www.googleapis.com/auth/googlehealth.")) problems.push(`unknown scope ${s}`);
    if (q.code_challenge_method !== "S256") problems.push("code_challenge_method must be S256");
    if (!/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge ?? "")) problems.push("code_challenge must be a base64url SHA-256");
    if (!q.state) problems.push("state is missing");
    if (q.access_type !== undefined && q.access_type !== "offline" && q.access_type !== "online") problems.push("access_type must be online or offline");
    if (q.include_granted_scopes !== undefined && q.include_granted_scopes !== "true" && q.include_granted_scopes !== "false") problems.push("include_granted_scopes must be true or false");
    if (problems.length || !redirect) {
      for (const p of problems) violations.push(`authorize: ${p}`);
      res.writeHead(400, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><title>Error 400</title><p>Error 400: invalid_request</p><ul>${problems.map((p) => `<li>${p}</li>`).join("")}</ul>`);
      return;
    }
    const next = queue.shift() ?? (lastAdded ? { user: lastAdded } : { user: fake.addUser() as UserState });
    const back = new URL(redirect);
    if (next.deny) {
      back.searchParams.set("error", "access_denied");
      back.searchParams.set("state", q.state!);
    } else {
      const ticked = next.grant ?? next.user.grant;
      next.user.grant = ticked;
      const granted = requested.filter((s) => ticked.some((g) => FAKE_GOOGLE_SCOPES[g] === s));
      const code = "4/fake-" + randomBytes(18).toString("base64url");
      codes.set(code, { user: next.user, scopes: granted, redirectUri: q.redirect_uri!, challenge: q.code_challenge!, used: false });
      next.user.revokedFlag = false;
      back.searchParams.set("state", q.state!);
      back.searchParams.set("code", code);
      back.searchParams.set("scope", granted.join(" "));
    }
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  function tokenEndpoint(req: IncomingMessage, raw: string, res: ServerResponse) {
    const ct = String(req.headers["content-type"] ?? "");
    if (!ct.startsWith("application/x-www-form-urlencoded")) violations.push(`token: content-type ${ct || "(none)"} is not application/x-www-form-urlencoded`);
    const form = Object.fromEntries(new URLSearchParams(raw));
    let [id, secret] = [form.client_id, form.client_secret];
    const basic = /^Basic\s+(\S+)$/i.exec(String(req.headers.authorization ?? ""));
    if (basic) [id, secret] = Buffer.from(basic[1]!, "base64").toString("utf8").split(":").map(decodeURIComponent) as [string, string];
    const pending = form.grant_type === "authorization_code" ? codes.get(form.code ?? "") : undefined;
    const refreshInfo = form.grant_type === "refresh_token" ? refreshTokens.get(form.refresh_token ?? "") : undefined;
    const user = pending?.user ?? refreshInfo?.user;
    count("token", user);
    const f = takeFailure("token", user);
    if (f) return failWith(res, f);
    if (id !== clientId || secret !== clientSecret) return send(res, 401, { error: "invalid_client", error_description: "Unauthorized" });
    if (form.grant_type === "authorization_code") {
      for (const k of ["code", "redirect_uri", "code_verifier"]) if (!form[k]) violations.push(`token: authorization_code without ${k}`);
      if (!pending || pending.used) return send(res, 400, { error: "invalid_grant", error_description: "Malformed auth code." });
      pending.used = true;
      if (form.redirect_uri !== pending.redirectUri) return send(res, 400, { error: "redirect_uri_mismatch", error_description: "Bad Request" });
      const challenge = createHash("sha256").update(form.code_verifier ?? "", "ascii").digest("base64url");
      if (challenge !== pending.challenge) return send(res, 400, { error: "invalid_grant", error_description: "Invalid code verifier." });
      return send(res, 200, issue("authorization_code", pending.user, pending.scopes));
    }
    if (form.grant_type === "refresh_token") {
      if (!refreshInfo || !refreshInfo.active) return send(res, 400, { error: "invalid_grant", error_description: "Token has been expired or revoked." });
      return send(res, 200, issue("refresh_token", refreshInfo.user, refreshInfo.scopes, refreshInfo.grantId));
    }
    violations.push(`token: unsupported grant_type ${form.grant_type ?? "(none)"}`);
    return send(res, 400, { error: "unsupported_grant_type", error_description: "Invalid grant_type: " + (form.grant_type ?? "") });
  }

  function revokeEndpoint(raw: string, url: URL, res: ServerResponse) {
    const form = Object.fromEntries(new URLSearchParams(raw));
    const token = form.token ?? url.searchParams.get("token") ?? "";
    const info = accessTokens.get(token) ?? refreshTokens.get(token);
    count("revoke", info?.user);
    const f = takeFailure("revoke", info?.user);
    if (f) return failWith(res, f);
    if (!form.token && !url.searchParams.get("token")) violations.push("revoke: no token parameter");
    if (!info || !info.active) return send(res, 400, { error: "invalid_token", error_description: "Token expired or revoked" });
    fake.revokedTokens.push(token);
    revokeUser(info.user);
    send(res, 200, {});
  }

  function api(req: IncomingMessage, raw: string, url: URL, res: ServerResponse) {
    const method = req.method ?? "GET";
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        violations.push(`${method} ${url.pathname}: body is not JSON`);
        return send(res, 400, googleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received."));
      }
    }
    const { op, problems } = checkAgainstDiscovery(method, url, body);
    const endpoint: FakeEndpoint =
      op?.id.endsWith("getIdentity") ? "identity"
      : op?.id.endsWith("getSettings") ? "settings"
      : op?.id.includes("pairedDevices") ? "pairedDevices"
      : op?.id.endsWith("dailyRollUp") ? "dailyRollUp"
      : op?.id.endsWith("dataPoints.list") && /\/dataTypes\/sleep\//.test(url.pathname) ? "sleep"
      : "other";
    const auth = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ""));
    const info = auth ? accessTokens.get(auth[1]!) : undefined;
    count(endpoint, info?.user);
    if (problems.length) {
      violations.push(...problems);
      return send(res, op ? 400 : 404, googleError(op ? 400 : 404, op ? "INVALID_ARGUMENT" : "NOT_FOUND", problems[0]!));
    }
    const f = takeFailure(endpoint, info?.user);
    if (f) return failWith(res, f);
    if (!info || !info.active) return send(res, 401, googleError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token."));
    const user = info.user;
    const m = /^\/v4(?:beta)?\/users\/([^/]+)\//.exec(url.pathname);
    if (m && m[1] !== "me" && m[1] !== user.healthUserId) return send(res, 403, googleError(403, "PERMISSION_DENIED", "The caller does not have permission"));
    if (op!.scopes.length && !op!.scopes.some((s) => info.scopes.includes(s)) && endpoint !== "dailyRollUp" && endpoint !== "sleep") {
      return send(res, 403, googleError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."));
    }
    if ((endpoint === "settings" || endpoint === "pairedDevices") && !info.scopes.includes(FAKE_GOOGLE_SCOPES.settings)) {
      return send(res, 403, googleError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."));
    }
    switch (endpoint) {
      case "identity":
        return send(res, 200, { name: `users/${user.healthUserId}/identity`, healthUserId: user.healthUserId, legacyUserId: user.healthUserId.slice(0, 6).toUpperCase() });
      case "settings": {
        const off = civil(new Date().toISOString(), user.timeZone).offsetSec;
        const unit = (user as { distanceUnit?: string }).distanceUnit;
        return send(res, 200, {
          name: `users/${user.healthUserId}/settings`,
          timeZone: user.timeZone,
          utcOffset: `${off}s`,
          distanceUnit: unit ?? "DISTANCE_UNIT_KILOMETERS",
          weightUnit: "WEIGHT_UNIT_KILOGRAMS",
          heightUnit: "HEIGHT_UNIT_CENTIMETERS",
        });
      }
      case "pairedDevices": {
        if (!url.pathname.startsWith("/v4beta/")) violations.push(`${method} ${url.pathname}: pairedDevices exists only in v4beta`);
        const size = Math.min(100, Math.max(1, Number(url.searchParams.get("pageSize") ?? 5) || 5));
        const from = Number(url.searchParams.get("pageToken") ? Buffer.from(url.searchParams.get("pageToken")!, "base64url").toString() : 0);
        if (!Number.isInteger(from) || from < 0) return send(res, 400, googleError(400, "INVALID_ARGUMENT", "Invalid page token."));
        const page = user.devices.slice(from, from + size).map((d) => ({
          name: `users/${user.healthUserId}/pairedDevices/${d.id}`,
          ...(d.deviceType !== undefined ? { deviceType: d.deviceType } : { deviceType: "TRACKER" }),
          ...(d.batteryStatus !== undefined ? { batteryStatus: d.batteryStatus } : {}),
          ...(d.batteryLevel !== undefined ? { batteryLevel: d.batteryLevel } : {}),
          ...(d.lastSyncTime !== undefined ? { lastSyncTime: d.lastSyncTime } : {}),
          ...(d.deviceVersion !== undefined ? { deviceVersion: d.deviceVersion } : {}),
          ...(d.macAddress !== undefined ? { macAddress: d.macAddress } : {}),
          ...(d.features !== undefined ? { features: d.features } : {}),
        }));
        const next = from + size < user.devices.length ? Buffer.from(String(from + size)).toString("base64url") : undefined;
        return send(res, 200, { pairedDevices: page, ...(next ? { nextPageToken: next } : {}) });
      }
      case "dailyRollUp":
        return dailyRollUp(url, body as Json, info, res);
      case "sleep":
        return sleepList(url, info, res);
      default:
        return send(res, 501, googleError(501, "UNIMPLEMENTED", `the fake does not serve ${op!.id}`));
    }
  }

  function dailyRollUp(url: URL, body: Json, info: TokenInfo, res: ServerResponse) {
    const type = /\/dataTypes\/([^/]+)\/dataPoints:dailyRollUp$/.exec(url.pathname)![1]!;
    const where = `POST ${url.pathname}`;
    if (!ROLLUP_TYPES.has(type)) {
      violations.push(`${where}: ${type} cannot be rolled up`);
      return send(res, 400, googleError(400, "INVALID_ARGUMENT", `Data type ${type} does not support rollup.`));
    }
    if (!info.scopes.includes(FAKE_GOOGLE_SCOPES.activity)) return send(res, 403, googleError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."));
    const range = body.range as { start?: { date?: Json; time?: Json }; end?: { date?: Json; time?: Json } } | undefined;
    const start = dateOf(range?.start?.date as never);
    const end = dateOf(range?.end?.date as never);
    const window = body.windowSizeDays === undefined ? 1 : Number(body.windowSizeDays);
    const bad = (msg: string) => {
      violations.push(`${where}: ${msg}`);
      send(res, 400, googleError(400, "INVALID_ARGUMENT", msg));
    };
    if (!start || !end) return bad("range.start and range.end must be civil dates");
    if (end <= start) return bad("range.end must be after range.start");
    const days = Math.round((Date.parse(end) - Date.parse(start)) / 86_400_000);
    if (days > (SHORT_RANGE_TYPES.has(type) ? 14 : 90)) return bad(`range of ${days} days is too long for ${type}`);
    if (!Number.isInteger(window) || window < 1 || days % window !== 0) return bad("the range must be a whole number of windows");
    const points: Json[] = [];
    for (let d = start; d < end; d = addDays(d, window)) {
      const data = info.user.days[d];
      if (!data) continue; // no sync yet, or off-wrist: a gap, not a zero
      const v = rollupValue(type, data);
      if (v) points.push({ civilStartTime: civilDateJson(d), civilEndTime: civilDateJson(addDays(d, window)), ...v });
    }
    send(res, 200, { rollupDataPoints: points });
  }

  function sleepList(url: URL, info: TokenInfo, res: ServerResponse) {
    const where = `GET ${url.pathname}`;
    if (!info.scopes.includes(FAKE_GOOGLE_SCOPES.sleep)) return send(res, 403, googleError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."));
    const size = url.searchParams.has("pageSize") ? Number(url.searchParams.get("pageSize")) : 25;
    if (!Number.isInteger(size) || size < 1 || size > 25) {
      violations.push(`${where}: pageSize ${url.searchParams.get("pageSize")} (sleep allows at most 25)`);
      return send(res, 400, googleError(400, "INVALID_ARGUMENT", "page_size must be at most 25 for sleep"));
    }
    let groups: Clause[][] = [];
    const filter = url.searchParams.get("filter");
    if (filter !== null) {
      const parsed = parseSleepFilter(filter);
      if ("error" in parsed) {
        violations.push(`${where}: filter ${JSON.stringify(filter)}: ${parsed.error}`);
        return send(res, 400, googleError(400, "INVALID_ARGUMENT", `INVALID_FILTER_FORMAT: ${parsed.error}`));
      }
      groups = parsed.clauses;
    }
    const beta = url.pathname.startsWith("/v4beta/");
    const all = info.user.sleep
      .map((s, i) => ({ s, i, end: civil(s.endTime, info.user.timeZone), start: civil(s.startTime, info.user.timeZone) }))
      .filter(({ s, end }) =>
        groups.length === 0 ||
        groups.some((g) =>
          g.every((c) => {
            const v = c.field === "sleep.interval.civil_end_time" ? end.text : s.endTime;
            const lit = c.field === "sleep.interval.civil_end_time" ? c.value : new Date(c.value).toISOString();
            const cmp = c.field === "sleep.interval.civil_end_time" ? v : new Date(v).toISOString();
            return c.op === ">=" ? cmp >= lit : cmp < lit;
          }),
        ),
      )
      .sort((a, b) => Date.parse(b.s.startTime) - Date.parse(a.s.startTime));
    const from = Number(url.searchParams.get("pageToken") ? Buffer.from(url.searchParams.get("pageToken")!, "base64url").toString() : 0);
    if (!Number.isInteger(from) || from < 0) return send(res, 400, googleError(400, "INVALID_ARGUMENT", "Invalid page token."));
    const page = all.slice(from, from + size).map(({ s, i, start, end }) => {
      const asleep = s.minutesAsleep;
      const period = s.minutesInSleepPeriod ?? Math.round((Date.parse(s.endTime) - Date.parse(s.startTime)) / 60_000);
      return {
        name: `users/${info.user.healthUserId}/dataTypes/sleep/dataPoints/${s.id ?? `sleep-${i + 1}`}`,
        dataSource: { platform: "FITBIT", recordingMethod: "PASSIVELY_MEASURED", device: { formFactor: "WATCH" } },
        sleep: {
          type: s.nap ? "CLASSIC" : "STAGES",
          interval: {
            startTime: s.startTime,
            startUtcOffset: `${start.offsetSec}s`,
            endTime: s.endTime,
            endUtcOffset: `${end.offsetSec}s`,
            civilStartTime: start.civil,
            civilEndTime: end.civil,
          },
          summary: {
            minutesAsleep: String(asleep),
            minutesAwake: String(s.minutesAwake ?? Math.max(0, period - asleep)),
            minutesInSleepPeriod: String(period),
            minutesToFallAsleep: "0",
            minutesAfterWakeUp: "0",
          },
          metadata: {
            nap: s.nap ?? false,
            processed: s.processed ?? true,
            stagesStatus: s.processed === false ? "STAGES_STATE_UNSPECIFIED" : "SUCCEEDED",
            // v4 has no mainSleep; v4beta does
            ...(beta && s.mainSleep !== undefined ? { mainSleep: s.mainSleep } : {}),
          },
        },
      };
    });
    const next = from + size < all.length ? Buffer.from(String(from + size)).toString("base64url") : undefined;
    send(res, 200, { dataPoints: page, ...(next ? { nextPageToken: next } : {}) });
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const handle = () => {
        const url = new URL(req.url ?? "/", "http://fake.invalid");
        const raw = Buffer.concat(chunks).toString("utf8");
        try {
          if (url.pathname === "/o/oauth2/v2/auth" && req.method === "GET") return authorize(url, res);
          if (url.pathname === "/token" && req.method === "POST") return tokenEndpoint(req, raw, res);
          if (url.pathname === "/revoke" && req.method === "POST") return revokeEndpoint(raw, url, res);
          if (url.pathname.startsWith("/v4")) return api(req, raw, url, res);
          violations.push(`${req.method} ${url.pathname}: not a Google endpoint`);
          send(res, 404, googleError(404, "NOT_FOUND", "Not Found"));
        } catch (err) {
          violations.push(`${req.method} ${url.pathname}: the fake failed: ${(err as Error).message}`);
          send(res, 500, googleError(500, "INTERNAL", "fake failure"));
        }
      };
      if (fake.latencyMs > 0) setTimeout(handle, fake.latencyMs);
      else handle();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return fake;
}

export interface GoogleLinkHops {
  /** status and HTML of the relay's callback page (or of /google/start when it did not redirect) */
  status: number;
  page: string;
  /** the authorize URL the relay sent the wearer to */
  authorizeUrl?: string;
  /** the callback URL Google redirected to (for replay tests) */
  callbackUrl?: string;
}

/**
 * The wearer's side of connecting Google Health over real HTTP, each redirect followed by hand:
 * POST /v1/google/link -> /google/start -> the fake's consent page -> /google/callback.
 */
export async function linkGoogle(relayUrl: string, deviceToken: string, o: { between?: () => void | Promise<void>; linkUrl?: string } = {}): Promise<GoogleLinkHops> {
  let url = o.linkUrl;
  if (!url) {
    const link = await fetch(relayUrl + "/v1/google/link", { method: "POST", headers: { authorization: `Bearer ${deviceToken}` } });
    const body = (await link.json()) as { url?: string };
    if (link.status !== 200 || !body.url) throw new Error(`POST /v1/google/link: ${link.status} ${JSON.stringify(body)}`);
    url = body.url;
  }
  const start = await fetch(url, { redirect: "manual" });
  if (start.status !== 302) return { status: start.status, page: await start.text() };
  const authorizeUrl = start.headers.get("location")!;
  const consent = await fetch(authorizeUrl, { redirect: "manual" });
  if (consent.status !== 302) throw new Error(`authorize: ${consent.status} ${await consent.text()}`);
  const callbackUrl = consent.headers.get("location")!;
  await o.between?.();
  const cb = await fetch(callbackUrl, { redirect: "manual" });
  return { status: cb.status, page: await cb.text(), authorizeUrl, callbackUrl };
}
