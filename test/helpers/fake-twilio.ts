// A local stand-in for the Twilio REST API (Messages create and list, Account fetch) on 127.0.0.1, port 0.
// Every request is checked against the official OpenAPI spec (../shared/specs/twilio_api_v2010.json);
// Twilio's test-credential magic numbers and error JSON are reproduced. It can also play Twilio's
// side of webhooks (status callbacks and inbound SMS, signed like Twilio signs them).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { randomBytes } from "node:crypto";
import twilio from "twilio";
import { checkRequest, findOperation, loadSpec, parseBody } from "./spec-check.ts";

/** Test values only: built at run time, nothing like a live credential but the required "AC". */
export const FAKE_ACCOUNT_SID = "AC" + "00".repeat(16);
export const FAKE_AUTH_TOKEN = "fake-twilio-auth-token";
/** Twilio's test "From" that always passes */
export const FAKE_FROM = "+15005550006";

export interface ReceivedMessage {
  sid: string;
  to: string;
  from?: string;
  messagingServiceSid?: string;
  body?: string;
  statusCallback?: string;
  /** every form field as received */
  params: Record<string, string | string[]>;
  receivedAt: Date;
}

export type TwilioFailure =
  | { status: 500 | 502 | 503 | 504 }
  | { status: 429; retryAfterSec?: number }
  /**
   * hold the request this long, then handle it normally; if the client hung up meanwhile the
   * message is dropped, unless processAfterHangUp (real Twilio may have queued it: a duplicate risk)
   */
  | { timeoutMs: number; processAfterHangUp?: boolean }
  /** handle the request at once (the message exists and is listed), but answer only this much later */
  | { answerAfterMs: number }
  /** a Twilio error answer with this code, e.g. { code: 21611, status: 400 } */
  | { code: number; status: 400 | 401 | 403 | 404 }
  /** 201 with a body that is not JSON */
  | { malformed: true };

export interface FakeTwilioOptions {
  accountSid?: string;
  authToken?: string;
  /** see spec-check CheckOptions; default "reject": a misspelt field is a violation here */
  unknownFields?: "spec" | "reject";
}

export interface WebhookAnswer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

export interface FakeTwilio {
  /** base URL to give the adapter as baseUrl (TWILIO_API_URL) */
  readonly url: string;
  readonly accountSid: string;
  readonly authToken: string;
  /** messages accepted (201), in order */
  readonly messages: ReceivedMessage[];
  /** every HTTP request received, whatever the answer */
  readonly requests: number;
  /** how requests differed from the official spec; a clean run leaves this empty */
  readonly specViolations: string[];
  /** the next n requests fail this way (queued after any failures already set) */
  failNext(n: number, failure: TwilioFailure): void;
  /** resolves with the messages once at least n have arrived; rejects after timeoutMs */
  waitForMessages(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  /**
   * Posts a delivery receipt for a message to the relay, as Twilio would: form fields MessageSid,
   * MessageStatus, ErrorCode (when given), AccountSid, From, To, ApiVersion, signed over
   * `signedUrl` (default: the URL posted to; pass PUBLIC_URL + path when they differ).
   */
  sendStatusCallback(sid: string, status: string, relayUrlWithPath: string, opts?: { errorCode?: number | string; signedUrl?: string; signed?: boolean | "wrong" }): Promise<WebhookAnswer>;
  /**
   * Posts an inbound SMS to the relay. `relayUrl` and `publicUrl` may be bases (path
   * /webhooks/twilio/inbound is added) or full URLs; the signature covers publicUrl.
   */
  sendInbound(relayUrl: string, publicUrl: string, from: string, body: string, opts?: { signed?: boolean | "wrong"; to?: string }): Promise<WebhookAnswer>;
  close(): Promise<void>;
}

const MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json";
const ACCOUNT = "/2010-04-01/Accounts/{Sid}.json";
const INBOUND_PATH = "/webhooks/twilio/inbound";

/** To numbers of Twilio's test credentials and the error each one gives */
const TEST_TO: Record<string, [number, string]> = {
  "+15005550001": [21211, "The 'To' number is not a valid phone number."],
  "+15005550002": [21612, "The 'To' phone number is not currently reachable via SMS."],
  "+15005550003": [21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number."],
  "+15005550004": [21610, "Attempt to send to unsubscribed recipient"],
  "+15005550009": [21614, "'To' number is not a valid mobile number"],
};
const TEST_FROM: Record<string, [number, string]> = {
  "+15005550001": [21212, "The 'From' number is not a valid phone number, shortcode, or alphanumeric sender ID."],
  "+15005550007": [21606, "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account."],
  "+15005550008": [21611, "This 'From' number has exceeded the maximum number of queued messages."],
};

export async function startFakeTwilio(opts: FakeTwilioOptions = {}): Promise<FakeTwilio> {
  const spec = loadSpec("twilio_api_v2010.json");
  const accountSid = opts.accountSid ?? FAKE_ACCOUNT_SID;
  const authToken = opts.authToken ?? FAKE_AUTH_TOKEN;
  const messages: ReceivedMessage[] = [];
  const specViolations: string[] = [];
  const failures: TwilioFailure[] = [];
  const waiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let requests = 0;

  const server = createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const failure = failures.shift();
      const go = (): void => {
        try {
          handle(req, Buffer.concat(chunks).toString("utf8"), res, failure);
        } catch (err) {
          answer(res, 500, twilioError(20500, `fake-twilio crashed: ${String(err)}`, 500));
        }
      };
      if (failure && "timeoutMs" in failure) {
        let clientGone = false;
        res.on("close", () => {
          if (!res.writableFinished) clientGone = true;
        });
        const t = setTimeout(() => {
          timers.delete(t);
          if (!clientGone || failure.processAfterHangUp) go();
        }, failure.timeoutMs);
        timers.add(t);
      } else if (failure && "answerAfterMs" in failure) {
        const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
        res.end = ((...a: unknown[]) => {
          const t = setTimeout(() => {
            timers.delete(t);
            end(...a);
          }, failure.answerAfterMs);
          timers.add(t);
          return res;
        }) as typeof res.end;
        go();
      } else go();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function handle(req: IncomingMessage, raw: string, res: ServerResponse, failure: TwilioFailure | undefined): void {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    let body: unknown;
    try {
      body = parseBody(req.headers["content-type"], raw);
    } catch {
      body = raw;
    }
    const violations = checkRequest(spec, { method, path, headers: req.headers, body }, { unknownFields: opts.unknownFields ?? "reject" });
    specViolations.push(...violations);
    const op = findOperation(spec, method, path.split("?")[0]!);

    // Twilio authenticates before anything else
    if (!authorized(req.headers.authorization)) {
      return answer(res, 401, twilioError(20003, "Authenticate", 401));
    }
    if (failure && !("timeoutMs" in failure) && !("answerAfterMs" in failure)) return fail(res, failure);
    if (!op || (op.pathTemplate !== MESSAGES && op.pathTemplate !== ACCOUNT) || (op.method !== "GET" && op.pathTemplate === ACCOUNT)) {
      return answer(res, 404, twilioError(20404, `The requested resource ${path.split("?")[0]} was not found`, 404));
    }
    const pathSid = op.pathParams.AccountSid ?? op.pathParams.Sid;
    if (pathSid !== accountSid) return answer(res, 404, twilioError(20404, `The requested resource ${path.split("?")[0]} was not found`, 404));
    if (op.pathTemplate === ACCOUNT) return answer(res, 200, accountJson());
    if (op.method === "GET") return listMessages(res, new URL(path, "http://x").searchParams, violations);

    const form = (body && typeof body === "object" ? body : {}) as Record<string, string | string[]>;
    const one = (k: string): string | undefined => (Array.isArray(form[k]) ? (form[k] as string[])[0] : (form[k] as string | undefined));
    const to = one("To");
    const from = one("From");
    const service = one("MessagingServiceSid");
    const text = one("Body");
    if (!to) return answer(res, 400, twilioError(21604, "A 'To' phone number is required.", 400));
    if (!from && !service) return answer(res, 400, twilioError(21603, "A 'From' phone number is required.", 400));
    if (!text && !form.MediaUrl && !one("ContentSid")) return answer(res, 400, twilioError(21602, "Message body is required.", 400));
    if (violations.length > 0) {
      // codes from twilio.com/docs/api/errors: 21609 invalid StatusCallback, 70002 bad request (wrong type or shape)
      const bad = violations.find((x) => x.includes("body.StatusCallback"));
      if (bad) return answer(res, 400, twilioError(21609, "Invalid 'StatusCallback'", 400));
      return answer(res, 400, twilioError(70002, `Bad request: ${violations[0]}`, 400));
    }
    if (from && TEST_FROM[from]) return answer(res, 400, twilioError(...TEST_FROM[from]!, 400));
    if (TEST_TO[to]) return answer(res, 400, twilioError(...TEST_TO[to]!, 400));
    if (!/^\+[1-9]\d{6,14}$/.test(to) && !/^[a-z]+:/.test(to)) return answer(res, 400, twilioError(21211, "The 'To' number is not a valid phone number.", 400));
    if (text && text.length > 1600) return answer(res, 400, twilioError(21658, "Parameter exceeded character limit: Body", 400));

    const sid = "SM" + randomBytes(16).toString("hex");
    const message: ReceivedMessage = { sid, to, from, messagingServiceSid: service, body: text, statusCallback: one("StatusCallback"), params: form, receivedAt: new Date() };
    messages.push(message);
    for (const w of [...waiters]) w();
    answer(res, 201, messageJson(message, false));
  }

  /** Twilio's resource for a message; once listed, it has left for the carrier (date_sent, "sent"). */
  function messageJson(m: ReceivedMessage, sent: boolean): Record<string, unknown> {
    const created = rfc2822(m.receivedAt);
    const media = m.params.MediaUrl;
    return {
      account_sid: accountSid,
      api_version: "2010-04-01",
      body: m.body ?? "",
      date_created: created,
      date_sent: sent ? created : null,
      date_updated: created,
      direction: "outbound-api",
      error_code: null,
      error_message: null,
      from: m.from ?? null,
      messaging_service_sid: m.messagingServiceSid ?? null,
      num_media: media ? String([media].flat().length) : "0",
      num_segments: String(segments(m.body ?? "")),
      price: null,
      price_unit: "USD",
      sid: m.sid,
      status: sent ? "sent" : m.messagingServiceSid ? "accepted" : "queued",
      subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${m.sid}/Media.json` },
      to: m.to,
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${m.sid}.json`,
    };
  }

  /**
   * GET Messages.json (ListMessage): filters To, From, DateSent (a day), DateSent> / DateSent<
   * (Twilio reads "DateSent>=x" as the key "DateSent>"), newest first as Twilio lists them, paged by
   * PageSize (default 50) and Page.
   */
  function listMessages(res: ServerResponse, q: URLSearchParams, violations: string[]): void {
    if (violations.length > 0) return answer(res, 400, twilioError(70002, `Bad request: ${violations[0]}`, 400));
    const bound = (v: string | null, end: boolean): number | undefined => {
      if (v === null) return undefined;
      const day = /^\d{4}-\d{2}-\d{2}$/.test(v);
      const t = Date.parse(day ? `${v}T00:00:00Z` : v);
      return day && end ? t + 86_400_000 - 1 : t;
    };
    const after = bound(q.get("DateSent>"), false);
    const before = bound(q.get("DateSent<"), true);
    const onDay = q.get("DateSent");
    const matching = messages
      .filter((m) => (!q.has("To") || m.to === q.get("To")) && (!q.has("From") || m.from === q.get("From")))
      .filter((m) => {
        const t = m.receivedAt.getTime();
        return (after === undefined || t >= after) && (before === undefined || t <= before) && (onDay === null || m.receivedAt.toISOString().slice(0, 10) === onDay.slice(0, 10));
      })
      .reverse();
    const pageSize = Number(q.get("PageSize") ?? 50);
    const page = Number(q.get("Page") ?? 0);
    const slice = matching.slice(page * pageSize, (page + 1) * pageSize);
    const base = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
    const pageUri = (p: number) => {
      const u = new URLSearchParams(q);
      u.set("PageSize", String(pageSize));
      u.set("Page", String(p));
      if (p > 0) u.set("PageToken", `PA${p}`);
      else u.delete("PageToken");
      return `${base}?${u.toString()}`;
    };
    answer(res, 200, {
      messages: slice.map((m) => messageJson(m, true)),
      end: page * pageSize + Math.max(0, slice.length - 1),
      first_page_uri: pageUri(0),
      next_page_uri: (page + 1) * pageSize < matching.length ? pageUri(page + 1) : null,
      page,
      page_size: pageSize,
      previous_page_uri: page > 0 ? pageUri(page - 1) : null,
      start: page * pageSize,
      uri: pageUri(page),
    });
  }

  function fail(res: ServerResponse, f: TwilioFailure): void {
    if ("timeoutMs" in f || "answerAfterMs" in f) return; // handled before: held, or answered late
    if ("malformed" in f) {
      res.writeHead(201, { "content-type": "application/json" });
      res.end('{"sid": "SM');
      return;
    }
    if ("code" in f) return answer(res, f.status, twilioError(f.code, `Error ${f.code} (injected by the test)`, f.status));
    if (f.status === 429) {
      const headers = f.retryAfterSec !== undefined ? { "retry-after": String(f.retryAfterSec) } : undefined;
      return answer(res, 429, twilioError(20429, "Too Many Requests", 429), headers);
    }
    answer(res, f.status, twilioError(20500, "Internal Server Error", f.status));
  }

  function authorized(header: string | undefined): boolean {
    const m = /^Basic\s+(\S+)$/i.exec(header ?? "");
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
    const i = decoded.indexOf(":");
    return i > 0 && decoded.slice(0, i) === accountSid && decoded.slice(i + 1) === authToken;
  }

  function accountJson(): Record<string, unknown> {
    const now = rfc2822(new Date());
    return {
      auth_token: "[redacted]",
      date_created: now,
      date_updated: now,
      friendly_name: "fake account",
      owner_account_sid: accountSid,
      sid: accountSid,
      status: "active",
      subresource_uris: {},
      type: "Full",
      uri: `/2010-04-01/Accounts/${accountSid}.json`,
    };
  }

  async function post(target: string, signedUrl: string, params: Record<string, string>, signed: boolean | "wrong"): Promise<WebhookAnswer> {
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", "user-agent": "TwilioProxy/1.1 (fake)" };
    if (signed !== false) {
      const token = signed === "wrong" ? `${authToken}-wrong` : authToken;
      headers["x-twilio-signature"] = twilio.getExpectedTwilioSignature(token, signedUrl, params);
    }
    const res = await fetch(target, { method: "POST", headers, body: new URLSearchParams(params).toString(), signal: AbortSignal.timeout(10_000) });
    const out: Record<string, string> = {};
    res.headers.forEach((value, key) => {
      out[key] = value;
    });
    return { status: res.status, body: await res.text(), headers: out };
  }

  return {
    url,
    accountSid,
    authToken,
    messages,
    get requests() {
      return requests;
    },
    specViolations,
    failNext(n, failure) {
      for (let i = 0; i < n; i++) failures.push(failure);
    },
    waitForMessages(n, timeoutMs = 5_000) {
      if (messages.length >= n) return Promise.resolve(messages.slice());
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (messages.length < n) return;
          cleanup();
          resolve(messages.slice());
        };
        const t = setTimeout(() => {
          cleanup();
          reject(new Error(`fake-twilio: ${messages.length} of ${n} messages after ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(t);
          waiters.delete(check);
        };
        waiters.add(check);
      });
    },
    sendStatusCallback(sid, status, relayUrlWithPath, o = {}) {
      const m = messages.find((x) => x.sid === sid);
      const params: Record<string, string> = {
        AccountSid: accountSid,
        ApiVersion: "2010-04-01",
        From: m?.from ?? FAKE_FROM,
        MessageSid: sid,
        MessageStatus: status,
        SmsSid: sid,
        SmsStatus: status,
        To: m?.to ?? "",
      };
      if (m?.messagingServiceSid) params.MessagingServiceSid = m.messagingServiceSid;
      if (o.errorCode !== undefined) params.ErrorCode = String(o.errorCode);
      return post(relayUrlWithPath, o.signedUrl ?? relayUrlWithPath, params, o.signed ?? true);
    },
    sendInbound(relayUrl, publicUrl, from, body, o = {}) {
      const target = withPath(relayUrl, INBOUND_PATH);
      const signedUrl = withPath(publicUrl, new URL(target).pathname + new URL(target).search);
      const sid = "SM" + randomBytes(16).toString("hex");
      const params: Record<string, string> = {
        AccountSid: accountSid,
        ApiVersion: "2010-04-01",
        Body: body,
        From: from,
        MessageSid: sid,
        NumMedia: "0",
        NumSegments: String(segments(body)),
        SmsMessageSid: sid,
        SmsSid: sid,
        SmsStatus: "received",
        To: o.to ?? FAKE_FROM,
      };
      return post(target, signedUrl, params, o.signed ?? true);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

function twilioError(code: number, message: string, status: number): Record<string, unknown> {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

/** Twilio writes dates as "Thu, 24 Aug 2023 05:01:45 +0000" */
function rfc2822(d: Date): string {
  return d.toUTCString().replace(/GMT$/, "+0000");
}

/** GSM-7 fits 160 per single SMS, 153 per part; anything else is UCS-2: 70, 67 per part */
function segments(text: string): number {
  // eslint-disable-next-line no-control-regex
  const gsm = /^[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà^{}\\[~\]|€]*$/.test(text);
  const [single, part] = gsm ? [160, 153] : [70, 67];
  if (text.length <= single) return 1;
  return Math.ceil(text.length / part);
}

function withPath(base: string, path: string): string {
  const u = new URL(base);
  if (u.pathname === "/" || u.pathname === "") {
    const p = new URL(path, "http://x");
    u.pathname = p.pathname;
    if (p.search) u.search = p.search;
  }
  return u.toString();
}

