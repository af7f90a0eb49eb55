// Twilio webhooks with missing, wrong and replayed signatures, and the OAuth callbacks (X, Google)
// with forged or reused `state`. A refused or replayed request must cause nothing at all.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import twilio from "twilio";
import { DB_KINDS, type DbKind } from "../../helpers/db.ts";
import { FAKE_FROM } from "../../helpers/fake-twilio.ts";
import { linkGoogle } from "../../helpers/fake-google.ts";
import { linkX } from "../../helpers/relay-x.ts";
import { battery, call, register, verifiedWearer } from "../../helpers/relay.ts";
import { reportFigures, scale } from "../profile.ts";
import { dumpAll, GOOGLE_ROUTES_FILE, HAS_GOOGLE, startKit, type Kit } from "../helpers/relay-kit.ts";

const figures: Record<string, number | string | boolean> = {};
const INBOUND = "/webhooks/twilio/inbound";
const STATUS = "/webhooks/twilio/status";

interface Signed {
  path: string;
  params: Record<string, string>;
  signature?: string;
}

describe.each(DB_KINDS)("Twilio webhooks on %s", (kind: DbKind) => {
  let kit: Kit;
  let url: string;

  const sid = () => "SM" + randomBytes(16).toString("hex");
  const inbound = (from: string, body: string, messageSid = sid()): Record<string, string> => ({
    AccountSid: kit.twilio.accountSid,
    ApiVersion: "2010-04-01",
    Body: body,
    From: from,
    MessageSid: messageSid,
    NumMedia: "0",
    NumSegments: "1",
    SmsMessageSid: messageSid,
    SmsSid: messageSid,
    SmsStatus: "received",
    To: FAKE_FROM,
  });
  /** signs as Twilio does: PUBLIC_URL (here where the relay listens) + path, over the sorted form fields */
  const sign = (path: string, params: Record<string, string>, token = kit.twilio.authToken, base = url): Signed => ({
    path,
    params,
    signature: twilio.getExpectedTwilioSignature(token, base + path, params),
  });
  const post = async (r: Signed, over: Partial<Record<string, string>> = {}) => {
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    if (r.signature !== undefined) headers["x-twilio-signature"] = r.signature;
    const res = await fetch(url + r.path, { method: "POST", headers, body: new URLSearchParams({ ...r.params, ...over } as Record<string, string>).toString() });
    return { status: res.status, body: await res.text(), type: res.headers.get("content-type") ?? "" };
  };
  const optedOut = async (number: string) =>
    !!(await kit.relay.store.db.selectFrom("optouts").select("number").where("number", "=", number).executeTakeFirst());
  const snapshot = async () => {
    const all = await dumpAll(kit.relay.store);
    delete all.rate_events;
    return JSON.stringify(all, (_k, v) => (typeof v === "bigint" ? Number(v) : v));
  };

  beforeAll(async () => {
    kit = await startKit({ kind });
    url = kit.relay.url;
  });
  afterAll(async () => {
    await kit?.stop();
  });

  it("when a webhook comes unsigned, wrongly signed, signed for another URL or path, or with a field changed after signing, then 403 and nothing changes", async () => {
    const number = "+14155550170";
    await verifiedWearer(kit.relay, number);
    const before = await snapshot();
    const stop = inbound(number, "STOP");
    const cases: [string, Signed, Partial<Record<string, string>>?][] = [
      ["no signature", { path: INBOUND, params: stop }],
      ["empty signature", { ...sign(INBOUND, stop), signature: "" }],
      ["garbage signature", { ...sign(INBOUND, stop), signature: "not-base64!" }],
      ["wrong auth token", sign(INBOUND, stop, kit.twilio.authToken + "-wrong")],
      ["signed for another host", sign(INBOUND, stop, kit.twilio.authToken, "https://attacker.example")],
      ["signed for the status path", { ...sign(STATUS, stop), path: INBOUND }],
      ["Body changed after signing", sign(INBOUND, inbound(number, "HELP")), { Body: "STOP" }],
      ["From changed after signing", sign(INBOUND, stop), { From: "+14155550171" }],
      ["field added after signing", sign(INBOUND, stop), { Extra: "1" }],
      ["status: no signature", { path: STATUS, params: { MessageSid: sid(), MessageStatus: "failed" } }],
      ["status: wrong auth token", sign(STATUS, { MessageSid: sid(), MessageStatus: "failed" }, "nope")],
    ];
    for (const [what, req, over] of cases) {
      const r = await post(req, over);
      expect(r.status, what).toBe(403);
      expect(r.type, what).toContain("application/problem+json");
      expect(JSON.parse(r.body).code, what).toBe("forbidden");
    }
    expect(await snapshot()).toBe(before);
    expect(await optedOut(number)).toBe(false);
    figures[`${kind}.forged webhooks refused (403)`] = `${cases.length} / ${cases.length}`;
  });

  it("when a captured STOP is replayed after START, then the answer is 200 with empty TwiML and the number stays opted in", async () => {
    const number = "+14155550172";
    const { token } = await verifiedWearer(kit.relay, number);
    const stop = sign(INBOUND, inbound(number, "STOP"));
    expect((await post(stop)).status).toBe(200);
    expect(await optedOut(number)).toBe(true);
    const start = sign(INBOUND, inbound(number, "START"));
    expect((await post(start)).status).toBe(200);
    expect(await optedOut(number)).toBe(false);
    const before = await snapshot();
    const replays = scale(5, 50);
    for (let i = 0; i < replays; i++) {
      const r = await post(i % 2 ? start : stop);
      expect(r.status).toBe(200);
      expect(r.type).toContain("text/xml");
      expect(r.body).toMatch(/<Response\/>$/);
    }
    expect(await optedOut(number)).toBe(false);
    expect((await call(url, "GET", "/v1/me", { token })).body.phone.optedOut).toBe(false);
    const after = JSON.parse(await snapshot());
    const b = JSON.parse(before);
    expect(after.optouts).toEqual(b.optouts);
    expect(after.deliveries).toEqual(b.deliveries);
    expect(after.webhook_replays).toEqual(b.webhook_replays);
    figures[`${kind}.STOP/START replays: effects`] = `${replays} replays, 0 effects`;
  });

  it("when a HELP is replayed, even many times at once, then only the first answer carries the HELP text", async () => {
    const help = sign(INBOUND, inbound("+14155550173", "HELP"));
    const n = scale(10, 100);
    const answers = await Promise.all(Array.from({ length: n }, () => post(help)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const withMessage = answers.filter((a) => a.body.includes("<Message>"));
    expect(withMessage).toHaveLength(1);
    figures[`${kind}.concurrent HELP replays: HELP SMS`] = `${n} requests, ${withMessage.length} HELP text`;
  });

  it("when delivery receipts are replayed, then the delivery row is not touched again", async () => {
    const number = "+14155550174";
    const { token } = await verifiedWearer(kit.relay, number);
    await call(url, "POST", "/v1/battery", { token, json: battery(kit.relay.clock, 9) });
    await kit.relay.running.worker.drain();
    const row = await kit.relay.store.db.selectFrom("deliveries").select(["provider_id"]).where("to_number", "=", number).where("kind", "=", "low_battery").executeTakeFirstOrThrow();
    const receipt = (status: string, extra: Record<string, string> = {}) =>
      sign(STATUS, { AccountSid: kit.twilio.accountSid, ApiVersion: "2010-04-01", From: FAKE_FROM, To: number, MessageSid: row.provider_id!, MessageStatus: status, SmsSid: row.provider_id!, SmsStatus: status, ...extra });
    const sent = receipt("sent");
    const undelivered = receipt("undelivered", { ErrorCode: "30003" });
    expect((await post(sent)).status).toBe(204);
    expect((await post(undelivered)).status).toBe(204);
    const before = await kit.relay.store.db.selectFrom("deliveries").selectAll().where("provider_id", "=", row.provider_id!).executeTakeFirstOrThrow();
    for (const r of [sent, undelivered, sent, undelivered]) expect((await post(r)).status).toBe(204);
    const after = await kit.relay.store.db.selectFrom("deliveries").selectAll().where("provider_id", "=", row.provider_id!).executeTakeFirstOrThrow();
    expect(after).toEqual(before);
    const list = await call(url, "GET", "/v1/deliveries?limit=1", { token });
    expect(list.body[0]).toMatchObject({ kind: "low_battery", status: "undelivered", error: "twilio:30003" });
  });

  it("when STOP is replayed concurrently, then exactly one webhook is recorded and the number is opted out once", async () => {
    const number = "+14155550175";
    await verifiedWearer(kit.relay, number);
    const stop = sign(INBOUND, inbound(number, "STOP"));
    const n = scale(8, 60);
    const answers = await Promise.all(Array.from({ length: n }, () => post(stop)));
    expect(answers.map((a) => a.status)).toEqual(Array(n).fill(200));
    const rows = await kit.relay.store.db.selectFrom("webhook_replays").select("key").where("key", "=", `in:${stop.params.MessageSid}`).execute();
    expect(rows).toHaveLength(1);
    expect(await optedOut(number)).toBe(true);
  });
});

describe("OAuth callbacks", () => {
  let kit: Kit;
  let url: string;
  beforeAll(async () => {
    kit = await startKit({ kind: "sqlite" });
    url = kit.relay.url;
  });
  afterAll(async () => {
    await kit?.stop();
  });
  const tables = async (...names: string[]) => {
    const all = await dumpAll(kit.relay.store);
    return JSON.stringify(names.map((n) => all[n] ?? []));
  };
  const readablePage = (status: number, type: string | null, text: string, what: string) => {
    expect(status, what).toBe(400);
    expect(type ?? "", what).toContain("text/html");
    expect(text, what).toMatch(/<h1>/);
    expect(text, what).not.toMatch(/at \w+ \(|Error:|stack/);
  };

  for (const provider of ["x", "google"] as const) {
    const missing = provider === "google" && !HAS_GOOGLE;
    it.skipIf(missing)(
      missing
        ? `skipped: ${GOOGLE_ROUTES_FILE} (GET /google/callback) does not exist yet`
        : `when /${provider}/callback gets a forged or reused state, then a readable 400 page and nothing is stored`,
      async () => {
        const accounts = provider === "x" ? "x_accounts" : "google_accounts";
        const flows = provider === "x" ? "x_link_flows" : "google_link_flows";
        const { token } = await register(url, { timezone: "UTC" });
        if (provider === "google") kit.google!.addUser();
        const first = provider === "x" ? await linkX(kit.relay, token) : await linkGoogle(url, token);
        expect(first.status).toBe(200);
        const used = new URL(first.callbackUrl!);
        const before = await tables(accounts, flows);
        const forged = [
          ["reused state and code", used.search],
          ["reused state, another code", `?state=${used.searchParams.get("state")}&code=another`],
          ["forged state", `?state=${randomBytes(24).toString("base64url")}&code=${used.searchParams.get("code")}`],
          ["no state", `?code=${used.searchParams.get("code")}`],
          ["empty state", "?state=&code=x"],
          ["state twice", `?state=${used.searchParams.get("state")}&state=x&code=x`],
          ["huge state", `?state=${"a".repeat(4000)}&code=x`],
          ["error with reused state", `?state=${used.searchParams.get("state")}&error=access_denied`],
        ];
        for (const [what, query] of forged) {
          const res = await fetch(`${url}/${provider}/callback${query}`, { redirect: "manual" });
          readablePage(res.status, res.headers.get("content-type"), await res.text(), what);
        }
        expect(await tables(accounts, flows)).toBe(before);
        figures[`${provider} callbacks forged/reused: refused`] = `${forged.length} / ${forged.length}`;
      },
    );
  }
});

afterAll(() => {
  reportFigures("webhooks", figures);
});
