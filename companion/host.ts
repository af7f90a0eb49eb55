// The host APIs the companion core uses, as plain interfaces: index.ts passes Fitbit's real
// modules, tests and the simulation pass fakes. Structural, so it needs no platform typings.

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface StorageChange {
  key: string | null;
  oldValue: string | null;
  newValue: string | null;
}

export interface SettingsStore extends KeyValueStore {
  addEventListener(type: "change", listener: (e: StorageChange) => void): void;
  removeEventListener(type: "change", listener: (e: StorageChange) => void): void;
}

export interface SocketLike {
  readonly readyState: unknown;
  readonly OPEN: unknown;
  send(data: unknown): void;
  addEventListener(type: string, listener: (e: any) => void): void;
  removeEventListener(type: string, listener: (e: any) => void): void;
}

export interface CompanionMe {
  readonly launchReasons: { settingsChanged?: boolean; wokenUp?: boolean; peerAppLaunched?: boolean };
  wakeInterval: number | undefined;
  addEventListener(type: "wakeinterval" | "unload", listener: (e: unknown) => void): void;
  removeEventListener(type: "wakeinterval" | "unload", listener: (e: unknown) => void): void;
}

export interface PeerDeviceLike {
  readonly batteryLevel: string | number;
  readonly lastSyncTime: Date | null | undefined;
  readonly modelName?: string;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface HttpResponse {
  readonly status: number;
  text(): Promise<string>;
}

export type FetchFn = (
  url: string,
  init: { method: string; headers: { [k: string]: string }; body?: string; signal?: unknown },
) => Promise<HttpResponse>;

export interface CompanionHost {
  me: CompanionMe;
  socket: SocketLike;
  settings: SettingsStore;
  storage: KeyValueStore;
  device: PeerDeviceLike;
  fetch: FetchFn;
  clock: Clock;
  /** 0 <= random() < 1, for jitter */
  random(): number;
  /** the build's relay URL, used when the wearer set none */
  defaultRelayUrl: string;
  /** the phone's language tag (user-settings locale) */
  locale: string;
  /** IANA time zone of the phone */
  timezone: string;
  /** minutes east of UTC at a given time, for local dates (default: the host's own) */
  utcOffsetMinutes?(atMs: number): number;
}
