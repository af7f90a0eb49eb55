// Bad input on the phone and the wrist, property-based: random and malformed messages over the link
// (both directions) and settings values the page might write in any shape. Handlers must never throw
// out, the persisted outboxes must stay intact, and the watch must only ever get valid messages.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { FILES } from "../../../app/watch";
import { isPhoneMsg, isWatchMsg, isWatchSettings, type PhoneMsg } from "../../../common/protocol";
import { KEYS, MORE_KEYS } from "../../../common/settings";
import { OUTBOX_KEYS } from "../../../companion/outbox";
import { BatteryBody, HeartbeatBody, SummaryBody } from "../../../backend/src/http/schemas";
import { startHarness, T0, type Harness } from "../../companion/harness";
import { attachPhone, documentFake, fs, messaging, power, resetDevice, startTestWatch, type TestWatch } from "../../helpers/watch-harness";
import { FULL, reportFigures, scale } from "../profile";

const SEED = FULL ? Date.now() % 2_147_483_647 : 20_261_122;
const figures: Record<string, number | string | boolean> = { seed: SEED };
afterAll(() => reportFigures("fuzz-device", figures));

const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, 0, -1, 1e308, "", "ack", [], {}, { v: 1 }, { t: "ack" }, { v: 1, t: "nope" }, { v: "1", t: "ack", ids: [] }),
);
const id = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.string({ maxLength: 80 }), fc.constantFrom("", "a".repeat(65), "__proto__", "ev 1"));
const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, 100, 101, -1, 1e15, 2 ** 53, -0), fc.constant(null as unknown as number), fc.string({ maxLength: 4 }) as unknown as fc.Arbitrary<number>);
const extra = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 });

/** companion -> watch: near-valid ack / set / res and plain junk */
const toWatchArb = (realIds: () => string[]) =>
  fc.oneof(
    junk,
    fc.record({ v: fc.oneof(fc.constant(1), junk), t: fc.constant("ack"), ids: fc.oneof(fc.array(fc.oneof(id, fc.constantFrom(...realIds(), "x"), junk), { maxLength: 5 }), junk) }, { requiredKeys: ["t"] }),
    fc.record(
      {
        v: fc.constant(1),
        t: fc.constant("set"),
        s: fc.oneof(
          junk,
          fc.record(
            { thr: fc.oneof(fc.array(num, { maxLength: 10 }), junk), u: fc.oneof(fc.constantFrom("km", "mi", "ft"), junk), lang: fc.oneof(fc.constantFrom("en-US", "ja-JP", "fr-FR"), junk), h24: fc.oneof(fc.boolean(), junk) },
            { requiredKeys: [] },
          ),
        ),
      },
      { requiredKeys: ["v", "t"] },
    ),
    fc.record({ v: fc.constant(1), t: fc.constant("res"), k: fc.oneof(fc.constantFrom("sms_queued", "sms_sent", "relay_down", "nope", ""), junk), at: num, id: fc.option(id, { nil: undefined }) }, { requiredKeys: ["v", "t"] }),
  );

const epochS = fc.integer({ min: Math.floor(T0 / 1000) - 4 * 86_400, max: Math.floor(T0 / 1000) + 3600 });
/** watch -> companion: near-valid bat / sum / hi, with edge values and extra fields */
const toPhoneArb = fc.oneof(
  junk,
  // valid in shape, any values in range: these reach the relay
  fc.record({ v: fc.constant(1), t: fc.constant("bat"), id: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), lvl: fc.integer({ min: 0, max: 100 }), chg: fc.boolean(), at: epochS, why: fc.constantFrom("low", "chg_on", "chg_off", "full"), thr: fc.option(fc.integer({ min: 1, max: 99 }), { nil: undefined }), left: fc.option(fc.integer({ min: 0, max: 30_000 }), { nil: undefined }) }, { requiredKeys: ["v", "t", "id", "lvl", "chg", "at", "why"] }),
  fc.record({ v: fc.constant(1), t: fc.constant("sum"), id: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), d: fc.constantFrom("2026-11-19", "2026-11-18", "2024-02-29", "2025-12-31"), st: fc.integer({ min: 0, max: 2_000_000 }), dm: fc.double({ min: 0, max: 2_000_000, noNaN: true }), cal: fc.integer({ min: 0, max: 200_000 }), fl: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }), azm: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }), slp: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }) }, { requiredKeys: ["v", "t", "id", "d", "st", "dm", "cal"] }),
  fc.tuple(
    fc.record({ v: fc.constant(1), t: fc.constant("bat"), id, lvl: num, chg: fc.oneof(fc.boolean(), junk), at: num, why: fc.constantFrom("low", "chg_on", "chg_off", "full", "boom"), thr: fc.option(num, { nil: undefined }), left: fc.option(num, { nil: undefined }) }, { requiredKeys: ["v", "t", "id", "lvl", "chg", "at", "why"] }),
    extra,
  ).map(([m, e]) => ({ ...e, ...m })),
  fc.tuple(
    fc.record({ v: fc.constant(1), t: fc.constant("sum"), id, d: fc.oneof(fc.constantFrom("2026-11-19", "2026-02-31", "9999-99-99", "2026-11-19T00:00"), fc.string({ maxLength: 12 })), st: num, dm: num, cal: num, fl: fc.option(num, { nil: undefined }), azm: fc.option(num, { nil: undefined }), slp: fc.option(num, { nil: undefined }) }, { requiredKeys: ["v", "t", "id", "d", "st", "dm", "cal"] }),
    extra,
  ).map(([m, e]) => ({ ...e, ...m })),
  fc.record({ v: fc.constant(1), t: fc.constant("hi"), lvl: num, chg: fc.oneof(fc.boolean(), junk), at: num }),
);

/** what the settings page (or anything else) might leave in settingsStorage */
const HUGE = "9".repeat(120_000);
const settingValue = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 40 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom("true", "false", "{", "[", '{"name":', '{"name":null}', '{"name":42}', '{"selected":[99],"values":[]}', '{"selected":"x","values":{}}', '{"values":[{"name":1,"value":{}}]}', "[1e400]", "NaN", "null", '"\\u0000"', HUGE, JSON.stringify({ name: HUGE }), JSON.stringify([HUGE])),
  fc.array(fc.oneof(fc.integer({ min: -5, max: 120 }), fc.constant("20")), { maxLength: 12 }).map((a) => JSON.stringify(a)),
);
const SETTING_KEYS = [...Object.values(KEYS), ...Object.values(MORE_KEYS)].filter((k) => k !== KEYS.relayUrl);
/** the relay URL only ever points at loopback: never the internet */
const relayUrlValue = fc.constantFrom(null, "", "{", "not a url", '{"name":"not a url"}', '{"name":"ftp://127.0.0.1:1"}', '{"name":"http://127.0.0.1:1"}', JSON.stringify({ name: HUGE }), "42");

const outboxIntact = (entries: unknown) => Array.isArray(entries) && entries.every((e) => e && typeof e === "object" && typeof (e as { id: unknown }).id === "string" && isWatchMsg((e as { msg: unknown }).msg));

describe("the watch's handlers of companion messages", () => {
  let tw: TestWatch | undefined;
  afterEach(() => tw?.watch.stop());

  it(`when the companion sends random and malformed messages, then nothing throws, the outbox keeps its events and the face draws numbers (seed ${SEED})`, () => {
    let messages = 0;
    let outboxEntries = 0;
    let realIds: string[] = ["none-yet"];
    fc.assert(
      fc.property(fc.array(toWatchArb(() => realIds), { minLength: 1, maxLength: 12 }), (msgs) => {
        tw?.watch.stop();
        resetDevice();
        power.__set({ chargeLevel: 80, charging: false });
        tw = startTestWatch(new Date(T0));
        const phone = attachPhone({ ack: false });
        // two low-battery events wait in the persisted outbox, unacknowledged
        power.__set({ chargeLevel: 19 });
        power.__set({ chargeLevel: 9 });
        messaging.__open();
        const before = fs.__raw(FILES.outbox) as { id: string }[];
        expect(outboxIntact(before)).toBe(true);
        realIds = before.map((e) => e.id);
        const acked = new Set<string>();
        for (const m of msgs) {
          expect(() => phone.send(m)).not.toThrow();
          messages++;
          const mm = m as { v?: unknown; t?: unknown; ids?: unknown };
          if (isPhoneMsg(m) && mm.t === "ack") for (const x of (m as { ids: string[] }).ids) acked.add(x);
        }
        const after = fs.__raw(FILES.outbox);
        expect(outboxIntact(after)).toBe(true);
        // only what was acknowledged by a valid ack left, the rest is unchanged
        expect(after).toEqual(before.filter((e) => !acked.has(e.id)));
        outboxEntries += (after as unknown[]).length;
        const settings = fs.__raw(FILES.settings);
        if (settings !== undefined) expect(isWatchSettings(settings)).toBe(true);
        for (const el of ["time", "date", "bat-text", "steps-text", "dist-text", "cal-text", "link-text", "res-text"]) {
          const t = String(documentFake.__el(el).text ?? "");
          expect(t, el).not.toMatch(/undefined|NaN|null|\[object/);
        }
        // the face keeps working: it still reports the battery
        power.__set({ chargeLevel: 4 });
        expect(phone.ofType("bat").length).toBeGreaterThan(0);
      }),
      { seed: SEED, numRuns: scale(150, 2000), endOnFailure: true },
    );
    figures["watch: companion messages sent"] = messages;
    figures["watch: outbox entries kept intact"] = outboxEntries;
  });
});

describe("the companion's handlers of watch messages and settings", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  function checkCompanion(hh: Harness, seen: { bad: string[] }) {
    const raw = hh.storage.getItem(OUTBOX_KEYS.queue);
    if (raw !== null) {
      const q = JSON.parse(raw) as { id?: unknown; msg?: { method?: unknown; path?: unknown } }[];
      expect(Array.isArray(q)).toBe(true);
      for (const e of q) {
        expect(typeof e.id).toBe("string");
        expect(typeof e.msg?.method).toBe("string");
        expect(typeof e.msg?.path).toBe("string");
      }
    }
    for (const m of hh.toWatch as PhoneMsg[]) {
      expect(isPhoneMsg(m)).toBe(true);
      if (m.t === "set") expect(isWatchSettings(m.s)).toBe(true);
    }
    // whatever reached the relay passes the relay's own request schemas
    for (const c of hh.relay.calls) {
      const schema = c.path === "/v1/battery" ? BatteryBody : c.path === "/v1/summaries" ? SummaryBody : c.path === "/v1/heartbeat" ? HeartbeatBody : undefined;
      if (schema && c.method === "POST") {
        const r = schema.safeParse(c.body);
        if (!r.success) seen.bad.push(`${c.path} ${JSON.stringify(c.body)}: ${r.error.issues[0]?.message}`);
      }
    }
  }

  it(`when the watch sends random and malformed messages, then nothing throws, the outbox stays readable and the relay only gets valid events (seed ${SEED})`, async () => {
    h = await startHarness();
    const hh = h;
    let sent = 0;
    const seen = { bad: [] as string[] };
    await fc.assert(
      fc.asyncProperty(fc.array(toPhoneArb, { minLength: 1, maxLength: 8 }), fc.boolean(), async (msgs, restart) => {
        for (const m of msgs) {
          expect(() => hh.watchSends(m as never)).not.toThrow();
          sent++;
        }
        await hh.settle();
        if (restart) await hh.restart();
        checkCompanion(hh, seen);
      }),
      { seed: SEED, numRuns: scale(40, 400), endOnFailure: true },
    );
    expect(seen.bad).toEqual([]);
    figures["companion: watch messages sent"] = sent;
    figures["companion: relay calls (all schema-valid)"] = hh.relay.calls.length;
  });

  it(`when the page writes any shape to any setting (not JSON, wrong type, huge, removed), then the companion keeps working and the watch only gets valid settings (seed ${SEED})`, async () => {
    h = await startHarness();
    const hh = h;
    let writes = 0;
    const seen = { bad: [] as string[] };
    const write = fc.oneof(
      fc.tuple(fc.constantFrom(...SETTING_KEYS), settingValue),
      fc.tuple(fc.constant(KEYS.relayUrl as string), relayUrlValue),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 6 }), fc.boolean(), async (ws, restart) => {
        for (const [k, v] of ws) {
          expect(() => hh.settings.pageSet(k, v)).not.toThrow();
          writes++;
        }
        await hh.settle();
        if (restart) await hh.restart();
        checkCompanion(hh, seen);
        // the companion still carries a watch event to the relay end to end
        const n = hh.relay.battery.length;
        hh.settings.pageSet(KEYS.relayUrl, null);
        await hh.settle();
        hh.watchSends({ v: 1, t: "bat", id: `probe-${writes}`, lvl: 9, chg: false, at: Math.floor(T0 / 1000), why: "low", thr: 10 });
        await hh.settle();
        for (let i = 0; i < 3 && hh.relay.battery.length === n; i++) {
          await hh.clock.advance(6 * 60_000);
          hh.me.wake();
          await hh.settle();
        }
        expect(hh.relay.battery.length, "a battery event after the settings writes").toBeGreaterThan(n);
      }),
      { seed: SEED, numRuns: scale(30, 300), endOnFailure: true },
    );
    expect(seen.bad).toEqual([]);
    figures["companion: settings writes"] = writes;
    figures["companion: watch messages checked"] = hh.toWatch.length;
  });
});
