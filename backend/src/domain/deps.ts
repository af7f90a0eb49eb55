import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { SmsProvider } from "../providers/sms.ts";
import type { XClient, XPoster } from "../providers/x.ts";
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
  /** X_PROVIDER=x: the real client; outbox: records the posts of every wearer with posts on (nothing to link) */
  x?: XClient | (XPoster & { readonly name: "outbox" });
  /** called after a transaction that queued a delivery commits, to wake the worker */
  onEnqueue?: () => void;
}
