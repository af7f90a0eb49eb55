import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import twilio from "twilio";
import { verifyTwilioSignature } from "../../../backend/src/providers/twilio.ts";
import { checkResponse, loadSpec } from "../../helpers/spec-check.ts";
import { FAKE_AUTH_TOKEN, FAKE_FROM, startFakeTwilio, type FakeTwilio } from "../../helpers/fake-twilio.ts";

const token = FAKE_AUTH_TOKEN;
const params = { MessageSid: "SM" + "ab".repeat(16), MessageStatus: "delivered", To: "+15551230000", From: FAKE_FROM };

describe("verifyTwilioSignature", () => {
  const url = "https://relay.example/webhooks/twilio/status";
  const good = twilio.getExpectedTwilioSignature(token, url, params);

  it("when the signature was made with the auth token over the URL and params, then it is accepted", () => {
    expect(verifyTwilioSignature(token, good, url, params)).toBe(true);
  });

  it("when the signature was made with another token, then it is refused", () => {
    expect(verifyTwilioSignature(token, twilio.getExpectedTwilioSignature("other-token", url, params), url, params)).toBe(false);
  });

  it("when a param was changed after signing, then it is refused", () => {
    expect(verifyTwilioSignature(token, good, url, { ...params, MessageStatus: "failed" })).toBe(false);
  });

  it("when the header is missing or empty, then it is refused", () => {
    expect(verifyTwilioSignature(token, undefined, url, params)).toBe(false);
    expect(verifyTwilioSignature(token, "", url, params)).toBe(false);
  });

  it("when Twilio signed the URL without the default port and we check it with :443 (or the reverse), then it is accepted", () => {
    expect(verifyTwilioSignature(token, good, "https://relay.example:443/webhooks/twilio/status", params)).toBe(true);
    const withPort = twilio.getExpectedTwilioSignature(token, "https://relay.example:443/webhooks/twilio/status", params);
    expect(verifyTwilioSignature(token, withPort, url, params)).toBe(true);
  });

  it("when the URL has a non-default port, then the port is part of what is signed", () => {
    const local = "http://127.0.0.1:8787/webhooks/twilio/status";
    const sig = twilio.getExpectedTwilioSignature(token, local, params);
    expect(verifyTwilioSignature(token, sig, local, params)).toBe(true);
    expect(verifyTwilioSignature(token, sig, "http://127.0.0.1/webhooks/twilio/status", params)).toBe(false);
  });

  it("when the URL is not a URL, then it is refused rather than throwing", () => {
    expect(verifyTwilioSignature(token, good, "not a url", params)).toBe(false);
  });
});

describe("fake Twilio playing Twilio's side of the webhooks", () => {
  let fake: FakeTwilio;
  let relay: Server;
  let relayUrl: string;
  const seen: { path: string; valid: boolean; params: Record<string, string> }[] = [];
  const publicUrl = "https://relay.example";

  beforeAll(async () => {
    fake = await startFakeTwilio();
    // a stand-in relay that checks signatures against PUBLIC_URL + path, as the real one must
    relay = createServer((req, res) => {
      let raw = "";
      req.on("data", (c: Buffer) => (raw += c.toString("utf8")));
      req.on("end", () => {
        const p = Object.fromEntries(new URLSearchParams(raw));
        const sig = req.headers["x-twilio-signature"] as string | undefined;
        const valid = verifyTwilioSignature(fake.authToken, sig, publicUrl + req.url, p);
        seen.push({ path: req.url ?? "", valid, params: p });
        res.writeHead(valid ? 200 : 403, { "content-type": "text/xml" });
        res.end(valid ? "<Response/>" : "");
      });
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
    relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await fake.close();
    await new Promise<void>((r) => relay.close(() => r()));
  });

  it("when an inbound SMS is sent signed, then the relay sees a valid signature over its public URL and Twilio's fields", async () => {
    const a = await fake.sendInbound(relayUrl, publicUrl, "+15551230000", "STOP");
    expect(a.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ path: "/webhooks/twilio/inbound", valid: true, params: { From: "+15551230000", Body: "STOP", To: FAKE_FROM, AccountSid: fake.accountSid } });
    expect(seen.at(-1)!.params.MessageSid).toMatch(/^SM[0-9a-f]{32}$/);
  });

  it("when an inbound SMS is sent unsigned or wrongly signed, then the relay refuses it", async () => {
    expect((await fake.sendInbound(relayUrl, publicUrl, "+15551230000", "STOP", { signed: false })).status).toBe(403);
    expect((await fake.sendInbound(relayUrl, publicUrl, "+15551230000", "STOP", { signed: "wrong" })).status).toBe(403);
  });

  it("when a status callback is sent for a message the fake accepted, then it carries the message's sid, numbers and the error code", async () => {
    const res = await fetch(`${fake.url}/2010-04-01/Accounts/${fake.accountSid}/Messages.json`, {
      method: "POST",
      headers: { authorization: "Basic " + Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString("base64"), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ To: "+15551230000", From: FAKE_FROM, Body: "hi" }).toString(),
    });
    const sid = ((await res.json()) as { sid: string }).sid;
    const a = await fake.sendStatusCallback(sid, "undelivered", `${relayUrl}/webhooks/twilio/status`, { errorCode: 30003, signedUrl: `${publicUrl}/webhooks/twilio/status` });
    expect(a.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ valid: true, params: { MessageSid: sid, MessageStatus: "undelivered", ErrorCode: "30003", To: "+15551230000", From: FAKE_FROM, ApiVersion: "2010-04-01" } });
  });

  it("when the fake answers a create, then its Message JSON matches the spec's 201 schema", async () => {
    const path = `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`;
    const res = await fetch(fake.url + path, {
      method: "POST",
      headers: { authorization: "Basic " + Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString("base64"), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ To: "+15551230000", From: FAKE_FROM, Body: "日".repeat(71) }).toString(),
    });
    const json = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(201);
    expect(checkResponse(loadSpec("twilio_api_v2010.json"), "POST", path, 201, json)).toEqual([]);
    expect(json).toMatchObject({ status: "queued", num_segments: "2", direction: "outbound-api" });
    expect(String(json.date_created)).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
  });

  it("when a request breaks the spec, then the fake records the violation and answers 400 like Twilio", async () => {
    const before = fake.specViolations.length;
    const res = await fetch(`${fake.url}/2010-04-01/Accounts/${fake.accountSid}/Messages.json`, {
      method: "POST",
      headers: { authorization: "Basic " + Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString("base64"), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ From: FAKE_FROM, Body: "hi" }).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 21604, status: 400 });
    expect(fake.specViolations.slice(before).join("\n")).toContain("required property 'To'");
    fake.specViolations.length = before;
  });

  it("when the body is missing, then the fake answers 21602 (a Twilio rule, not a spec violation)", async () => {
    const res = await fetch(`${fake.url}/2010-04-01/Accounts/${fake.accountSid}/Messages.json`, {
      method: "POST",
      headers: { authorization: "Basic " + Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString("base64"), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ To: "+15551230000", From: FAKE_FROM }).toString(),
    });
    expect(await res.json()).toMatchObject({ code: 21602, status: 400 });
  });

  it("when the credentials are wrong, then the fake answers 401 with Twilio's 20003 error JSON", async () => {
    const res = await fetch(`${fake.url}/2010-04-01/Accounts/${fake.accountSid}/Messages.json`, {
      method: "POST",
      headers: { authorization: "Basic " + Buffer.from(`${fake.accountSid}:nope`).toString("base64"), "content-type": "application/x-www-form-urlencoded" },
      body: "To=%2B15551230000&From=%2B15005550006&Body=hi",
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 20003, message: "Authenticate", more_info: "https://www.twilio.com/docs/errors/20003", status: 401 });
  });
});
