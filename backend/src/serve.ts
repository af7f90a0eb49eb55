// Wires an app and a delivery worker on a store and listens: shared by main.ts and the test helpers.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createApp } from "./app.ts";
import { publicUrl, type Config } from "./config.ts";
import type { Clock, Deps } from "./domain/deps.ts";
import { createDeliveryWorker, type DeliveryWorker } from "./domain/delivery-worker.ts";
import { checkSilence } from "./domain/silence.ts";
import { createLimiter, type Limiter } from "./domain/limiter.ts";
import type { SmsProvider } from "./providers/sms.ts";
import { createOutboxX, createXClient, type XClient, type XPoster } from "./providers/x.ts";
import { createGoogleHealthClient } from "./providers/google-health.ts";
import { createXSender } from "./domain/x-delivery.ts";
import { runCloudTick } from "./domain/cloud-scheduler.ts";
import { pruneWebhookReplays } from "./domain/twilio-inbound.ts";
import { scrubSentCodes } from "./domain/phone-verification.ts";
import { pruneRetained } from "./domain/retention.ts";
import type { Store } from "./store/open-store.ts";

export interface Running {
  url: string;
  server: Server;
  worker: DeliveryWorker;
  deps: Deps;
  /** stop accepting, finish in-flight requests and the send in flight; queued deliveries stay queued */
  stop(): Promise<void>;
}

export async function serve(o: {
  config: Config;
  log: Logger;
  store: Store;
  sms: SmsProvider;
  clock: Clock;
  /** false: no worker loop at all (tests of crash windows) */
  runWorker?: boolean;
  random?: () => number;
  /** default: from config (X_PROVIDER) */
  x?: Deps["x"];
  /** default: from config (GOOGLE_CLIENT_ID/SECRET); tests may pass a client of their own */
  google?: Deps["google"];
  /** default: from config (REDIS_URL, else the database); one given here is not closed by stop() */
  limiter?: Limiter;
}): Promise<Running> {
  let listening: { host: string; port: number } | undefined;
  const base = () => publicUrl(o.config, listening);
  const limiter = o.limiter ?? (await createLimiter(o));
  const deps: Deps = { config: o.config, log: o.log, store: o.store, sms: o.sms, clock: o.clock, x: o.x ?? createX(o.config, o.store, o.clock), limiter };
  deps.google = o.google ?? (o.config.google.client ? createGoogleHealthClient({ ...o.config.google.client, now: () => o.clock.now().getTime() }) : undefined);
  deps.publicUrl = base;
  const worker = createDeliveryWorker({
    store: o.store,
    sms: o.sms,
    clock: o.clock,
    log: o.log,
    pollMs: o.config.delivery.pollMs,
    leaseMs: o.config.delivery.leaseMs,
    maxAttempts: o.config.delivery.maxAttempts,
    concurrency: o.config.delivery.concurrency,
    sendTimeoutMs: o.config.delivery.sendTimeoutMs,
    random: o.random,
    sendX: createXSender(deps),
    statusCallbackUrl: o.config.sms.provider === "twilio" ? () => base() + "/webhooks/twilio/status" : undefined,
    periodic: [
      { everyMs: o.config.delivery.silenceCheckMs, run: () => checkSilence(deps) },
      { everyMs: 3_600_000, firstAfterMs: 60_000, run: () => housekeeping(o.store, o.clock, o.config.retentionDays, o.log) },
      // the cloud path (Google Health polling and nightly summaries), when a Google client is configured
      ...(deps.google ? [{ everyMs: o.config.google.tickMs, run: () => runCloudTick(deps) }] : []),
    ],
  });
  if (o.runWorker !== false) deps.onEnqueue = () => worker.poke();
  const app = createApp({ ...deps, publicUrl: base });
  const server = createServer(app);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.config.port, o.config.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  listening = { host: o.config.host, port: addr.port };
  const url = `http://${o.config.host.includes(":") ? `[${o.config.host}]` : o.config.host}:${addr.port}`;
  if (o.runWorker !== false) worker.start();
  let stopped: Promise<void> | null = null;
  return {
    url,
    server,
    worker,
    deps,
    stop() {
      stopped ??= (async () => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        await Promise.all([closed, worker.stop()]);
        if (!o.limiter) await limiter.close();
      })();
      return stopped;
    },
  };
}

/** hourly: retention (domain/retention.ts: what is kept and for how long), then the jobs below */
async function housekeeping(store: Store, clock: Clock, retentionDays: number, log: Logger) {
  await pruneRetained({ store, clock, retentionDays, log });
  await pruneWebhookReplays(store.db, new Date(clock.now().getTime() - retentionDays * 86_400_000));
  await scrubSentCodes(store.db, clock.now());
}

/** X_PROVIDER=x: the real client; outbox: posts are recorded in x_outbox_posts (shown on /dev/outbox). */
export function createX(config: Config, store: Store, clock: Clock): XClient | (XPoster & { readonly name: "outbox" }) {
  if (config.x.provider === "x" && config.x.client) {
    // posts are bounded by the worker's SEND_TIMEOUT_MS signal; linking and refresh by the client's own 10 s
    return createXClient({ ...config.x.client, now: () => clock.now().getTime() });
  }
  return createOutboxX({
    now: () => clock.now(),
    onPost: async (p) => {
      await store.db.insertInto("x_outbox_posts").values({ id: p.id, device_id: null, text: p.text, created_at: p.at.toISOString() }).execute();
    },
  });
}
