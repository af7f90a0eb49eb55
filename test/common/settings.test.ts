import { describe, expect, it } from "vitest";
import { DEFAULTS, parseBool, parseGoogleStatus, parseLanguage, parseThresholds, parseTime, parseXStatus } from "../../common/settings";
import { resolveWatchSettings } from "../../common/watch-settings";

describe("settings parsing", () => {
  it.each([
    [undefined, [20, 10]],
    ['{"selected":[0,4],"values":[{"name":"50 %","value":50},{},{},{},{"name":"20 %","value":20}]}', [50, 20]],
    ["[10, 20]", [20, 10]],
    ['"15, 5"', [15, 5]],
    ["20%", [20]],
  ])("when thresholds are stored as %s, then the watch uses %j", (raw, value) => {
    expect(parseThresholds(raw)).toEqual({ ok: true, value });
  });

  it.each([["0"], ["[100]"], ['"abc"'], ["[50,40,30,20,10]"]])("when thresholds are %s, then they are refused with a reason", (raw) => {
    const r = parseThresholds(raw);
    expect(r.ok).toBe(false);
  });

  it.each([
    ["true", true],
    ['"false"', false],
    [null, true],
  ])("when a toggle holds %s, then it reads %s", (raw, v) => {
    expect(parseBool(raw, true)).toBe(v);
  });

  it.each([
    ['{"selected":[1],"values":[{"name":"English","value":"en-US"},{"name":"日本語","value":"ja-JP"}]}', "ja-JP"],
    ["fr-FR", "en-US"],
  ])("when the language is %s, then it is %s", (raw, lang) => {
    expect(parseLanguage(raw)).toBe(lang);
  });

  it("when a time is typed as 7:30, then it is refused; 07:30 is accepted", () => {
    expect(parseTime("7:30").ok).toBe(false);
    expect(parseTime('{"name":"07:30"}')).toEqual({ ok: true, value: "07:30" });
  });
});

describe("the watch's settings", () => {
  it.each([
    ["when nothing came from the phone on a 12 h US watch, then 12 h and miles", undefined, { clockDisplay: "12h", distance: "us" }, { thr: DEFAULTS.thresholds, u: "mi", lang: "en-US", h24: false }],
    ["when nothing came from the phone on a 24 h metric watch, then 24 h and km", undefined, { clockDisplay: "24h", distance: "metric" }, { thr: [20, 10], u: "km", lang: "en-US", h24: true }],
    ["when the phone sent settings, then they win", { thr: [30], u: "km", lang: "ja-JP", h24: true }, { clockDisplay: "12h", distance: "us" }, { thr: [30], u: "km", lang: "ja-JP", h24: true }],
    ["when the stored settings are damaged, then the watch's own are used", { thr: "x" }, { clockDisplay: "24h", distance: "us" }, { thr: [20, 10], u: "mi", lang: "en-US", h24: true }],
  ])("%s", (_n, stored, prefs, expected) => {
    expect(resolveWatchSettings(stored, prefs)).toEqual(expected);
  });
});

describe("the Google Health link status", () => {
  it.each([
    ['{"state":"linked","granted":{"activity":true,"sleep":false,"settings":true},"at":5}', { state: "linked", granted: { activity: true, sleep: false, settings: true }, at: 5 }],
    ['{"state":"broken"}', { state: "broken" }],
    ['{"state":"open_url","url":"https://relay.example/google/start?flow=a"}', { state: "open_url", url: "https://relay.example/google/start?flow=a" }],
    ['{"state":"open_url","url":"javascript:alert(1)"}', { state: "open_url" }],
    ['{"state":"linked","granted":{"activity":"yes"}}', { state: "linked", granted: { activity: false, sleep: false, settings: false } }],
    ['{"state":"hacked"}', { state: "none" }],
    ["{", { state: "none" }],
    [null, { state: "none" }],
  ])("when the companion wrote %s, then the page reads %j", (raw, want) => {
    const got = parseGoogleStatus(raw);
    for (const k of Object.keys(got) as (keyof typeof got)[]) if (got[k] === undefined) delete got[k];
    expect(got).toEqual(want);
  });

  it("when X is being unlinked, then that state survives the round trip", () => {
    expect(parseXStatus('{"state":"unlinking"}').state).toBe("unlinking");
  });
});
