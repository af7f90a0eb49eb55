import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createTwilioSms } from "../../../backend/src/providers/twilio.ts";
import { SendError, type SmsProvider } from "../../../backend/src/providers/sms.ts";
import { FAKE_FROM, startFakeTwilio, type FakeTwilio } from "../../helpers/fake-twilio.ts";

const TO = "+15551230000";
const CALLBACK = "https://relay.example/webhooks/twilio/status";

async function sendError(p: Promise<unknown>): Promise<SendError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SendError);
    return e as SendError;
  }
  throw new Error("expected the send to fail");
}

describe("Twilio adapter against the fake Twilio", () => {
  let fake: FakeTwilio;
  let sms: SmsProvider;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    sms = createTwilioSms({ accountSid: fake.accountSid, authToken: fake.authToken, from: FAKE_FROM, baseUrl: fake.url, statusCallbackUrl: CALLBACK, timeoutMs: 500 });
  });
  afterEach(() => {
    expect(fake.specViolations).toEqual([]);
  });
  afterAll(async () => {
    await fake.close();
  });

  it("when a message is sent, then Twilio receives To, From, Body and StatusCallback, and the adapter returns the SM sid and queued", async () => {
    const before = fake.messages.length;
    const sent = await sms.send({ to: TO, body: "Battery 10%", ref: "d1" });
    const [m] = (await fake.waitForMessages(before + 1)).slice(before);
    expect(m).toMatchObject({ to: TO, from: FAKE_FROM, body: "Battery 10%", statusCallback: CALLBACK });
    expect(sent.providerId).toBe(m!.sid);
    expect(sent.providerId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(sent.status).toBe("queued");
  });

  it("when the message names its own status callback, then that one is sent instead of the default", async () => {
    await sms.send({ to: TO, body: "x", ref: "d2", statusCallback: "https://relay.example/webhooks/twilio/status?d=2" });
    expect(fake.messages.at(-1)!.statusCallback).toBe("https://relay.example/webhooks/twilio/status?d=2");
  });

  it("when only a messaging service is configured, then MessagingServiceSid is sent instead of From", async () => {
    const mg = "MG" + "11".repeat(16);
    const viaService = createTwilioSms({ accountSid: fake.accountSid, authToken: fake.authToken, messagingServiceSid: mg, baseUrl: fake.url });
    const sent = await viaService.send({ to: TO, body: "x", ref: "d3" });
    expect(fake.messages.at(-1)).toMatchObject({ messagingServiceSid: mg, from: undefined });
    expect(sent.status).toBe("accepted");
  });

  it.each([
    ["+15005550001", "21211", false],
    ["+15005550002", "21612", false],
    ["+15005550003", "21408", false],
    ["+15005550004", "21610", true],
    ["+15005550009", "21614", false],
  ])("when Twilio's test number %s is the recipient, then the send fails permanently with code %s (optedOut %s)", async (to, code, optedOut) => {
    const e = await sendError(sms.send({ to, body: "x", ref: "d" }));
    expect(e).toMatchObject({ kind: "permanent", code, optedOut });
    expect(e.message).not.toContain(to.slice(2));
  });

  it("when the sender is Twilio's test number for a full queue, then the send fails permanently with 21611", async () => {
    const full = createTwilioSms({ accountSid: fake.accountSid, authToken: fake.authToken, from: "+15005550008", baseUrl: fake.url });
    expect(await sendError(full.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "permanent", code: "21611" });
  });

  it("when Twilio answers 429 with Retry-After, then the send is rate_limited for that long", async () => {
    fake.failNext(1, { status: 429, retryAfterSec: 7 });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "rate_limited", code: "20429", retryAfterMs: 7000 });
  });

  it("when Twilio answers 429 without Retry-After, then the send is rate_limited for 60 s", async () => {
    fake.failNext(1, { status: 429 });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "rate_limited", retryAfterMs: 60_000 });
  });

  it("when Twilio answers 500, then the send fails transiently, once (the package does not retry)", async () => {
    const before = fake.requests;
    fake.failNext(1, { status: 500 });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "transient", code: "20500" });
    expect(fake.requests - before).toBe(1);
  });

  it("when Twilio answers with another 4xx code, then the send fails permanently with that code", async () => {
    fake.failNext(1, { code: 21606, status: 400 });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "permanent", code: "21606", optedOut: false });
  });

  it("when Twilio takes longer than the client's timeout, then the send fails transiently within about timeoutMs", async () => {
    fake.failNext(1, { timeoutMs: 3_000 });
    const started = Date.now();
    const e = await sendError(sms.send({ to: TO, body: "x", ref: "d" }));
    const took = Date.now() - started;
    expect(e).toMatchObject({ kind: "transient", code: "timeout" });
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(1_500);
  });

  it("when the client gave up on a slow request, then the fake drops it, or keeps it with processAfterHangUp like a real late Twilio", async () => {
    const before = fake.messages.length;
    fake.failNext(1, { timeoutMs: 300 });
    fake.failNext(1, { timeoutMs: 300, processAfterHangUp: true });
    const fast = createTwilioSms({ accountSid: fake.accountSid, authToken: fake.authToken, from: FAKE_FROM, baseUrl: fake.url, timeoutMs: 100 });
    await sendError(fast.send({ to: TO, body: "dropped", ref: "d" }));
    await sendError(fast.send({ to: TO, body: "late", ref: "d" }));
    const all = await fake.waitForMessages(before + 1, 2_000);
    await new Promise((r) => setTimeout(r, 400));
    expect(fake.messages.slice(before).map((m) => m.body)).toEqual(["late"]);
    expect(all.length).toBe(before + 1);
  });

  it("when the caller aborts the send, then it fails transiently at once", async () => {
    fake.failNext(1, { timeoutMs: 3_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const started = Date.now();
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }, { signal: ac.signal }))).toMatchObject({ kind: "transient", code: "aborted" });
    expect(Date.now() - started).toBeLessThan(400);
  });

  it("when Twilio's answer is not JSON, then the send fails transiently", async () => {
    fake.failNext(1, { malformed: true });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "transient", code: "bad_response" });
  });

  it("when the auth token is wrong, then the send fails permanently with 20003 and a message naming the settings to check", async () => {
    const wrong = createTwilioSms({ accountSid: fake.accountSid, authToken: "not-the-token", from: FAKE_FROM, baseUrl: fake.url });
    const e = await sendError(wrong.send({ to: TO, body: "x", ref: "d" }));
    expect(e).toMatchObject({ kind: "permanent", code: "20003" });
    expect(e.message).toContain("TWILIO_AUTH_TOKEN");
  });

  it("when a message was accepted earlier, then findSent finds it by number and exact body, and nothing else", async () => {
    const to = "+15551239876";
    const since = new Date(Date.now() - 1_000);
    const sent = await sms.send({ to, body: "WristRelay: watch battery 9%.", ref: "f1" });
    await sms.send({ to, body: "WristRelay: watch battery 9%. ", ref: "f2" }); // one space more: another text
    await sms.send({ to: "+15551239877", body: "WristRelay: watch battery 9%.", ref: "f3" });
    const before = fake.messages.length;
    expect(await sms.findSent!({ to, body: "WristRelay: watch battery 9%.", since })).toEqual([sent.providerId]);
    expect(await sms.findSent!({ to, body: "WristRelay: watch battery 8%.", since })).toEqual([]);
    // nothing sent by looking; one filtered list call, as the spec describes it
    expect(fake.messages.length).toBe(before);
  });

  it("when the message was accepted before the time asked about, then findSent does not count it", async () => {
    const to = "+15551239878";
    await sms.send({ to, body: "an older text", ref: "f4" });
    expect(await sms.findSent!({ to, body: "an older text", since: new Date(Date.now() + 5 * 60_000) })).toEqual([]);
  });

  it("when Twilio lists more than one page of messages to the number, then findSent reads past the first page", async () => {
    const to = "+15551239879";
    const since = new Date(Date.now() - 1_000);
    const first = await sms.send({ to, body: "the one", ref: "f5" });
    for (let i = 0; i < 120; i++) await sms.send({ to, body: `filler ${i}`, ref: `f6-${i}` });
    expect(await sms.findSent!({ to, body: "the one", since })).toEqual([first.providerId]);
  });

  it("when Twilio answers the lookup with 503, then findSent fails transiently (the worker retries later instead of sending blind)", async () => {
    fake.failNext(1, { status: 503 });
    const e = await sendError(sms.findSent!({ to: TO, body: "x", since: new Date() }));
    expect(e.kind).toBe("transient");
  });

  it("when the message list is asked with a DateSent> that is not a date-time, then the fake answers 400 and reports it against the spec", async () => {
    const auth = "Basic " + Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString("base64");
    const res = await fetch(`${fake.url}/2010-04-01/Accounts/${fake.accountSid}/Messages.json?To=%2B15551230000&DateSent%3E=yesterday`, { headers: { authorization: auth } });
    expect(res.status).toBe(400);
    expect(fake.specViolations.join("\n")).toContain("DateSent>");
    fake.specViolations.length = 0;
  });

  it("when health is checked, then the account is fetched and nothing is sent", async () => {
    const before = fake.messages.length;
    expect(await sms.health!()).toEqual({ ok: true, detail: "account active" });
    expect(fake.messages.length).toBe(before);
  });

});

describe("Twilio adapter without a reachable Twilio", () => {
  it("when TWILIO_REGION and TWILIO_EDGE are set in the environment, then requests still go to the base URL's host", async () => {
    // the package would rewrite "localhost" to "localhost.dublin.ie1.localhost" (an IP literal it cannot rewrite)
    const hosts: string[] = [];
    const server = createServer((req, res) => {
      hosts.push(req.headers.host ?? "");
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ sid: "SM" + "ab".repeat(16), status: "queued" }));
    });
    await new Promise<void>((r) => server.listen(0, "localhost", r));
    const port = (server.address() as AddressInfo).port;
    process.env.TWILIO_REGION = "ie1";
    process.env.TWILIO_EDGE = "dublin";
    try {
      const sms = createTwilioSms({ accountSid: "AC" + "00".repeat(16), authToken: "t", from: FAKE_FROM, baseUrl: `http://localhost:${port}`, timeoutMs: 2_000 });
      await expect(sms.send({ to: TO, body: "x", ref: "d" })).resolves.toMatchObject({ status: "queued" });
      expect(hosts).toEqual([`localhost:${port}`]);
    } finally {
      delete process.env.TWILIO_REGION;
      delete process.env.TWILIO_EDGE;
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("when nothing listens at the base URL, then the send fails transiently with ECONNREFUSED", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const sms = createTwilioSms({ accountSid: "AC" + "00".repeat(16), authToken: "t", from: FAKE_FROM, baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 1_000 });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "transient", code: "ECONNREFUSED" });
  });

  it("when the configuration is incomplete, then the factory says what is missing", () => {
    const base = { accountSid: "AC" + "00".repeat(16), authToken: "t", baseUrl: "http://127.0.0.1:1" };
    expect(() => createTwilioSms(base)).toThrow(/from or messagingServiceSid/);
    expect(() => createTwilioSms({ ...base, from: FAKE_FROM, accountSid: "SK1" })).toThrow(/must start with AC/);
    expect(() => createTwilioSms({ ...base, from: FAKE_FROM, authToken: "" })).toThrow(/authToken/);
  });
});
