import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { Limiter } from "./limiter.ts";
import type { SmsProvider } from "../providers/sms.ts";
import type { XClient, XPoster } from "../providers/x.ts";
import type { GoogleHealthClient } from "../providers/google-health.ts";
import type { Store } from "../store/open-store.ts";

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface Deps {
  config: Config;
  log: Logger;
  store: Store;
  sms: SmsProvider;
  clock: Clock;
  /** X_PROVIDER=x: the real client; outbox: records the posts of every wearer with posts on (linking uses x-outbox.ts) */
  x?: XClient | (XPoster & { readonly name: "outbox" });
  /** sliding-window abuse limits (database, or Redis when REDIS_URL is set) */
  limiter: Limiter;
  /** set when GOOGLE_CLIENT_ID/SECRET are: the Google Health API client (linking, cloud polling) */
  google?: GoogleHealthClient;
  /** base of the links the relay hands out (PUBLIC_URL, or where it listens) */
  publicUrl?: () => string;
  /** called after a transaction that queued a delivery commits, to wake the worker */
  onEnqueue?: () => void;
}
