// A companion under test: fakes for every host module, a virtual clock, a linked watch end and a
// fake relay. restart() kills the companion and starts a new one over the same storage.
import { startCompanion, Companion, CompanionOptions } from "../../companion/companion";
import { createSocketPair, SocketPair } from "../fakes/device/messaging";
import { FakeLocalStorage } from "../fakes/companion/local-storage";
import { FakeSettingsStorage } from "../fakes/companion/settings";
import { FakeCompanionMe } from "../fakes/companion/companion";
import { FakePeerDevice } from "../fakes/companion/peer";
import { createVirtualClock, realTurns, VirtualClock } from "../../sim/virtual-clock";
import { FetchFn } from "../../companion/host";
import { startFakeRelay, FakeRelay } from "./fake-relay";
import { isPhoneMsg, PhoneMsg, WatchMsg } from "../../common/protocol";

export const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

export interface Harness {
  relay: FakeRelay;
  clock: VirtualClock;
  link: SocketPair;
  storage: FakeLocalStorage;
  settings: FakeSettingsStorage;
  me: FakeCompanionMe;
  device: FakePeerDevice;
  companion: Companion;
  /** what the watch received, in order */
  toWatch: PhoneMsg[];
  /** the watch sends a message (the link must be open) */
  watchSends(msg: WatchMsg): void;
  restart(): Promise<void>;
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(opts?: CompanionOptions & { open?: boolean; beforeStart?: (h: Harness) => void }): Promise<Harness> {
  const relay = await startFakeRelay();
  const h = {} as Harness;
  h.relay = relay;
  h.clock = createVirtualClock(T0, () => h.settle());
  h.link = createSocketPair();
  h.storage = new FakeLocalStorage();
  h.settings = new FakeSettingsStorage();
  h.me = new FakeCompanionMe();
  h.device = new FakePeerDevice();
  h.device.lastSyncTime = new Date(T0);
  h.toWatch = [];
  h.link.device.addEventListener("message", (e: { data: unknown }) => {
    if (isPhoneMsg(e.data)) h.toWatch.push(e.data);
  });
  h.watchSends = (msg) => h.link.device.send(msg);
  const fetchFn: FetchFn = (url, init) => fetch(url, init as RequestInit) as unknown as ReturnType<FetchFn>;
  let seed = 1;
  const start = () =>
    startCompanion(
      {
        me: h.me,
        socket: h.link.companion,
        settings: h.settings,
        storage: h.storage,
        device: h.device,
        fetch: fetchFn,
        clock: h.clock,
        random: () => ((seed = (seed * 16807) % 2147483647) / 2147483647),
        defaultRelayUrl: relay.url,
        locale: "en-US",
        timezone: "America/New_York",
        utcOffsetMinutes: () => -300,
      },
      opts,
    );
  h.settle = async () => {
    for (let i = 0; i < 5; i++) {
      await realTurns(2);
      await h.companion.idle();
    }
    await realTurns(2);
  };
  h.restart = async () => {
    h.companion.stop();
    h.companion = start();
    await h.settle();
  };
  h.close = async () => {
    h.companion.stop();
    await relay.close();
  };
  if (opts && opts.beforeStart) opts.beforeStart(h);
  if (!opts || opts.open !== false) h.link.open();
  h.companion = start();
  await h.settle();
  return h;
}

export function bat(id: string, lvl: number, extra?: Partial<WatchMsg>): WatchMsg {
  return { v: 1, t: "bat", id, lvl, chg: false, at: Math.floor(T0 / 1000), why: "low", thr: 20, ...(extra as object) } as WatchMsg;
}

export function acksOf(h: Harness): string[] {
  const out: string[] = [];
  for (const m of h.toWatch) if (m.t === "ack") out.push(...m.ids);
  return out;
}
