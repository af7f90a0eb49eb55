// The only reader of process.env: parses the environment once, at start, and reports every problem at once.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { createDataFolder } from "./store/folder.ts";

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

const bool = (def: boolean) =>
  z
    .enum(["true", "false", "1", "0"])
    .default(def ? "true" : "false")
    .transform((v) => v === "true" || v === "1");

const EnvSchema = z.object({
  NODE_ENV: z.string().default("development"),
  PORT: int(8787, 0, 65535),
  HOST: z.string().min(1).default("127.0.0.1"),
  PUBLIC_URL: z.url().optional(),
  DATABASE_URL: z
    .string()
    .default("file:data/relay.db")
    .refine((v) => v.startsWith("file:") || /^postgres(ql)?:\/\//.test(v), "must be file:PATH or postgres://..."),
  RELAY_SECRET: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "must be 32 bytes, base64-encoded")
    .optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  SMS_PROVIDER: z.enum(["outbox", "twilio", "sns"]).default("outbox"),
  SMS_COUNTRIES: z
    .string()
    .default("US,CA,GB,JP,DE,FR,AU")
    .transform((v) => v.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean))
    .refine((a) => a.length > 0 && a.every((c) => /^[A-Z]{2}$/.test(c)), "must be ISO 3166 alpha-2 codes, comma-separated"),
  TWILIO_ACCOUNT_SID: z.string().optional(),
  TWILIO_AUTH_TOKEN: z.string().optional(),
  TWILIO_FROM: z.string().optional(),
  TWILIO_MESSAGING_SERVICE_SID: z.string().optional(),
  TWILIO_API_URL: z.url().default("https://api.twilio.com"),
  X_PROVIDER: z.enum(["outbox", "x"]).default("outbox"),
  X_CLIENT_ID: z.string().optional(),
  X_CLIENT_SECRET: z.string().optional(),
  X_API_URL: z.url().default("https://api.x.com"),
  X_AUTHORIZE_URL: z.url().default("https://x.com/i/oauth2/authorize"),
  X_DAILY_POST_BUDGET: int(500, 0),
  X_POSTS_PER_ACCOUNT_DAILY: int(4, 0),
  GOOGLE_CLIENT_ID: z.string().optional(),
  GOOGLE_CLIENT_SECRET: z.string().optional(),
  GOOGLE_AUTH_URL: z.url().default("https://accounts.google.com/o/oauth2/v2/auth"),
  GOOGLE_TOKEN_URL: z.url().default("https://oauth2.googleapis.com/token"),
  GOOGLE_REVOKE_URL: z.url().default("https://oauth2.googleapis.com/revoke"),
  GOOGLE_HEALTH_API_URL: z.url().default("https://health.googleapis.com"),
  AWS_REGION: z.string().optional(),
  SNS_ENDPOINT: z.url().optional(),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),

  // Our own knobs (listed in the report): money and abuse limits.
  SMS_DAILY_BUDGET: int(1000, 0),
  SMS_PER_NUMBER_DAILY: int(3, 0),
  // default by NODE_ENV, see limits.registrationsPerHour below
  REGISTRATIONS_PER_HOUR: z.coerce.number().int().min(1).optional(),
  CODE_SENDS_PER_NUMBER_HOUR: int(3, 1),
  CODE_SENDS_PER_DEVICE_DAY: int(5, 1),
  TRUST_PROXY: bool(false),
  // Delivery worker
  DELIVERY_POLL_MS: int(500, 10),
  DELIVERY_LEASE_MS: int(30_000, 100),
  DELIVERY_MAX_ATTEMPTS: int(8, 1, 50),
  // 16: a send spends most of its time waiting on X, and 4 in flight capped one process well below X's 500 posts/s
  DELIVERY_CONCURRENCY: int(16, 1, 64),
  SEND_TIMEOUT_MS: int(10_000, 100),
  SILENCE_CHECK_MS: int(60_000, 100),
  OUTBOX_DELAY_MS: int(0, 0, 60_000),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 100),
  SQLITE_SYNCHRONOUS: z.enum(["NORMAL", "FULL"]).default("NORMAL"),
  // Cloud path (Google Health): polling and nightly summaries
  CLOUD_POLL_MINUTES: int(30, 5, 1440),
  CLOUD_TICK_MS: int(15_000, 10),
  GOOGLE_USER_QPM: int(300, 1),
  GOOGLE_PROJECT_QPM: int(120_000, 1),
  GOOGLE_USER_CAP: int(100, 0),
  CLOUD_SUMMARY_RETRY_MINUTES: int(30, 1, 1440),
  CLOUD_SUMMARY_MAX_WAIT_HOURS: int(12, 1, 72),
  // Operations
  ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  RETENTION_DAYS: int(30, 1, 3650),
  REDIS_URL: z
    .string()
    .refine((v) => /^rediss?:\/\//.test(v), "must be redis://... or rediss://...")
    .optional(),
});

export type SettingName = keyof typeof EnvSchema.shape;

export interface SettingDoc {
  group: string;
  meaning: string;
  /** shown instead of the schema's default when the default is worked out at start */
  shownDefault?: string;
}

/** What each variable means, beside the schema so that `--help`, the README and the schema cannot drift apart. */
const SETTING_DOCS: Record<SettingName, SettingDoc> = {
  NODE_ENV: { group: "Listening", meaning: "`production` makes RELAY_SECRET (and PUBLIC_URL with Twilio) required" },
  PORT: { group: "Listening", meaning: "port to listen on (0 picks a free port)" },
  HOST: { group: "Listening", meaning: "address to listen on (0.0.0.0 in a container)" },
  PUBLIC_URL: {
    group: "Listening",
    meaning: "base of the links the relay hands out (X and Google callbacks, pages) and of the URLs Twilio signs",
    shownDefault: "http://HOST:PORT",
  },
  DATABASE_URL: { group: "Storage", meaning: "`file:PATH` for SQLite, `postgres://...` for PostgreSQL" },
  SQLITE_SYNCHRONOUS: { group: "Storage", meaning: "`FULL` also survives power loss, at a cost per write" },
  RELAY_SECRET: {
    group: "Storage",
    meaning: "base64 of 32 random bytes: encrypts tokens at rest, hashes codes; required when NODE_ENV=production",
    shownDefault: "generated once into the data folder (development)",
  },
  RETENTION_DAYS: { group: "Storage", meaning: "days a wearer's events, deliveries and recorded messages are kept before they are erased" },
  SMS_PROVIDER: { group: "SMS", meaning: "`outbox` (records, sends nothing: see /dev/outbox), `twilio` or `sns`" },
  SMS_COUNTRIES: { group: "SMS", meaning: "ISO countries a number may belong to; others are refused" },
  TWILIO_ACCOUNT_SID: { group: "SMS", meaning: "Twilio account (AC...); required with SMS_PROVIDER=twilio" },
  TWILIO_AUTH_TOKEN: { group: "SMS", meaning: "Twilio auth token: authenticates API calls and checks webhook signatures" },
  TWILIO_FROM: { group: "SMS", meaning: "Twilio sender number (E.164); this or TWILIO_MESSAGING_SERVICE_SID" },
  TWILIO_MESSAGING_SERVICE_SID: { group: "SMS", meaning: "Twilio Messaging Service (MG...) to send from instead of one number" },
  TWILIO_API_URL: { group: "SMS", meaning: "base URL of the Twilio REST API" },
  AWS_REGION: { group: "SMS", meaning: "Amazon SNS region; required with SMS_PROVIDER=sns" },
  SNS_ENDPOINT: { group: "SMS", meaning: "SNS endpoint override (a local SNS, or a VPC endpoint)" },
  AWS_ACCESS_KEY_ID: { group: "SMS", meaning: "SNS credentials (both or neither; otherwise the usual AWS chain)" },
  AWS_SECRET_ACCESS_KEY: { group: "SMS", meaning: "SNS credentials (both or neither; otherwise the usual AWS chain)" },
  SMS_DAILY_BUDGET: { group: "Limits", meaning: "SMS sent per day in all; when spent the relay stops sending and logs at fatal level" },
  SMS_PER_NUMBER_DAILY: { group: "Limits", meaning: "alerts per phone number per day" },
  REGISTRATIONS_PER_HOUR: {
    group: "Limits",
    meaning: "registrations per client address per hour (in development a tool or test suite on the same machine may register many wearers)",
    shownDefault: "20 (1000 when NODE_ENV is not production)",
  },
  CODE_SENDS_PER_NUMBER_HOUR: { group: "Limits", meaning: "confirmation codes sent per number per hour" },
  CODE_SENDS_PER_DEVICE_DAY: { group: "Limits", meaning: "confirmation codes sent per wearer per day" },
  TRUST_PROXY: { group: "Limits", meaning: "take the client address from X-Forwarded-For (behind a load balancer)" },
  X_PROVIDER: { group: "X", meaning: "`outbox` (posts recorded on /dev/outbox, no X account needed) or `x`" },
  X_CLIENT_ID: { group: "X", meaning: "X OAuth 2.0 client id; required with X_PROVIDER=x" },
  X_CLIENT_SECRET: { group: "X", meaning: "X OAuth 2.0 client secret (confidential client); required with X_PROVIDER=x" },
  X_API_URL: { group: "X", meaning: "base of /2/tweets, /2/oauth2/token, /2/users/me" },
  X_AUTHORIZE_URL: { group: "X", meaning: "where the wearer is sent to approve posting" },
  X_DAILY_POST_BUDGET: { group: "X", meaning: "posts per day in all (X charges per post)" },
  X_POSTS_PER_ACCOUNT_DAILY: { group: "X", meaning: "posts per linked account per day" },
  GOOGLE_CLIENT_ID: { group: "Google Health", meaning: "Google OAuth 2.0 web-application client id; with the secret, turns the cloud path on" },
  GOOGLE_CLIENT_SECRET: { group: "Google Health", meaning: "Google OAuth 2.0 client secret (both or neither)" },
  GOOGLE_AUTH_URL: { group: "Google Health", meaning: "where the wearer is sent to consent" },
  GOOGLE_TOKEN_URL: { group: "Google Health", meaning: "Google's token endpoint" },
  GOOGLE_REVOKE_URL: { group: "Google Health", meaning: "Google's token revocation endpoint" },
  GOOGLE_HEALTH_API_URL: { group: "Google Health", meaning: "base of the Google Health API (/v4/users/me/...)" },
  CLOUD_POLL_MINUTES: { group: "Google Health", meaning: "minutes between polls of a linked wearer's devices" },
  CLOUD_TICK_MS: { group: "Google Health", meaning: "how often the poller looks for wearers due a poll" },
  GOOGLE_USER_QPM: { group: "Google Health", meaning: "Google Health API calls per minute per wearer" },
  GOOGLE_PROJECT_QPM: { group: "Google Health", meaning: "Google Health API calls per minute for the whole relay" },
  GOOGLE_USER_CAP: {
    group: "Google Health",
    meaning: "most wearers with Google Health connected (Google caps an unverified client at 100 users); 0: no cap, once the client is verified",
  },
  CLOUD_SUMMARY_RETRY_MINUTES: { group: "Google Health", meaning: "minutes between tries to fetch yesterday's totals" },
  CLOUD_SUMMARY_MAX_WAIT_HOURS: { group: "Google Health", meaning: "hours to keep trying for yesterday's totals before giving up on the day" },
  DELIVERY_POLL_MS: { group: "Delivery worker", meaning: "how often the worker looks for due deliveries" },
  DELIVERY_LEASE_MS: { group: "Delivery worker", meaning: "how long a claimed delivery stays claimed before another worker may retry it" },
  DELIVERY_MAX_ATTEMPTS: { group: "Delivery worker", meaning: "attempts before a delivery is dead-lettered" },
  DELIVERY_CONCURRENCY: { group: "Delivery worker", meaning: "sends in flight at once per relay process" },
  SEND_TIMEOUT_MS: { group: "Delivery worker", meaning: "time limit of one call to Twilio, SNS or X (at most half of `DELIVERY_LEASE_MS`)" },
  SILENCE_CHECK_MS: { group: "Delivery worker", meaning: "how often the relay looks for watches that went silent" },
  OUTBOX_DELAY_MS: { group: "Delivery worker", meaning: "artificial latency of the outbox providers (to watch retries in development)" },
  LOG_LEVEL: { group: "Operations", meaning: "pino level; tokens, codes and phone numbers are never logged" },
  SHUTDOWN_TIMEOUT_MS: { group: "Operations", meaning: "on SIGTERM, how long to finish in-flight requests and sends before exiting" },
  ADMIN_TOKEN: { group: "Operations", meaning: "bearer token of the operator page /admin (16 characters or more); unset: the page is off" },
  REDIS_URL: { group: "Operations", meaning: "redis:// or rediss://: rate limits shared by every relay process; unset: kept in the database" },
};

/** Every setting with its group, default (as text; "" when unset) and meaning, grouped, in schema order within a group. */
export function describeSettings(): { name: SettingName; group: string; default: string; meaning: string }[] {
  const groups = [...new Set(Object.values(SETTING_DOCS).map((d) => d.group))];
  const all = (Object.keys(EnvSchema.shape) as SettingName[]).map((name) => {
    const doc = SETTING_DOCS[name];
    return { name, group: doc.group, default: doc.shownDefault ?? schemaDefault(EnvSchema.shape[name]), meaning: doc.meaning };
  });
  return groups.flatMap((g) => all.filter((s) => s.group === g));
}

/** The default a field declares with .default(), looked up through .transform() and .optional(). */
function schemaDefault(field: z.ZodType): string {
  let def = (field as unknown as { _zod: { def: ZodDefLike } })._zod.def;
  for (let i = 0; i < 8 && def; i++) {
    if (def.type === "default") return String(def.defaultValue);
    const next = def.in ?? def.innerType;
    if (!next) break;
    def = next._zod.def;
  }
  return "";
}
interface ZodDefLike {
  type: string;
  defaultValue?: unknown;
  in?: { _zod: { def: ZodDefLike } };
  innerType?: { _zod: { def: ZodDefLike } };
}

export interface Config {
  env: string;
  port: number;
  host: string;
  publicUrl: string | undefined;
  databaseUrl: string;
  secret: Buffer;
  logLevel: string;
  sms: {
    provider: "outbox" | "twilio" | "sns";
    countries: string[];
    dailyBudget: number;
    perNumberDaily: number;
    outboxDelayMs: number;
    twilio?: { accountSid: string; authToken: string; from?: string; messagingServiceSid?: string; baseUrl: string };
    sns?: { region: string; endpoint?: string; credentials?: { accessKeyId: string; secretAccessKey: string } };
  };
  x: {
    provider: "outbox" | "x";
    dailyBudget: number;
    perAccountDaily: number;
    client?: { clientId: string; clientSecret: string; apiUrl: string; authorizeUrl: string };
  };
  google: {
    /** set when GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are: the cloud path is on */
    client?: { clientId: string; clientSecret: string; authUrl: string; tokenUrl: string; revokeUrl: string; apiUrl: string };
    pollMinutes: number;
    tickMs: number;
    userQpm: number;
    projectQpm: number;
    /** most wearers with Google connected; 0: no cap */
    userCap: number;
    summaryRetryMinutes: number;
    summaryMaxWaitHours: number;
  };
  admin: { token?: string };
  retentionDays: number;
  redisUrl?: string;
  limits: {
    registrationsPerHour: number;
    codeSendsPerNumberHour: number;
    codeSendsPerDeviceDay: number;
  };
  trustProxy: boolean;
  delivery: {
    pollMs: number;
    leaseMs: number;
    maxAttempts: number;
    concurrency: number;
    sendTimeoutMs: number;
    silenceCheckMs: number;
  };
  shutdownTimeoutMs: number;
  sqliteSynchronous: "NORMAL" | "FULL";
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super("WristRelay relay: bad configuration:\n" + problems.map((p) => "  - " + p).join("\n"));
    this.name = "ConfigError";
  }
}

/** The data folder: beside the SQLite file, or ./data for PostgreSQL. */
export function dataDir(databaseUrl: string): string {
  return databaseUrl.startsWith("file:") ? dirname(resolve(databaseUrl.slice(5))) : resolve("data");
}

/** In development a secret is generated once into the data folder and reused. */
function devSecret(databaseUrl: string): Buffer {
  const dir = dataDir(databaseUrl);
  const file = join(dir, "relay-secret");
  if (existsSync(file)) return Buffer.from(readFileSync(file, "utf8").trim(), "base64");
  createDataFolder(dir);
  const key = randomBytes(32);
  writeFileSync(file, key.toString("base64") + "\n", { mode: 0o600 });
  return key;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as shells and .env files often leave them.
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") clean[k] = v;
  const parsed = EnvSchema.safeParse(clean);
  const problems: string[] = [];
  if (!parsed.success) for (const issue of parsed.error.issues) problems.push(`${issue.path.join(".")}: ${issue.message}`);
  // Rules across variables, checked on the raw values so that one message lists everything.
  const e0 = clean;
  const production = e0.NODE_ENV === "production";
  if (production && !e0.RELAY_SECRET) problems.push("RELAY_SECRET: required when NODE_ENV=production (base64 of 32 random bytes)");
  if (e0.SMS_PROVIDER === "twilio") {
    if (!e0.TWILIO_ACCOUNT_SID) problems.push("TWILIO_ACCOUNT_SID: required when SMS_PROVIDER=twilio");
    else if (!e0.TWILIO_ACCOUNT_SID.startsWith("AC")) problems.push("TWILIO_ACCOUNT_SID: must start with AC");
    if (!e0.TWILIO_AUTH_TOKEN) problems.push("TWILIO_AUTH_TOKEN: required when SMS_PROVIDER=twilio");
    if (!e0.TWILIO_FROM && !e0.TWILIO_MESSAGING_SERVICE_SID)
      problems.push("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID: one is required when SMS_PROVIDER=twilio");
    if (production && !e0.PUBLIC_URL) problems.push("PUBLIC_URL: required in production with Twilio (webhook signatures are checked against it)");
  }
  if (e0.X_PROVIDER === "x") {
    if (!e0.X_CLIENT_ID) problems.push("X_CLIENT_ID: required when X_PROVIDER=x");
    if (!e0.X_CLIENT_SECRET) problems.push("X_CLIENT_SECRET: required when X_PROVIDER=x");
  }
  if ((e0.GOOGLE_CLIENT_ID === undefined) !== (e0.GOOGLE_CLIENT_SECRET === undefined))
    problems.push("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET: set both or neither");
  if (e0.SMS_PROVIDER === "sns" && !e0.AWS_REGION) problems.push("AWS_REGION: required when SMS_PROVIDER=sns");
  if ((e0.AWS_ACCESS_KEY_ID === undefined) !== (e0.AWS_SECRET_ACCESS_KEY === undefined))
    problems.push("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both or neither");
  if (parsed.success && parsed.data.SEND_TIMEOUT_MS * 2 > parsed.data.DELIVERY_LEASE_MS)
    problems.push(
      `SEND_TIMEOUT_MS: must be at most half of DELIVERY_LEASE_MS (${parsed.data.DELIVERY_LEASE_MS} ms): a retried SMS may ask the provider and then send, and both calls must end before its claim runs out, or another process could send it again`,
    );
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;

  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ""),
    databaseUrl: e.DATABASE_URL,
    secret: e.RELAY_SECRET ? Buffer.from(e.RELAY_SECRET, "base64") : devSecret(e.DATABASE_URL),
    logLevel: e.LOG_LEVEL,
    sms: {
      provider: e.SMS_PROVIDER,
      countries: e.SMS_COUNTRIES,
      dailyBudget: e.SMS_DAILY_BUDGET,
      perNumberDaily: e.SMS_PER_NUMBER_DAILY,
      outboxDelayMs: e.OUTBOX_DELAY_MS,
      twilio:
        e.SMS_PROVIDER === "twilio"
          ? {
              accountSid: e.TWILIO_ACCOUNT_SID!,
              authToken: e.TWILIO_AUTH_TOKEN!,
              from: e.TWILIO_FROM,
              messagingServiceSid: e.TWILIO_MESSAGING_SERVICE_SID,
              baseUrl: e.TWILIO_API_URL.replace(/\/+$/, ""),
            }
          : undefined,
      sns:
        e.SMS_PROVIDER === "sns"
          ? {
              region: e.AWS_REGION!,
              endpoint: e.SNS_ENDPOINT,
              credentials:
                e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY
                  ? { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY }
                  : undefined,
            }
          : undefined,
    },
    x: {
      provider: e.X_PROVIDER,
      dailyBudget: e.X_DAILY_POST_BUDGET,
      perAccountDaily: e.X_POSTS_PER_ACCOUNT_DAILY,
      client:
        e.X_PROVIDER === "x"
          ? { clientId: e.X_CLIENT_ID!, clientSecret: e.X_CLIENT_SECRET!, apiUrl: e.X_API_URL, authorizeUrl: e.X_AUTHORIZE_URL }
          : undefined,
    },
    google: {
      client:
        e.GOOGLE_CLIENT_ID && e.GOOGLE_CLIENT_SECRET
          ? {
              clientId: e.GOOGLE_CLIENT_ID,
              clientSecret: e.GOOGLE_CLIENT_SECRET,
              authUrl: e.GOOGLE_AUTH_URL,
              tokenUrl: e.GOOGLE_TOKEN_URL,
              revokeUrl: e.GOOGLE_REVOKE_URL,
              apiUrl: e.GOOGLE_HEALTH_API_URL.replace(/\/+$/, ""),
            }
          : undefined,
      pollMinutes: e.CLOUD_POLL_MINUTES,
      tickMs: e.CLOUD_TICK_MS,
      userQpm: e.GOOGLE_USER_QPM,
      projectQpm: e.GOOGLE_PROJECT_QPM,
      userCap: e.GOOGLE_USER_CAP,
      summaryRetryMinutes: e.CLOUD_SUMMARY_RETRY_MINUTES,
      summaryMaxWaitHours: e.CLOUD_SUMMARY_MAX_WAIT_HOURS,
    },
    admin: { token: e.ADMIN_TOKEN },
    retentionDays: e.RETENTION_DAYS,
    redisUrl: e.REDIS_URL,
    limits: {
      registrationsPerHour: e.REGISTRATIONS_PER_HOUR ?? (e.NODE_ENV === "production" ? 20 : 1000),
      codeSendsPerNumberHour: e.CODE_SENDS_PER_NUMBER_HOUR,
      codeSendsPerDeviceDay: e.CODE_SENDS_PER_DEVICE_DAY,
    },
    trustProxy: e.TRUST_PROXY,
    delivery: {
      pollMs: e.DELIVERY_POLL_MS,
      leaseMs: e.DELIVERY_LEASE_MS,
      maxAttempts: e.DELIVERY_MAX_ATTEMPTS,
      concurrency: e.DELIVERY_CONCURRENCY,
      sendTimeoutMs: e.SEND_TIMEOUT_MS,
      silenceCheckMs: e.SILENCE_CHECK_MS,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    sqliteSynchronous: e.SQLITE_SYNCHRONOUS,
  };
}

/** PUBLIC_URL, or where we actually listen when it is unset. */
export function publicUrl(config: Config, listening?: { host: string; port: number }): string {
  return config.publicUrl ?? `http://${listening?.host ?? config.host}:${listening?.port ?? config.port}`;
}
