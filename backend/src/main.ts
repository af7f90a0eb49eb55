// env -> config -> dependencies -> listen -> graceful stop. `--help` lists the settings and exits;
// `--guide` (what `npm start` passes) adds, after the one "listening" line, where to look next.
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import pino from "pino";
import { ConfigError, describeSettings, loadConfig, type Config } from "./config.ts";
import { systemClock } from "./domain/deps.ts";
import { createLogger } from "./http/logger.ts";
import { createOutboxSms } from "./providers/outbox.ts";
import type { SmsProvider } from "./providers/sms.ts";
import { createTwilioSms } from "./providers/twilio.ts";
import { serve } from "./serve.ts";
import { openStore, type Store } from "./store/open-store.ts";

async function createSms(config: Config, store: Store): Promise<SmsProvider> {
  const s = config.sms;
  if (s.provider === "twilio" && s.twilio) {
    // the StatusCallback URL is given per message by the worker (PUBLIC_URL, or where we listen)
    return createTwilioSms({ ...s.twilio, timeoutMs: config.delivery.sendTimeoutMs });
  }
  if (s.provider === "sns" && s.sns) {
    // loaded only when chosen, so the AWS SDK stays out of the default start-up
    const { createSnsSms } = await import("./providers/sns.ts");
    return createSnsSms({ ...s.sns, timeoutMs: config.delivery.sendTimeoutMs });
  }
  return createOutboxSms({ db: store.db, delayMs: s.outboxDelayMs });
}

const ROOT = join(import.meta.dirname ?? __dirname, "..", "..");
const SIDELOADING = "README.md#sideloading-to-a-real-watch";

/** `npm run relay -- --help`: every setting, its default and meaning, grouped. */
export function helpText(): string {
  const settings = describeSettings();
  const width = Math.max(...settings.map((s) => s.name.length));
  const out = [
    "WristRelay relay: receives the watch's events from the phone companion, sends low-battery SMS and daily X posts.",
    "",
    "Usage: npm run relay             (configured only by environment variables)",
    "       npm run relay -- --guide  (as `npm start` runs it: after the URL line, where the watch app, outbox and simulated day are)",
    "       npm run relay -- --help   (this text)",
    "",
    "Environment variables (unset or empty: the default):",
  ];
  let group = "";
  for (const s of settings) {
    if (s.group !== group) {
      group = s.group;
      out.push("", group);
    }
    out.push(`  ${s.name.padEnd(width)}  ${s.meaning.replace(/`/g, "")}`);
    out.push(`  ${"".padEnd(width)}  default: ${s.default === "" ? "(unset)" : s.default}`);
  }
  out.push("", "Bad or missing configuration stops the relay at start with one message listing every problem.");
  return out.join("\n") + "\n";
}

/** `--guide`, the lines after "listening on": where to look next, for someone who just ran `npm start`. */
function banner(config: Config, url: string): string[] {
  const lines: string[] = [];
  const fba = join(ROOT, "build", "app.fba");
  if (existsSync(fba)) lines.push(`  watch app      ${relative(process.cwd(), fba) || fba}  (sideload it: ${SIDELOADING}, or \`npx fitbit\` then \`build-and-install\`)`);
  if (config.sms.provider === "outbox" || config.x.provider === "outbox")
    lines.push(`  outbox         ${url}/dev/outbox  (${[config.sms.provider === "outbox" && "SMS", config.x.provider === "outbox" && "X posts"].filter(Boolean).join(" and ")} recorded here, not sent)`);
  if (config.sms.provider === "outbox")
    lines.push(`  simulated day  npm run sim -- --relay ${url}  (${config.x.provider === "outbox" ? "an SMS and a post show" : "an SMS shows"} on the outbox within a minute)`);
  lines.push(`  settings       npm run relay -- --help`);
  return lines;
}

async function main() {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(helpText());
    process.exit(0);
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + "\n");
      process.exit(2);
    }
    throw err;
  }
  // logs go to stderr: stdout carries the one "listening" line
  const log = createLogger(config.logLevel, pino.destination(2));
  const store = await openStore(config.databaseUrl, { synchronous: config.sqliteSynchronous });
  const sms = await createSms(config, store);
  const relay = await serve({ config, log, store, sms, clock: systemClock });
  const guide = process.argv.includes("--guide") ? banner(config, relay.url) : [];
  process.stdout.write([`WristRelay relay listening on ${relay.url}`, ...guide].map((l) => l + "\n").join(""));
  log.info({ url: relay.url, sms: sms.name, x: relay.deps.x?.name, db: store.dialect }, "relay ready");

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping: finishing in-flight requests and sends");
    const force = setTimeout(() => {
      log.error("graceful stop took too long; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    await relay.stop();
    await store.close();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  whenOrphaned(() => void stop("parent exited"));
}

/** The parent of process `pid`, read from /proc (Linux); undefined elsewhere or once it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * Calls `gone` once whoever started us has exited without passing a signal on (npm killed with
 * SIGKILL; `npx tsx main.ts` stopped with SIGTERM, where the `sh -c` between npx and the tsx CLI dies
 * and tsx, our parent, lives on as an orphan): a relay nobody can reach to stop would hold its port.
 * Not when started by init, systemd or Docker (parent pid 0 or 1).
 */
function whenOrphaned(gone: () => void) {
  const parent = process.ppid;
  if (parent <= 1) return;
  // under the tsx CLI, the process that matters is the one that started tsx
  const underTsxCli = process.execArgv.some((a) => /tsx[\\/]dist[\\/]preflight\.cjs$/.test(a));
  const grandparent = underTsxCli ? parentOf(parent) : undefined;
  const timer = setInterval(() => {
    if (process.ppid !== parent || (grandparent !== undefined && grandparent > 1 && parentOf(parent) !== grandparent)) {
      clearInterval(timer);
      gone();
    }
  }, 1000);
  timer.unref();
}

main().catch((err) => {
  process.stderr.write(`WristRelay relay failed to start: ${(err as Error)?.message ?? err}\n`);
  process.exit(1);
});
