// Fake of "companion": `me` with launchReasons, wakeInterval (refusing < 5 min like the host),
// wakeinterval/unload events and a test API to wake or unload it.

type Listener = (e: unknown) => void;

export class FakeCompanionMe {
  launchReasons: { settingsChanged?: boolean; wokenUp?: boolean; peerAppLaunched?: boolean; fileTransfer?: boolean } = {};
  private interval: number | undefined = undefined;
  private listeners: { [type: string]: Listener[] } = {};
  onwakeinterval: Listener | null = null;
  onunload: Listener | null = null;
  applicationId = "6f3c2a71-9b4e-4d2a-8e55-3c1f0b7d9a42";
  buildId = "0x0";

  get wakeInterval(): number | undefined {
    return this.interval;
  }
  set wakeInterval(ms: number | undefined) {
    if (ms === undefined || ms === null || ms === 0) {
      this.interval = undefined;
      return;
    }
    if (!(ms >= 300000) || !isFinite(ms)) throw new RangeError("wakeInterval must be >= 300000");
    this.interval = ms;
  }
  addEventListener(type: string, l: Listener): void {
    (this.listeners[type] = this.listeners[type] || []).push(l);
  }
  removeEventListener(type: string, l: Listener): void {
    const list = this.listeners[type] || [];
    const i = list.indexOf(l);
    if (i >= 0) list.splice(i, 1);
  }
  yield(): void {}

  private fire(type: string): void {
    for (const l of (this.listeners[type] || []).slice()) l({ type });
    const h = type === "wakeinterval" ? this.onwakeinterval : type === "unload" ? this.onunload : null;
    if (h) h({ type });
  }
  /** test API: the wake interval elapsed while running */
  wake(): void {
    this.launchReasons = { wokenUp: true };
    this.fire("wakeinterval");
  }
  /** test API: the host is about to stop the companion */
  unload(): void {
    this.fire("unload");
  }
}

export function createMe(): FakeCompanionMe {
  return new FakeCompanionMe();
}

export const me = new FakeCompanionMe();
