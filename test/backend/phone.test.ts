// Phone numbers and their confirmation: what the wearer sees when typing a number and the code.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { call, lastCode, register, startRelay, verifiedWearer, type TestRelay } from "../helpers/relay.ts";

let db: TestDatabase;
let relay: TestRelay;
beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  relay = await startRelay({ databaseUrl: db.url });
});
afterAll(async () => {
  await relay?.stop();
  await db?.drop();
});

const put = (token: string, body: object) => call(relay.url, "PUT", "/v1/me/phone", { token, json: body });
const verify = (token: string, code: string) => call(relay.url, "POST", "/v1/me/phone/verify", { token, json: { code } });

describe("phone verification", () => {
  it("when a number is given in national form with its country, then it is masked and a 6-digit code is sent to its E.164 form", async () => {
    const { token } = await register(relay.url);
    const r = await put(token, { number: "(415) 555-2671", country: "US" });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ masked: "+1 •••• •• 71", verified: false });
    const code = await lastCode(relay, "+14155552671");
    expect(code).toMatch(/^\d{6}$/);
    const me = await call(relay.url, "GET", "/v1/me", { token });
    expect(me.body.phone).toEqual({ masked: "+1 •••• •• 71", verified: false, optedOut: false });
    const ok = await verify(token, code.slice(0, 3) + " " + code.slice(3));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ masked: "+1 •••• •• 71", verified: true });
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.phone.verified).toBe(true);
  });

  it("when the number is a string that cannot be a phone number, short or long, then 422 invalid_phone", async () => {
    const { token } = await register(relay.url);
    for (const number of ["hello", "+1 555", "+999 1234567", "12", "", "+1 415 555 2671 4155552671 4155552671 4155552671"]) {
      const r = await put(token, { number });
      expect(r.status, JSON.stringify(number)).toBe(422);
      expect(r.body.code).toBe("invalid_phone");
    }
  });

  it("when the number is sent as a JSON number, then 422 invalid_phone saying to send an E.164 string", async () => {
    const { token } = await register(relay.url);
    const r = await put(token, { number: 14155550100 });
    expect(r.status).toBe(422);
    expect(r.headers.get("content-type")).toContain("application/problem+json");
    expect(r.body.code).toBe("invalid_phone");
    expect(r.body.detail).toMatch(/string/);
    expect(r.body.detail).toMatch(/E\.164/);
  });

  it("when the number is an absurdly long string, then 400 invalid_request", async () => {
    const { token } = await register(relay.url);
    const r = await put(token, { number: "1".repeat(201) });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe("invalid_request");
  });

  it("when the wearer sends again the number they already confirmed, then 200 verified and no new code", async () => {
    const { token } = await verifiedWearer(relay, "+14155552672");
    await relay.running.worker.drain();
    const before = (await relay.outbox!.list()).length;
    for (const body of [{ number: "+14155552672" }, { number: "(415) 555-2672", country: "US" }]) {
      const r = await put(token, body);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ masked: "+1 •••• •• 72", verified: true });
    }
    await relay.running.worker.drain();
    expect((await relay.outbox!.list()).length).toBe(before);
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.phone).toEqual({ masked: "+1 •••• •• 72", verified: true, optedOut: false });
    const other = await put(token, { number: "+14155552673" });
    expect(other.status).toBe(202);
    expect(other.body).toEqual({ masked: "+1 •••• •• 73", verified: false });
  });

  it("when the number is in a country the relay does not serve, then 422 country_not_allowed naming the countries", async () => {
    const { token } = await register(relay.url);
    const r = await put(token, { number: "+79161234567" });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("country_not_allowed");
    expect(r.body.detail).toContain("US, CA, GB, JP, DE, FR, AU");
    expect(r.body.detail).toContain("RU");
  });

  it("when the code is wrong five times, then each answer counts the tries left and the sixth try is refused with 429 even with the right code", async () => {
    const { token } = await register(relay.url);
    await put(token, { number: "+442079460958" });
    const code = await lastCode(relay, "+442079460958");
    const wrong = code === "000000" ? "111111" : "000000";
    const details: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await verify(token, wrong);
      expect(r.status).toBe(422);
      expect(r.body.code).toBe("code_mismatch");
      details.push(r.body.detail);
    }
    expect(details.slice(2)).toEqual(["That code is not right; 2 tries left.", "That code is not right; 1 try left.", "That code is not right; ask for a new one."]);
    const r = await verify(token, code);
    expect(r.status).toBe(429);
    expect(r.body.code).toBe("too_many_attempts");
  });

  it("when the code is older than 10 minutes, then 422 code_expired", async () => {
    const { token } = await register(relay.url);
    await put(token, { number: "+61491570156" });
    const code = await lastCode(relay, "+61491570156");
    relay.clock.advance(10 * 60_000 + 1);
    const r = await verify(token, code);
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("code_expired");
  });

  it("when no code was asked for, then 409 no_code_pending", async () => {
    const { token } = await register(relay.url);
    expect((await verify(token, "123456")).body.code).toBe("no_code_pending");
  });

  it("when codes are asked for too often for one number, then 429 rate_limited with Retry-After", async () => {
    const number = "+33612345678";
    const tokens = await Promise.all([1, 2, 3, 4].map(() => register(relay.url)));
    for (let i = 0; i < 3; i++) expect((await put(tokens[i].token, { number })).status).toBe(202);
    const r = await put(tokens[3].token, { number });
    expect(r.status).toBe(429);
    expect(r.body.code).toBe("rate_limited");
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    relay.clock.advance(3_600_000);
    expect((await put(tokens[3].token, { number })).status).toBe(202);
  });

  it("when one device asks for codes too often in a day, then 429 rate_limited", async () => {
    const { token } = await register(relay.url);
    for (let i = 0; i < 5; i++) expect((await put(token, { number: `+4915112345${String(600 + i)}` })).status).toBe(202);
    const r = await put(token, { number: "+4915112345699" });
    expect(r.status).toBe(429);
    expect(r.body.code).toBe("rate_limited");
  });

  it("when the phone is removed, then /v1/me shows none", async () => {
    const { token } = await register(relay.url);
    await put(token, { number: "+819012345678" });
    expect((await call(relay.url, "DELETE", "/v1/me/phone", { token })).status).toBe(204);
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.phone).toBeNull();
  });

  it("when registrations from one address exceed the hourly limit, then 429 rate_limited", async () => {
    const db2 = await createTestDatabase("sqlite");
    const r2 = await startRelay({ databaseUrl: db2.url, env: { REGISTRATIONS_PER_HOUR: "2" } });
    try {
      await register(r2.url);
      await register(r2.url);
      const r = await call(r2.url, "POST", "/v1/devices", { json: { timezone: "UTC" } });
      expect(r.status).toBe(429);
      expect(r.body.code).toBe("rate_limited");
      expect(r.headers.get("retry-after")).toBeTruthy();
    } finally {
      await r2.stop();
      await db2.drop();
    }
  });
});
