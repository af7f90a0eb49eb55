// env -> config -> dependencies -> listen -> graceful stop.
import pino from "pino";
import { ConfigError, loadConfig, type Config } from "./config.ts";
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

async function main() {
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
  process.stdout.write(`WristRelay relay listening on ${relay.url}\n`);
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
}

main().catch((err) => {
  process.stderr.write(`WristRelay relay failed to start: ${(err as Error)?.message ?? err}\n`);
  process.exit(1);
});
