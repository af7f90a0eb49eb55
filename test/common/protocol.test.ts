import { describe, expect, it } from "vitest";
import { isPhoneMsg, isWatchMsg } from "../../common/protocol";

const bat = { v: 1, t: "bat", id: "b1", lvl: 20, chg: false, at: 1_700_000_000, why: "low", thr: 20, left: 90 };
const sum = { v: 1, t: "sum", id: "s20261121", d: "2026-11-21", st: 8100, dm: 6075, cal: 1500, fl: 5, azm: 13, slp: 400 };
const hi = { v: 1, t: "hi", lvl: 80, chg: false, at: 1_700_000_000 };

describe("protocol guards", () => {
  it.each([
    ["a battery alert", bat, true],
    ["a summary", sum, true],
    ["a hello", hi, true],
    ["a summary without floors", { ...sum, fl: undefined }, true],
    ["another version", { ...bat, v: 2 }, false],
    ["an unknown type", { ...bat, t: "zap" }, false],
    ["a level above 100", { ...bat, lvl: 101 }, false],
    ["NaN as level", { ...bat, lvl: NaN }, false],
    ["an id with spaces", { ...bat, id: "a b" }, false],
    ["an unknown reason", { ...bat, why: "meh" }, false],
    ["a bad date", { ...sum, d: "21/11/2026" }, false],
    ["an array", [bat], false],
    ["null", null, false],
    ["a string", "bat", false],
  ])("when the companion receives %s, then isWatchMsg says %s", (_n, msg, ok) => {
    expect(isWatchMsg(msg)).toBe(ok);
  });

  it.each([
    ["an ack", { v: 1, t: "ack", ids: ["b1", "s20261121"] }, true],
    ["an ack with a bad id", { v: 1, t: "ack", ids: ["b 1"] }, false],
    ["an ack of too many ids", { v: 1, t: "ack", ids: Array.from({ length: 65 }, (_, i) => "b" + i) }, false],
    ["settings", { v: 1, t: "set", s: { thr: [20, 10], u: "km", lang: "ja-JP", h24: true } }, true],
    ["settings with a 0 % threshold", { v: 1, t: "set", s: { thr: [0], u: "km", lang: "en-US", h24: true } }, false],
    ["settings in furlongs", { v: 1, t: "set", s: { thr: [20], u: "fur", lang: "en-US", h24: true } }, false],
    ["a result", { v: 1, t: "res", id: "b1", k: "sms_sent", at: 1_700_000_000 }, true],
    ["a result of an unknown kind", { v: 1, t: "res", k: "sms_teleported", at: 1 }, false],
    ["undefined", undefined, false],
  ])("when the watch receives %s, then isPhoneMsg says %s", (_n, msg, ok) => {
    expect(isPhoneMsg(msg)).toBe(ok);
  });
});
