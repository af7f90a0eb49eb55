import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { SmsProvider } from "../providers/sms.ts";
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
  /** called after a transaction that queued a delivery commits, to wake the worker */
  onEnqueue?: () => void;
}
