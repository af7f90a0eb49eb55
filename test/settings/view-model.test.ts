import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { KEYS, MORE_KEYS } from "../../common/settings";
import {
  diagnosticsLine,
  fieldMessages,
  googleView,
  MSGIDS,
  phoneStatusLine,
  previewLine,
  settingsErrorLine,
  xView,
} from "../../settings/view-model";
import { loadPo, translator } from "./po";

const en = translator("en-US");
const ja = translator("ja-JP");
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

describe("status lines", () => {
  it.each([
    [{ state: "code_sent", masked: "+1•••67" }, "A code was sent to +1•••67. Enter it below."],
    [{ state: "confirmed", masked: "+1•••67" }, "Alerts go to +1•••67."],
    [{ state: "opted_out", masked: "+1•••67" }, "+1•••67 replied STOP: no more SMS. Reply START from that phone to resume."],
    [{ state: "error", code: "wrong_code" }, "Not done: that code is not right."],
    [{ state: "error", code: "invalid_input", detail: "The code has 6 digits." }, "Not done: The code has 6 digits."],
    [{ state: "error", code: "weird_new_code" }, "Not done: error weird_new_code."],
    [{ state: "error", code: "x", detail: "Number blocked by carrier" }, "Not done: Number blocked by carrier"],
    [{ state: "reconfirm" }, "The relay no longer knows this phone. Press “Send code” and confirm your number again."],
    [null, "No number confirmed yet."],
  ])("when the companion wrote phone status %j, then the wearer reads %s", (status, line) => {
    expect(phoneStatusLine({ [KEYS.phoneStatus]: status ? JSON.stringify(status) : undefined }, en)).toBe(line);
  });

  it("when the relay handed out an approval URL, then the page shows it as a link to open", () => {
    const v = xView({ [KEYS.xStatus]: JSON.stringify({ state: "open_url", url: "https://x.example/a" }) }, en);
    expect(v).toEqual({ line: "Open this link to let WristRelay post for you:", url: "https://x.example/a", linked: false });
  });

  it("when X is linked, then the page shows the @name", () => {
    expect(xView({ [KEYS.xStatus]: JSON.stringify({ state: "linked", username: "ann" }) }, en).line).toBe("Posting as @ann.");
  });

  it("when a URL is not http(s), then no link is shown (no javascript: links)", () => {
    expect(xView({ [KEYS.xStatus]: JSON.stringify({ state: "open_url", url: "javascript:alert(1)" }) }, en)).toEqual({ line: "No X account linked.", linked: false });
  });

  it("when the relay has no preview endpoint yet, then the page says so", () => {
    expect(previewLine({ [KEYS.preview]: JSON.stringify({ state: "unavailable" }) }, en)).toBe("Preview not available yet.");
    expect(previewLine({}, en)).toBe("Preview not available yet.");
    expect(previewLine({ [KEYS.preview]: JSON.stringify({ state: "ok", text: "Yesterday: 9,000 steps" }) }, en)).toBe("Yesterday: 9,000 steps");
  });

  it("when diagnostics were written, then one line tells last contact and queue length", () => {
    const d = { lastRelayContact: NOW - 5 * 60000, lastWatchContact: NOW - 3 * 3600000, queue: 2, dropped: 1, registered: true };
    expect(diagnosticsLine({ [KEYS.diagnostics]: JSON.stringify(d) }, NOW, en)).toBe("Relay: 5 min ago. Watch: 3 h ago. Waiting: 2. Dropped: 1.");
    expect(diagnosticsLine({ [KEYS.diagnostics]: JSON.stringify(d) }, NOW, ja)).toBe("リレー: 5 分前。時計: 3 時間前。待機中: 2。破棄: 1。");
  });

  it("when the page is in Japanese, then status lines are Japanese", () => {
    expect(phoneStatusLine({ [KEYS.phoneStatus]: JSON.stringify({ state: "confirmed", masked: "+81•••12" }) }, ja)).toBe("通知の送信先: +81•••12");
  });
});

describe("the Google Health and X links", () => {
  const g = (status: unknown) => ({ [MORE_KEYS.googleStatus]: JSON.stringify(status) });
  it.each([
    [{ state: "requesting" }, "Asking the relay for a link…", false],
    [{ state: "linked", granted: { activity: true, sleep: true, settings: true } }, "Google Health is connected.", true],
    [{ state: "linked", granted: { activity: true, sleep: false, settings: true } }, "Google Health is connected, without sleep: that stays off.", true],
    [{ state: "linked", granted: { activity: false, sleep: false, settings: true } }, "Google Health is connected, without activity, sleep: that stays off.", true],
    [{ state: "broken" }, "Google Health link expired, link again.", true],
    [{ state: "unlinking" }, "Unlinking Google Health…", false],
    [{ state: "error", code: "google_not_configured" }, "Could not connect Google Health: this relay has no Google set up.", false],
    [{ state: "none" }, "Google Health is not connected.", false],
  ])("when the companion wrote Google status %j, then the wearer reads %s", (status, line, unlinkable) => {
    const v = googleView(g(status), en);
    expect(v.line).toBe(line);
    expect(v.linked).toBe(unlinkable);
  });

  it("when the link broke, then the Japanese page says so and asks to link again", () => {
    expect(googleView(g({ state: "broken" }), ja).line).toBe("Google Health との連携が切れました。もう一度連携してください。");
    expect(googleView(g({ state: "linked", granted: { activity: true, sleep: false, settings: true } }), ja).line).toBe("Google Health と連携しています (睡眠 は許可されていないためオフです)。");
  });

  it("when the relay handed out a consent URL, then the page shows it; a non-http URL is not shown", () => {
    expect(googleView(g({ state: "open_url", url: "https://relay.example/google/start?flow=a" }), en)).toEqual({
      line: "Open this link and allow WristRelay to read your Google Health data:",
      url: "https://relay.example/google/start?flow=a",
      linked: false,
      broken: false,
    });
    expect(googleView(g({ state: "open_url", url: "javascript:alert(1)" }), en).url).toBeUndefined();
  });

  it("when X is linked, then Unlink X is offered; while unlinking, then the page says so", () => {
    expect(xView({ [KEYS.xStatus]: JSON.stringify({ state: "linked", username: "runner" }) }, en).linked).toBe(true);
    expect(xView({ [KEYS.xStatus]: JSON.stringify({ state: "unlinking" }) }, en)).toEqual({ line: "Unlinking X…", linked: false });
  });
});

describe("validation messages", () => {
  it("when the wearer types a bad time, number, code or URL, then each field gets a readable message", () => {
    const m = fieldMessages(
      {
        [KEYS.quietEnabled]: "true",
        [KEYS.quietStart]: JSON.stringify({ name: "25:00" }),
        [KEYS.phoneNumber]: JSON.stringify({ name: "call me" }),
        [KEYS.phoneCode]: JSON.stringify({ name: "12" }),
        [KEYS.relayUrl]: JSON.stringify({ name: "ftp://x" }),
        [KEYS.thresholds]: "[0]",
      },
      en,
    );
    expect(m).toEqual({
      [KEYS.quietStart]: "Use a 24-hour time like 07:30.",
      [KEYS.phoneNumber]: "A phone number has only digits, spaces and an optional + in front.",
      [KEYS.phoneCode]: "The code has 6 digits.",
      [KEYS.relayUrl]: "Enter a web address like https://relay.example.com.",
      [KEYS.thresholds]: "Battery levels are whole percentages from 1 to 99.",
    });
    expect(fieldMessages({ [KEYS.phoneCode]: JSON.stringify({ name: "12" }) }, ja)[KEYS.phoneCode]).toBe("コードは 6 桁です。");
  });

  it("when everything is fine, then there is no message", () => {
    expect(settingsErrorLine({ [KEYS.thresholds]: "[20,10]", [KEYS.summaryTime]: JSON.stringify({ name: "00:10" }) }, en)).toBe("");
  });

  it("when the relay refused the settings, then the page says so", () => {
    expect(settingsErrorLine({ [KEYS.settingsError]: JSON.stringify({ relay: "invalid_body: quietHours" }) }, en)).toBe(
      "The relay refused the settings (invalid_body: quietHours).",
    );
  });
});

describe("any value in any key", () => {
  const allKeys = [...Object.values(KEYS), ...Object.values(MORE_KEYS)];
  const garbage = fc.oneof(
    fc.string(),
    fc.json(),
    fc.constantFrom("{", "null", "[]", "{}", '{"name":5}', '{"selected":[9],"values":[]}', '{"selected":"x","values":{}}', "NaN", "1e400", '{"state":"error","code":5}', '{"state":"open_url","url":7}', '{"__proto__":{"x":1}}'),
    fc.integer().map(String),
    fc.array(fc.anything()).map((a) => { try { return JSON.stringify(a) ?? "x"; } catch { return "x"; } }),
    fc.constant("x".repeat(200000)),
  );

  it("when any key holds any string, then every view function returns a string and never throws", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...allKeys), garbage), (s) => {
        for (const t of [en, ja]) {
          expect(typeof phoneStatusLine(s, t)).toBe("string");
          expect(typeof xView(s, t).line).toBe("string");
          expect(typeof googleView(s, t).line).toBe("string");
          expect(typeof previewLine(s, t)).toBe("string");
          expect(typeof diagnosticsLine(s, NOW, t)).toBe("string");
          const m = fieldMessages(s, t);
          for (const k in m) expect(typeof m[k]).toBe("string");
          expect(settingsErrorLine(s, t).length).toBeLessThan(5000);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("translations", () => {
  it("when the page asks for a text, then both en-US and ja-JP have it", () => {
    const a = loadPo("en-US");
    const b = loadPo("ja-JP");
    for (const id of MSGIDS) {
      expect(a.has(id), id).toBe(true);
      expect(b.has(id), id).toBe(true);
    }
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  });
});
