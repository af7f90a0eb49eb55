import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSnsSms } from "../../../backend/src/providers/sns.ts";
import { SendError, type SmsProvider } from "../../../backend/src/providers/sms.ts";
import { FAKE_AWS_CREDENTIALS, startFakeSns, type FakeSns } from "../../helpers/fake-sns.ts";

const TO = "+15551230000";

async function sendError(p: Promise<unknown>): Promise<SendError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SendError);
    return e as SendError;
  }
  throw new Error("expected the send to fail");
}

describe("SNS adapter against a fake SNS", () => {
  let fake: FakeSns;
  let sms: SmsProvider;

  beforeAll(async () => {
    fake = await startFakeSns();
    sms = createSnsSms({ region: "us-east-1", endpoint: fake.url, credentials: FAKE_AWS_CREDENTIALS, timeoutMs: 500 });
  });
  afterEach(() => {
    expect(fake.problems).toEqual([]);
  });
  afterAll(async () => {
    await fake.close();
  });

  it("when a message is sent, then SNS receives a signed Publish with the number, text and Transactional type, and the MessageId comes back", async () => {
    const sent = await sms.send({ to: TO, body: "Battery 10% — charge soon", ref: "d1" });
    const p = fake.published.at(-1)!;
    expect(p).toMatchObject({ phoneNumber: TO, message: "Battery 10% — charge soon", attributes: { "AWS.SNS.SMS.SMSType": "Transactional" } });
    expect(p.params).toMatchObject({ Action: "Publish", Version: "2010-03-31" });
    expect(sent.providerId).toBe(p.messageId);
  });

  it("when a sender id is configured, then it is sent as AWS.SNS.SMS.SenderID", async () => {
    const named = createSnsSms({ region: "eu-west-1", endpoint: fake.url, credentials: FAKE_AWS_CREDENTIALS, senderId: "WristRelay" });
    await named.send({ to: "+447700900123", body: "x", ref: "d" });
    expect(fake.published.at(-1)!.attributes).toEqual({ "AWS.SNS.SMS.SMSType": "Transactional", "AWS.SNS.SMS.SenderID": "WristRelay" });
  });

  it("when SNS throttles, then the send is rate_limited, once (the SDK does not retry)", async () => {
    const before = fake.requests;
    fake.failNext(1, { status: 400, code: "Throttling", message: "Rate exceeded" });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "rate_limited", code: "Throttling", retryAfterMs: 5_000 });
    expect(fake.requests - before).toBe(1);
  });

  it("when SNS answers 429, then the send is rate_limited", async () => {
    fake.failNext(1, { status: 429, code: "TooManyRequestsException" });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "rate_limited" });
  });

  it("when SNS refuses a parameter, then the send fails permanently with the error code and without the number in the message", async () => {
    fake.failNext(1, { status: 400, code: "InvalidParameter", message: `Invalid parameter: PhoneNumber Reason: ${TO} is not valid` });
    const e = await sendError(sms.send({ to: TO, body: "x", ref: "d" }));
    expect(e).toMatchObject({ kind: "permanent", code: "InvalidParameter", optedOut: false });
    expect(e.message).not.toContain("5551230000");
  });

  it("when SNS says the number opted out, then the send fails permanently with optedOut", async () => {
    fake.failNext(1, { status: 400, code: "OptedOut", message: "Phone number is opted out" });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "permanent", code: "OptedOut", optedOut: true });
  });

  it("when SNS answers 500, then the send fails transiently", async () => {
    fake.failNext(1, { status: 500 });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "transient", code: "InternalError" });
  });

  it("when SNS takes longer than the timeout, then the send fails transiently within about timeoutMs", async () => {
    fake.failNext(1, { timeoutMs: 3_000 });
    const started = Date.now();
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "transient", code: "timeout" });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("when the answer is not XML, then the send fails transiently", async () => {
    fake.failNext(1, { malformed: true });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "transient", code: "bad_response" });
  });

  it("when SNS refuses the credentials, then the send fails permanently with AuthorizationError", async () => {
    fake.failNext(1, { status: 403, code: "AuthorizationError", message: "User is not authorized to perform: SNS:Publish" });
    expect(await sendError(sms.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "permanent", code: "AuthorizationError" });
  });

  it("when nothing listens at the endpoint, then the send fails transiently", async () => {
    const closed = await startFakeSns();
    await closed.close();
    const down = createSnsSms({ region: "us-east-1", endpoint: closed.url, credentials: FAKE_AWS_CREDENTIALS, timeoutMs: 1_000 });
    expect(await sendError(down.send({ to: TO, body: "x", ref: "d" }))).toMatchObject({ kind: "transient", code: "ECONNREFUSED" });
  });

  it("when the sender id is not 3-11 letters and digits, then the factory refuses it", () => {
    expect(() => createSnsSms({ region: "us-east-1", senderId: "Wrist Relay!" })).toThrow(/senderId/);
  });
});
