// Leaks: a realistic session with LOG_LEVEL=debug written to a file, then every text column of every
// table and every log line are searched for what must never be there in plaintext: third-party tokens,
// SMS codes, device tokens, operator secrets, and (in the log) full phone numbers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import { DB_KINDS, type DbKind } from "../../helpers/db.ts";
import { linkGoogle } from "../../helpers/fake-google.ts";
import { linkX } from "../../helpers/relay-x.ts";
import { battery, call, register } from "../../helpers/relay.ts";
import { reportFigures, scale } from "../profile.ts";
import { dumpAll, startKit, type Kit } from "../helpers/relay-kit.ts";

const figures: Record<string, number | string | boolean> = {};
const dir = mkdtempSync(join(tmpdir(), "wr-secrets-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  reportFigures("secrets", figures);
});

/** the forms a number takes in text: E.164, national digits, national and international formatting */
function numberForms(e164: string): string[] {
  const p = parsePhoneNumberFromString(e164)!;
  return [e164, p.nationalNumber, p.formatNational(), p.formatInternational(), p.formatNational().replace(/[()]/g, "").replace(/\s/g, "-")];
}

const codeIn = (text: string, code: string) => new RegExp(`(?<![0-9])${code}(?![0-9])`).test(text);

describe.each(DB_KINDS)("secrets at rest and in the log on %s", (kind: DbKind) => {
  let kit: Kit;
  const deviceTokens: string[] = [];
  const codes: string[] = [];
  const numbers = ["+14155550181", "+447912345681", "+14155550182"];

  beforeAll(async () => {
    kit = await startKit({ kind, logFile: join(dir, `relay-${kind}.log`), logLevel: "debug" });
    const url = kit.relay.url;
    const lastCodeTo = async (number: string) => {
      await kit.relay.running.worker.drain();
      const m = kit.twilio.messages.filter((x) => x.to === number).at(-1)!;
      const code = /\b(\d{6})\b/.exec(m.body!)![1]!;
      codes.push(code);
      return code;
    };
    const wearers = scale(2, 6);
    for (let w = 0; w < wearers; w++) {
      const number = numbers[w % numbers.length]!.replace(/\d$/, String(w % 10));
      if (!numbers.includes(number)) numbers.push(number);
      const { token } = await register(url, { timezone: "America/New_York", model: "Sense", appVersion: "1.0.0" });
      deviceTokens.push(token);
      // a wrong code, a resend, then the right one
      await call(url, "PUT", "/v1/me/phone", { token, json: { number } });
      const first = await lastCodeTo(number);
      await call(url, "POST", "/v1/me/phone/verify", { token, json: { code: first === "123456" ? "654321" : "123456" } });
      await call(url, "PUT", "/v1/me/phone", { token, json: { number: parsePhoneNumberFromString(number)!.formatNational(), country: parsePhoneNumberFromString(number)!.country } });
      const code = await lastCodeTo(number);
      expect((await call(url, "POST", "/v1/me/phone/verify", { token, json: { code } })).status).toBe(200);
      expect((await linkX(kit.relay, token)).status).toBe(200);
      if (kit.google) {
        kit.google.addUser();
        expect((await linkGoogle(url, token)).status).toBe(200);
      }
      await call(url, "PATCH", "/v1/me", { token, json: { preferences: { quietHours: null } } });
      const s = await call(url, "POST", "/v1/summaries", {
        token,
        json: { eventId: `sum-${w}`, date: "2026-11-19", activity: { steps: 8000 + w, distanceMeters: 6000, calories: 2000 }, sleep: { minutesAsleep: 400 } },
      });
      expect(s.status).toBe(202);
      const b = await call(url, "POST", "/v1/battery", { token, json: battery(kit.relay.clock, 9) });
      expect(b.body.action).toBe("sms");
      await call(url, "POST", "/v1/heartbeat", { token, json: { observedAt: kit.relay.clock.now().toISOString(), level: 9 } });
      await call(url, "GET", "/v1/me", { token });
      await call(url, "GET", "/v1/deliveries?limit=50", { token });
      await kit.relay.running.worker.drain();
      // Twilio's side: receipts for every message, and the wearer texts HELP, STOP and START
      for (const m of kit.twilio.messages.filter((x) => x.to === number)) await kit.twilio.sendStatusCallback(m.sid, "delivered", url + "/webhooks/twilio/status");
      for (const word of ["HELP", "STOP", "START"]) expect((await kit.twilio.sendInbound(url, url, number, word)).status).toBe(200);
      kit.relay.clock.advance(60_000);
    }
    // one wearer unlinks and erases everything; a bad token and a bad body are logged as warnings
    const last = deviceTokens.at(-1)!;
    await call(url, "DELETE", "/v1/me/x", { token: last });
    await call(url, "DELETE", "/v1/me", { token: last });
    await call(url, "GET", "/v1/me", { token: last });
    await call(url, "PUT", "/v1/me/phone", { token: deviceTokens[0], raw: `{"number": "${numbers[0]}", "code": "${codes[0]}"` });
    await kit.relay.running.worker.drain();
  });
  afterAll(async () => {
    await kit?.stop();
  });

  function thirdPartySecrets(): [string, string][] {
    const out: [string, string][] = [];
    for (const t of kit.x.tokensIssued) {
      out.push(["X access token", t.accessToken]);
      if (t.refreshToken) out.push(["X refresh token", t.refreshToken]);
    }
    for (const t of kit.google?.tokensIssued ?? []) if (t.refreshToken) out.push(["Google refresh token", t.refreshToken]);
    out.push(["X client secret", kit.x.clientSecret], ["Twilio auth token", kit.twilio.authToken]);
    if (kit.google) out.push(["Google client secret", kit.google.clientSecret]);
    out.push(["relay secret", kit.relay.config.secret.toString("base64")]);
    for (const t of deviceTokens) out.push(["device token", t]);
    return out;
  }
  /** Google's access tokens and authorization codes are not listed by the fake: found by their shape */
  const GOOGLE_SHAPES = [/ya29\.fake-[A-Za-z0-9_-]{8,}/, /4\/fake-[A-Za-z0-9_-]{8,}/, /1\/\/fake-[A-Za-z0-9_-]{8,}/];

  it("when the session is over, then no table holds a third-party token, an SMS code or a device token in plaintext", async () => {
    const all = await dumpAll(kit.relay.store);
    const secrets = thirdPartySecrets();
    let cells = 0;
    const found: string[] = [];
    for (const [table, rows] of Object.entries(all)) {
      for (const row of rows) {
        for (const [col, v] of Object.entries(row)) {
          if (typeof v !== "string") continue;
          cells++;
          for (const [what, s] of secrets) if (v.includes(s)) found.push(`${table}.${col}: ${what}`);
          for (const re of GOOGLE_SHAPES) if (re.test(v)) found.push(`${table}.${col}: Google token or code`);
          for (const c of codes) if (codeIn(v, c)) found.push(`${table}.${col}: SMS code ${c}`);
        }
      }
    }
    expect(kit.x.tokensIssued.length).toBeGreaterThan(0);
    expect(codes.length).toBeGreaterThan(0);
    expect(found).toEqual([]);
    figures[`${kind}.tables / text cells scanned`] = `${Object.keys(all).length} / ${cells}`;
    figures[`${kind}.secrets searched (tokens, codes)`] = `${secrets.length} + ${codes.length} codes`;
    figures[`${kind}.plaintext found in the database`] = found.length;
  });

  it("when the session is over, then the debug log holds no token, code, secret or full phone number", async () => {
    const log = kit.readLog();
    const lines = log.split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(20);
    expect(kit.relay.running.deps.log.level).toBe("debug");
    const found: string[] = [];
    for (const [i, line] of lines.entries()) {
      for (const [what, s] of thirdPartySecrets()) if (line.includes(s)) found.push(`line ${i + 1}: ${what}`);
      for (const re of GOOGLE_SHAPES) if (re.test(line)) found.push(`line ${i + 1}: Google token or code`);
      for (const c of codes) if (codeIn(line, c)) found.push(`line ${i + 1}: SMS code ${c}`);
      for (const n of numbers) for (const form of numberForms(n)) if (line.includes(form)) found.push(`line ${i + 1}: phone number ${form}`);
    }
    expect(found, found.slice(0, 5).map((f) => `${f}\n${lines[Number(/line (\d+)/.exec(f)![1]) - 1]?.slice(0, 400)}`).join("\n")).toEqual([]);
    figures[`${kind}.log lines scanned (debug)`] = lines.length;
    figures[`${kind}.secrets or numbers found in the log`] = found.length;
  });
});
