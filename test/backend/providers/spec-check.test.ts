import { describe, expect, it } from "vitest";
import { checkRequest, checkResponse, findOperation, loadSpec, parseBody } from "../../helpers/spec-check.ts";

const sid = "AC" + "00".repeat(16);
const basic = { authorization: "Basic " + Buffer.from(`${sid}:token`).toString("base64"), "content-type": "application/x-www-form-urlencoded" };
const messages = `/2010-04-01/Accounts/${sid}/Messages.json`;

describe("spec-check against the Twilio 2010 spec", () => {
  const twilio = loadSpec("twilio_api_v2010.json");

  it("when a create-message request is complete and well formed, then no violation is reported", () => {
    const body = parseBody(basic["content-type"], "To=%2B15551234567&From=%2B15005550006&Body=hi&StatusCallback=https%3A%2F%2Frelay.example%2Fwebhooks%2Ftwilio%2Fstatus");
    expect(checkRequest(twilio, { method: "POST", path: messages, headers: basic, body })).toEqual([]);
  });

  it("when To is missing, then the missing required field is reported", () => {
    const v = checkRequest(twilio, { method: "POST", path: messages, headers: basic, body: { From: "+15005550006", Body: "hi" } });
    expect(v).toHaveLength(1);
    expect(v[0]).toContain("required property 'To'");
  });

  it("when the path is unknown, then it is reported", () => {
    expect(checkRequest(twilio, { method: "POST", path: "/2010-04-01/Nope.json", headers: basic })[0]).toContain("no path in the spec matches");
  });

  it("when the method is not defined for the path, then it is reported", () => {
    expect(checkRequest(twilio, { method: "DELETE", path: messages, headers: basic })[0]).toContain("has no DELETE");
  });

  it("when there is no Authorization header, then the missing basic auth is reported", () => {
    const v = checkRequest(twilio, { method: "POST", path: messages, headers: { "content-type": basic["content-type"] }, body: { To: "+15551234567" } });
    expect(v.join("\n")).toContain("no accepted credentials");
  });

  it("when the body is JSON instead of a form, then the content type is reported", () => {
    const v = checkRequest(twilio, { method: "POST", path: messages, headers: { ...basic, "content-type": "application/json" }, body: { To: "+15551234567" } });
    expect(v.join("\n")).toContain("content type application/json is not one of application/x-www-form-urlencoded");
  });

  it("when the AccountSid in the path does not match the spec's pattern, then the path parameter is reported", () => {
    const v = checkRequest(twilio, { method: "POST", path: "/2010-04-01/Accounts/XY12/Messages.json", headers: basic, body: { To: "+15551234567" } });
    expect(v.join("\n")).toContain("path parameter AccountSid");
  });

  it("when form fields have the wrong type or enum value, then each is reported, and form strings for numbers are accepted", () => {
    const v = checkRequest(twilio, { method: "POST", path: messages, headers: basic, body: { To: "+1555", ValidityPeriod: "soon", ContentRetention: "forever" } });
    expect(v.join("\n")).toMatch(/ValidityPeriod must be integer/);
    expect(v.join("\n")).toMatch(/ContentRetention must be equal to one of the allowed values/);
    expect(checkRequest(twilio, { method: "POST", path: messages, headers: basic, body: { To: "+1555", ValidityPeriod: "600", SmartEncoded: "true" } })).toEqual([]);
  });

  it("when a field is not in the schema, then it passes under the spec's policy and is reported under 'reject'", () => {
    const req = { method: "POST", path: messages, headers: basic, body: { To: "+1555", Bdy: "typo" } };
    expect(checkRequest(twilio, req)).toEqual([]);
    expect(checkRequest(twilio, req, { unknownFields: "reject" })[0]).toContain("additional properties (Bdy)");
  });

  it("when a path has a literal and a templated match, then the operation and its path parameters are found", () => {
    expect(findOperation(twilio, "POST", messages)).toMatchObject({ operationId: "CreateMessage", pathParams: { AccountSid: sid } });
    expect(findOperation(twilio, "GET", `/2010-04-01/Accounts/${sid}.json`)).toMatchObject({ operationId: "FetchAccount" });
  });

  it("when a response uses OpenAPI 3.0 nullable fields, then null is accepted and a bad enum is not", () => {
    const ok = { sid: "SM" + "ab".repeat(16), status: "queued", error_code: null, price: null, date_sent: null, date_created: "Thu, 24 Aug 2023 05:01:45 +0000" };
    expect(checkResponse(twilio, "POST", messages, 201, ok)).toEqual([]);
    expect(checkResponse(twilio, "POST", messages, 201, { ...ok, status: "lost" }).join("\n")).toContain("response.status");
  });

  it("when the spec is loaded twice, then the same index is returned (it is parsed once)", () => {
    expect(loadSpec("twilio_api_v2010.json")).toBe(twilio);
  });
});

describe("spec-check against the X API v2 spec", () => {
  const x = loadSpec("x-openapi.json");
  const bearer = { authorization: "Bearer user-token", "content-type": "application/json" };

  it("when a post has text, then no violation is reported", () => {
    expect(checkRequest(x, { method: "POST", path: "/2/tweets", headers: bearer, body: parseBody("application/json", '{"text":"10,000 steps"}') })).toEqual([]);
  });

  it("when a post has an unknown field, then it is reported (the schema closes the object)", () => {
    expect(checkRequest(x, { method: "POST", path: "/2/tweets", headers: bearer, body: { txt: 1 } })[0]).toContain("additional properties (txt)");
  });

  it("when a post has no token, then the missing credentials are reported", () => {
    expect(checkRequest(x, { method: "POST", path: "/2/tweets", headers: { "content-type": "application/json" }, body: { text: "hi" } })[0]).toContain("no accepted credentials");
  });

  it("when a post has no body, then the required body is reported", () => {
    expect(checkRequest(x, { method: "POST", path: "/2/tweets", headers: bearer })[0]).toContain("request body is required");
  });
});
