// Runs the real watch code against the device fakes with a controllable clock.
import * as activity from "user-activity";
import * as appbit from "appbit";
import * as clock from "clock";
import * as display from "display";
import * as documentFake from "document";
import * as fs from "fs";
import * as i18n from "i18n";
import * as messaging from "messaging";
import * as power from "power";
import * as sleep from "sleep";
import * as userSettings from "user-settings";
import { startWatch, Watch } from "../../app/watch";

export { activity, clock, display, documentFake, fs, i18n, messaging, power, sleep, userSettings };

/** Wipes every fake, including the watch's files: a freshly installed face. */
export function resetDevice(): void {
  clock.__reset();
  display.__reset();
  power.__reset();
  sleep.__reset();
  activity.__reset();
  userSettings.__reset();
  i18n.__reset();
  documentFake.__reset();
  messaging.__reset();
  appbit.__reset();
  fs.__reset();
}

export interface TestWatch {
  /** the simulated wall clock, epoch ms */
  now: number;
  watch: Watch;
  /** moves the clock, then ticks (which the fake drops while the display is off) */
  at: (date: Date) => void;
  /** stops the face and starts it again on the same files, like a reboot */
  restart: () => void;
}

export function startTestWatch(start: Date): TestWatch {
  let n = 0;
  const tw: TestWatch = {
    now: start.getTime(),
    watch: null as unknown as Watch,
    at(date: Date) {
      tw.now = date.getTime();
      clock.__tick(date);
    },
    restart() {
      tw.watch.stop();
      tw.watch = boot();
    },
  };
  const boot = (): Watch => startWatch({ now: () => tw.now, random: () => ((n = (n * 7 + 3) % 1296), n / 1296) });
  tw.watch = boot();
  return tw;
}

/** A test peer playing the companion on the other end of the link: records and (optionally) acks. */
export function attachPhone(opts: { ack: boolean }) {
  const peer = messaging.__peer();
  const received: any[] = [];
  peer.addEventListener("message", (evt: { data: any }) => {
    received.push(evt.data);
    if (opts.ack && typeof evt.data.id === "string") peer.send({ v: 1, t: "ack", ids: [evt.data.id] });
  });
  return {
    received,
    send: (msg: unknown) => peer.send(msg),
    ofType: (t: string) => received.filter((m) => m.t === t),
  };
}

export function text(id: string): string {
  return documentFake.__el(id).text;
}
