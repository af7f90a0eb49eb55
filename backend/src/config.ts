// The only reader of process.env: parses the environment once, at start, and reports every problem at once.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";

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
  AWS_REGION: z.string().optional(),
  SNS_ENDPOINT: z.url().optional(),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),

  // Our own knobs (listed in the report): money and abuse limits.
  SMS_DAILY_BUDGET: int(1000, 0),
  SMS_PER_NUMBER_DAILY: int(3, 0),
  REGISTRATIONS_PER_HOUR: int(20, 1),
  CODE_SENDS_PER_NUMBER_HOUR: int(3, 1),
  CODE_SENDS_PER_DEVICE_DAY: int(5, 1),
  TRUST_PROXY: bool(false),
  // Delivery worker
  DELIVERY_POLL_MS: int(500, 10),
  DELIVERY_LEASE_MS: int(30_000, 100),
  DELIVERY_MAX_ATTEMPTS: int(8, 1, 50),
  DELIVERY_CONCURRENCY: int(4, 1, 64),
  SEND_TIMEOUT_MS: int(10_000, 100),
  SILENCE_CHECK_MS: int(60_000, 100),
  OUTBOX_DELAY_MS: int(0, 0, 60_000),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 100),
  SQLITE_SYNCHRONOUS: z.enum(["NORMAL", "FULL"]).default("NORMAL"),
});

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
  mkdirSync(dir, { recursive: true });
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
  if (e0.SMS_PROVIDER === "sns" && !e0.AWS_REGION) problems.push("AWS_REGION: required when SMS_PROVIDER=sns");
  if ((e0.AWS_ACCESS_KEY_ID === undefined) !== (e0.AWS_SECRET_ACCESS_KEY === undefined))
    problems.push("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both or neither");
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
    limits: {
      registrationsPerHour: e.REGISTRATIONS_PER_HOUR,
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
