// Builds the watch's messages. Pure: imports nothing.
import { BatteryMsg, HelloMsg, PROTOCOL_VERSION } from "./protocol";
import { BatteryEvent } from "./battery-policy";

/** "b" + time + random: unique across restarts without a persisted counter; fits isEventId. */
export function makeEventId(prefix: string, nowMs: number, random: number): string {
  const r = Math.floor(random * 1296).toString(36);
  return prefix + Math.floor(nowMs).toString(36) + (r.length < 2 ? "0" + r : r);
}

export function buildBatteryMsg(event: BatteryEvent, id: string, atS: number, left: number | undefined): BatteryMsg {
  const msg: BatteryMsg = { v: PROTOCOL_VERSION, t: "bat", id: id, lvl: event.lvl, chg: event.chg, at: atS, why: event.why };
  if (event.thr !== undefined) msg.thr = event.thr;
  if (left !== undefined && !event.chg) msg.left = left;
  return msg;
}

export function buildHello(lvl: number, chg: boolean, atS: number): HelloMsg {
  return { v: PROTOCOL_VERSION, t: "hi", lvl: lvl, chg: chg, at: atS };
}

/** Serialized size as an upper bound of what crosses the link (CBOR is smaller than JSON). */
export function messageSize(msg: unknown): number {
  return JSON.stringify(msg).length;
}
