// SMS pumping and account takeover, driven over HTTP against a relay that sends through Twilio (a
// fake on loopback counts every SMS that would have cost money). Figures: what got through.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CODE_TRIES } from "../../../backend/src/domain/phone-verification.ts";
import { DB_KINDS, type DbKind } from "../../helpers/db.ts";
import { battery, call, createTestClock, register, verifiedWearer } from "../../helpers/relay.ts";
import { scale, reportFigures } from "../profile.ts";
import { startKit, type Kit } from "../helpers/relay-kit.ts";

const HOUR = 3_600_000;
const LIMITS = {
  REGISTRATIONS_PER_HOUR: 20,
  CODE_SENDS_PER_NUMBER_HOUR: 3,
  CODE_SENDS_PER_DEVICE_DAY: 5,
  SMS_PER_NUMBER_DAILY: 3,
  SMS_DAILY_BUDGET: 40,
};

/** US numbers the relay accepts (FIXED_LINE_OR_MOBILE), distinct per i */
const usNumber = (i: number) => `+1415${200 + (i % 800)}${String((i * 37) % 10000).padStart(4, "0")}`;

/** valid numbers of allowed countries in ranges that pumping uses or that take no SMS */
const SPECIAL_RANGES: [string, string][] = [
  ["+19005550123", "US PREMIUM_RATE"],
  ["+18005550123", "US TOLL_FREE"],
  ["+18885550123", "US TOLL_FREE"],
  ["+15335550123", "US PERSONAL_NUMBER"],
  ["+15005550006", "US PERSONAL_NUMBER"],
  ["+448431234567", "GB PREMIUM_RATE"],
  ["+448712345678", "GB PREMIUM_RATE"],
  ["+443001234567", "GB UAN"],
  ["+448001234567", "GB TOLL_FREE"],
  ["+447012345678", "GB PERSONAL_NUMBER"],
  ["+445612345678", "GB VOIP"],
  ["+33899123456", "FR PREMIUM_RATE"],
  ["+33801234567", "FR TOLL_FREE"],
  ["+81570123456", "JP UAN"],
  ["+815012345678", "JP VOIP"],
  ["+81120123456", "JP TOLL_FREE"],
  ["+812012345678", "JP PAGER"],
  ["+49180123456", "DE SHARED_COST"],
  ["+611300123456", "AU SHARED_COST"],
  ["+611800123456", "AU TOLL_FREE"],
];
/** mobile numbers of countries outside SMS_COUNTRIES, including +1 countries that are not US/CA */
const REFUSED_COUNTRIES = ["+79161234567", "+2348012345678", "+8613812345678", "+919812345678", "+5511912345678", "+18765550123", "+447624123456"];

interface Tally {
  attempts: number;
  accepted: number;
  refused: Record<string, number>;
}
const tally = (): Tally => ({ attempts: 0, accepted: 0, refused: {} });
function count(t: Tally, r: { status: number; body: any }, okStatus: number) {
  t.attempts++;
  if (r.status === okStatus) t.accepted++;
  else {
    const code = `${r.status} ${r.body?.code ?? "?"}`;
    t.refused[code] = (t.refused[code] ?? 0) + 1;
  }
}
const refusedText = (t: Tally) =>
  Object.entries(t.refused)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ") || "none";

const figures: Record<string, number | string | boolean> = {};

describe.each(DB_KINDS)("abuse on %s", (kind: DbKind) => {
  let kit: Kit;
  let url: string;
  const smsSent = async () => {
    await kit.relay.running.worker.drain();
    return kit.twilio.messages.length;
  };
  const put = (token: string, number: string, country?: string) =>
    call(url, "PUT", "/v1/me/phone", { token, json: country ? { number, country } : { number } });
  const nextHour = () => kit.relay.clock.advance(HOUR + 1000);
  const runs = kind === "sqlite" ? 1 : 0.5; // PostgreSQL gets the same scenarios with fewer attempts
  const n = (short: number, full: number) => Math.max(2, Math.round(scale(short, full) * runs));

  beforeAll(async () => {
    const env = Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)]));
    kit = await startKit({ kind, env, clock: createTestClock("2026-11-20T00:05:00.000Z") });
    url = kit.relay.url;
  });
  afterAll(async () => {
    await kit?.stop();
  });

  it("when one address registers again and again, then only REGISTRATIONS_PER_HOUR get through per hour, forged X-Forwarded-For or not", async () => {
    const t = tally();
    const attempts = n(60, 400);
    for (let i = 0; i < attempts; i++) {
      // a proxy header is not trusted by default: rotating it must not open new slots
      const r = await call(url, "POST", "/v1/devices", { json: { timezone: "UTC" }, headers: { "x-forwarded-for": `198.51.100.${i % 250}` } });
      count(t, r, 201);
      if (r.status === 429) expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(t.accepted).toBe(LIMITS.REGISTRATIONS_PER_HOUR);
    expect(t.refused["429 rate_limited"]).toBe(attempts - LIMITS.REGISTRATIONS_PER_HOUR);
    nextHour();
    expect((await call(url, "POST", "/v1/devices", { json: { timezone: "UTC" } })).status).toBe(201);
    figures[`${kind}.registrations one address: attempts / accepted`] = `${t.attempts} / ${t.accepted}`;
    figures[`${kind}.registrations refused`] = refusedText(t);
    nextHour();
  });

  it("when one device asks codes for many numbers, then at most CODE_SENDS_PER_DEVICE_DAY codes are sent that day", async () => {
    const before = await smsSent();
    const { token } = await register(url, { timezone: "UTC" });
    const t = tally();
    const attempts = n(20, 120);
    for (let i = 0; i < attempts; i++) {
      count(t, await put(token, usNumber(100 + i)), 202);
    }
    const sent = (await smsSent()) - before;
    expect(t.accepted).toBe(LIMITS.CODE_SENDS_PER_DEVICE_DAY);
    // a code still queued when the next number replaces its number is cancelled, not sent: how many
    // went out depends on the worker's pace, never more than were accepted
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(t.accepted);
    expect(Object.keys(t.refused)).toEqual(["429 rate_limited"]);
    figures[`${kind}.numbers per device: attempts / accepted / SMS`] = `${t.attempts} / ${t.accepted} / ${sent}`;
    nextHour();
  });

  it("when numbers of refused countries or premium, shared-cost, toll-free, VoIP, personal, UAN or pager ranges are given, then none gets an SMS", async () => {
    const before = await smsSent();
    const c = tally();
    const s = tally();
    const rounds = n(1, 4);
    for (let round = 0; round < rounds; round++) {
      const { token } = await register(url, { timezone: "UTC" });
      for (const number of REFUSED_COUNTRIES) count(c, await put(token, number), 202);
      // the national form with a country, as the settings page may send it
      count(c, await put(token, "8765550123", "JM"), 202);
      for (const [number, what] of SPECIAL_RANGES) {
        const r = await put(token, number);
        count(s, r, 202);
        expect(r.status, `${number} (${what})`).toBe(422);
        expect(r.body.code, `${number} (${what})`).toBe("number_type_not_allowed");
      }
      const national = await put(token, "(900) 555-0123", "US");
      count(s, national, 202);
      expect(national.body.code).toBe("number_type_not_allowed");
      // a mobile and a US/CA number of the same device still pass
      expect((await put(token, `+44791234567${round}`)).status).toBe(202);
      expect((await put(token, usNumber(500 + round))).status).toBe(202);
    }
    expect(c.accepted).toBe(0);
    expect(Object.keys(c.refused)).toEqual(["422 country_not_allowed"]);
    expect(s.accepted).toBe(0);
    expect(Object.keys(s.refused)).toEqual(["422 number_type_not_allowed"]);
    const sent = (await smsSent()) - before;
    expect(sent).toBe(2 * rounds); // the two allowed numbers only
    figures[`${kind}.refused countries: attempts / accepted`] = `${c.attempts} / ${c.accepted}`;
    figures[`${kind}.special ranges: attempts / accepted`] = `${s.attempts} / ${s.accepted}`;
    figures[`${kind}.refused by reason`] = `${refusedText(c)}; ${refusedText(s)}`;
    nextHour();
  });

  it("when a code is guessed wrong MAX_CODE_TRIES times, then the number is locked: even the right code is refused until a new one is sent", async () => {
    const number = usNumber(900);
    const { token } = await register(url, { timezone: "UTC" });
    expect((await put(token, number)).status).toBe(202);
    await smsSent();
    const code = /\b(\d{6})\b/.exec(kit.twilio.messages.filter((m) => m.to === number).at(-1)!.body!)![1]!;
    const wrong = code === "000000" ? "111111" : "000000";
    const answers: string[] = [];
    for (let i = 0; i < MAX_CODE_TRIES + 3; i++) answers.push((await call(url, "POST", "/v1/me/phone/verify", { token, json: { code: wrong } })).body.code);
    expect(answers.slice(0, MAX_CODE_TRIES)).toEqual(Array(MAX_CODE_TRIES).fill("code_mismatch"));
    expect(answers.slice(MAX_CODE_TRIES)).toEqual(Array(3).fill("too_many_attempts"));
    const right = await call(url, "POST", "/v1/me/phone/verify", { token, json: { code } });
    expect(right.status).toBe(429);
    expect((await call(url, "GET", "/v1/me", { token })).body.phone.verified).toBe(false);
    figures[`${kind}.wrong codes before lock`] = MAX_CODE_TRIES;
    nextHour();
  });

  it("when an attacker cycles fresh codes for someone else's number from many devices, then the guesses are bounded by CODE_SENDS_* x MAX_CODE_TRIES and none verifies", async () => {
    const victim = usNumber(901);
    const before = await smsSent();
    const t = tally();
    let evaluated = 0;
    const devices = scale(6, 15);
    const hours = n(2, 6);
    for (let h = 0; h < hours; h++) {
      for (let d = 0; d < devices; d++) {
        const { token } = await register(url, { timezone: "UTC" });
        const r = await put(token, victim);
        count(t, r, 202);
        if (r.status !== 202) continue;
        await smsSent();
        const code = /\b(\d{6})\b/.exec(kit.twilio.messages.filter((m) => m.to === victim).at(-1)!.body!)![1]!;
        for (let g = 0; g < MAX_CODE_TRIES + 1; g++) {
          const guess = String((Number(code) + 1 + g * 7) % 1_000_000).padStart(6, "0");
          const v = await call(url, "POST", "/v1/me/phone/verify", { token, json: { code: guess } });
          if (v.body.code === "code_mismatch") evaluated++;
          expect(v.status).not.toBe(200);
        }
      }
      nextHour();
    }
    const sent = (await smsSent()) - before;
    expect(t.accepted).toBe(LIMITS.CODE_SENDS_PER_NUMBER_HOUR * hours);
    expect(sent).toBe(t.accepted);
    expect(evaluated).toBeLessThanOrEqual(sent * MAX_CODE_TRIES);
    const perDay = 24 * LIMITS.CODE_SENDS_PER_NUMBER_HOUR * MAX_CODE_TRIES;
    figures[`${kind}.code cycling: PUT attempts / codes sent`] = `${t.attempts} / ${sent}`;
    figures[`${kind}.code cycling: guesses evaluated`] = evaluated;
    figures[`${kind}.code cycling: max guesses per number per day`] = `${perDay} (success odds ${(perDay / 1e6).toExponential(1)})`;
  });

  it("when the same device asks to resend a code again and again, then at most CODE_SENDS_PER_NUMBER_HOUR go out per hour", async () => {
    const number = usNumber(902);
    const before = await smsSent();
    const { token } = await register(url, { timezone: "UTC" });
    const t = tally();
    const attempts = n(30, 200);
    for (let i = 0; i < attempts; i++) {
      const r = await put(token, number);
      count(t, r, 202);
      if (r.status === 429) expect(r.body.code).toBe("rate_limited");
    }
    const sent = (await smsSent()) - before;
    expect(t.accepted).toBe(LIMITS.CODE_SENDS_PER_NUMBER_HOUR);
    expect(sent).toBe(LIMITS.CODE_SENDS_PER_NUMBER_HOUR);
    figures[`${kind}.resend flood: attempts / SMS`] = `${t.attempts} / ${sent}`;
    nextHour();
  });

  it("when the SMS budget runs out under a flood of fresh devices and numbers, then Twilio never gets more than SMS_DAILY_BUDGET messages that day", async () => {
    // a verified wearer from before the flood: their alerts too must respect the budget
    const wearer = await verifiedWearer(kit.relay, usNumber(903));
    const t = tally();
    let i = 1000;
    const devices = n(14, 40);
    for (let d = 0; d < devices; d++) {
      if (d % 15 === 14) nextHour(); // registrations per hour
      const { token } = await register(url, { timezone: "UTC" });
      for (let k = 0; k < LIMITS.CODE_SENDS_PER_DEVICE_DAY; k++) count(t, await put(token, usNumber(i++)), 202);
    }
    const answers: string[] = [];
    for (const level of [19, 9, 4]) {
      const a = await call(url, "POST", "/v1/battery", { token: wearer.token, json: battery(kit.relay.clock, level) });
      answers.push(a.body.action === "sms" ? "sms" : a.body.reason);
    }
    const sent = await smsSent();
    expect(t.refused["503 sms_unavailable"] ?? 0, `${refusedText(t)}; ${sent} SMS`).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(LIMITS.SMS_DAILY_BUDGET);
    expect(answers).toContain("budget_spent");
    expect(kit.twilio.specViolations).toEqual([]);
    figures[`${kind}.budget flood: attempts / accepted`] = `${t.attempts} / ${t.accepted}`;
    figures[`${kind}.budget flood refused`] = refusedText(t);
    figures[`${kind}.SMS at Twilio that day / budget`] = `${sent} / ${LIMITS.SMS_DAILY_BUDGET}`;
    figures[`${kind}.alerts after budget spent`] = answers.join(", ");
  });
});

afterAll(() => {
  reportFigures("abuse", figures);
});
