import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  parseBool,
  parseCode,
  parseCountry,
  parseDiagnostics,
  parseLanguage,
  parsePhoneNumber,
  parsePhoneStatus,
  parsePreview,
  parseRelayUrl,
  parseText,
  parseThresholds,
  parseTime,
  parseXStatus,
} from "../../common/settings";

const anyRaw = fc.oneof(
  fc.string(),
  fc.json(),
  fc.integer().map(String),
  fc.constantFrom("", "{", "null", "true", "[[[]]]", '{"name":null}', '{"selected":[0,0,99],"values":[{"name":"a"}]}', '{"selected":[{}],"values":[null]}', "x".repeat(300000)),
  fc.array(fc.oneof(fc.integer(), fc.string(), fc.constant(null))).map((a) => JSON.stringify(a)),
);

describe("settings parsers", () => {
  it("when a value has any shape at all, then no parser throws and refusals are readable sentences", () => {
    fc.assert(
      fc.property(fc.option(anyRaw, { nil: null }), (raw) => {
        for (const p of [parseTime, parseThresholds, parseRelayUrl, parseCode, parsePhoneNumber]) {
          const r = p(raw);
          if (!r.ok) expect(r.error).toMatch(/^[A-Z].*\.$/);
        }
        expect(typeof parseBool(raw, true)).toBe("boolean");
        expect(["en-US", "ja-JP"]).toContain(parseLanguage(raw));
        expect(typeof parseText(raw)).toBe("string");
        expect(typeof parseCountry(raw)).toBe("string");
        expect(typeof parsePhoneStatus(raw).state).toBe("string");
        expect(typeof parseXStatus(raw).state).toBe("string");
        parsePreview(raw);
        parseDiagnostics(raw);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['{"name":"+1 (415) 555-2671"}', "+14155552671"],
    ['{"name":"090 1234 5678"}', "09012345678"],
    ["4155552671", "4155552671"],
  ])("when the number is %s, then the relay gets %s", (raw, value) => {
    expect(parsePhoneNumber(raw)).toEqual({ ok: true, value });
  });

  it("when the country Select holds a value, then it is used; anything else gives the default", () => {
    expect(parseCountry('{"selected":[0],"values":[{"name":"Japan","value":"JP"}]}')).toBe("JP");
    expect(parseCountry('"ZZ"')).toBe("US");
  });
});
