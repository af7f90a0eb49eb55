// Twilio Programmable Messaging adapter (official `twilio` package, 6.x). Maps Twilio's answers onto
// SendError kinds for the delivery worker, which owns retries: the package's own 429 retry is off.
import { AsyncLocalStorage } from "node:async_hooks";
import twilio from "twilio";
import type RequestClient from "twilio/lib/base/RequestClient";
import { SendError, type SmsMessage, type SmsProvider, type SmsSent } from "./sms.ts";

export interface TwilioSmsOptions {
  accountSid: string;
  authToken: string;
  /** sender number (E.164) or alphanumeric id; one of from / messagingServiceSid is required */
  from?: string;
  messagingServiceSid?: string;
  /** e.g. https://api.twilio.com, or a local fake in tests */
  baseUrl: string;
  /** default StatusCallback when a message has none of its own */
  statusCallbackUrl?: string;
  /** the whole call, connect to last byte (default 10 s) */
  timeoutMs?: number;
}

type RequestOptions<T> = RequestClient.RequestOptions<T>;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_AFTER_MS = 60_000;
/** permanent and meaning the wearer opted out (replied STOP) */
const OPTED_OUT = new Set([21610]);

interface CallContext {
  signal: AbortSignal;
  headers?: Record<string, unknown>;
}

/** Fails fast with a readable message on configuration the package would reject at send time. */
export function createTwilioSms(opts: TwilioSmsOptions): SmsProvider {
  if (!opts.accountSid?.startsWith("AC")) throw new Error("twilio: accountSid must start with AC");
  if (!opts.authToken) throw new Error("twilio: authToken is required");
  if (!opts.from && !opts.messagingServiceSid) throw new Error("twilio: from or messagingServiceSid is required");
  let base: URL;
  try {
    base = new URL(opts.baseUrl);
  } catch {
    throw new Error("twilio: baseUrl is not a URL");
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  // One client (and connection pool) for all sends. Per-call data (the abort signal in, the
  // response headers out) travels in async-local storage, because the package's call chain
  // carries neither a signal nor the headers of a failed answer (RestException has no headers).
  const calls = new AsyncLocalStorage<CallContext>();
  class CallAwareRequestClient extends twilio.RequestClient {
    override async request<TData>(o: RequestOptions<TData>) {
      const res = await super.request<TData>(o);
      const ctx = calls.getStore();
      if (ctx) ctx.headers = res.headers as Record<string, unknown>;
      return res;
    }
  }
  const httpClient = new CallAwareRequestClient({ timeout: timeoutMs, autoRetry: false, keepAlive: true });
  httpClient.axios.interceptors.request.use((config) => {
    const ctx = calls.getStore();
    if (ctx) config.signal = ctx.signal;
    return config;
  });

  const client = twilio(opts.accountSid, opts.authToken, {
    httpClient,
    autoRetry: false,
    timeout: timeoutMs,
    // the package's debug log prints request details; never let TWILIO_LOG_LEVEL turn it on here
    logLevel: "info",
  });
  // TWILIO_EDGE / TWILIO_REGION in the environment would rewrite named hosts (localhost becomes
  // localhost.dublin.ie1.localhost; IP literals survive only because URL ignores the bad host):
  // the base URL alone decides where requests go.
  client.edge = undefined;
  client.region = undefined;
  client.api.baseUrl = base.origin + base.pathname.replace(/\/+$/, "");

  async function call<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<{ value?: T; error?: unknown; ctx: CallContext; timedOut: boolean }> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
    const ctx: CallContext = { signal: combined };
    // the race guarantees the answer within timeoutMs even if a layer below ignores the signal
    let onAbort = (): void => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Error("aborted"));
      if (combined.aborted) onAbort();
      else combined.addEventListener("abort", onAbort, { once: true });
    });
    aborted.catch(() => {});
    try {
      const value = await Promise.race([calls.run(ctx, fn), aborted]);
      return { value, ctx, timedOut: false };
    } catch (error) {
      return { error, ctx, timedOut: deadline.signal.aborted && !signal?.aborted };
    } finally {
      clearTimeout(timer);
      combined.removeEventListener("abort", onAbort);
    }
  }

  return {
    name: "twilio",
    async send(msg: SmsMessage, sendOpts?: { signal?: AbortSignal }): Promise<SmsSent> {
      const statusCallback = msg.statusCallback ?? opts.statusCallbackUrl;
      const r = await call(sendOpts?.signal, () =>
        client.messages.create({
          to: msg.to,
          body: msg.body,
          ...(opts.from ? { from: opts.from } : {}),
          ...(opts.messagingServiceSid ? { messagingServiceSid: opts.messagingServiceSid } : {}),
          ...(statusCallback ? { statusCallback } : {}),
        }),
      );
      if (r.error !== undefined) throw toSendError(r.error, r.ctx, r.timedOut, sendOpts?.signal?.aborted ?? false, timeoutMs);
      const m = r.value!;
      if (typeof m?.sid !== "string") throw new SendError("transient", "twilio: answer without a message sid", { code: "bad_response" });
      return { providerId: m.sid, status: m.status };
    },
    async findSent(q, findOpts) {
      // DateSent>= is a filter on the day and time the message left Twilio; a minute's margin
      // covers the clocks of this host and Twilio's disagreeing a little.
      const after = new Date(q.since.getTime() - 60_000);
      const r = await call(findOpts?.signal, () => client.messages.list({ to: q.to, dateSentAfter: after, pageSize: 100, limit: 500 }));
      if (r.error !== undefined) throw toSendError(r.error, r.ctx, r.timedOut, findOpts?.signal?.aborted ?? false, timeoutMs);
      return (r.value ?? [])
        .filter((m) => m.body === q.body && m.to === q.to && String(m.direction).startsWith("outbound") && (!opts.from || m.from === opts.from))
        .sort((a, b) => (a.dateCreated?.getTime() ?? 0) - (b.dateCreated?.getTime() ?? 0))
        .map((m) => m.sid);
    },
    async health() {
      const r = await call(undefined, () => client.api.v2010.accounts(opts.accountSid).fetch());
      if (r.error !== undefined) {
        const e = toSendError(r.error, r.ctx, r.timedOut, false, timeoutMs);
        return { ok: false, detail: e.message };
      }
      return { ok: r.value?.status === "active", detail: `account ${r.value?.status ?? "unknown"}` };
    },
  };
}

/**
 * Checks X-Twilio-Signature on a webhook: `url` is the full URL Twilio called (PUBLIC_URL + path,
 * with the query string), `params` the form fields. Tries the URL with and without the port.
 */
export function verifyTwilioSignature(authToken: string, signatureHeader: string | undefined | null, url: string, params: Record<string, string | string[]>): boolean {
  if (!authToken || !signatureHeader) return false;
  try {
    return twilio.validateRequest(authToken, signatureHeader, url, params);
  } catch {
    return false; // e.g. an unparsable URL
  }
}

function toSendError(err: unknown, ctx: CallContext, timedOut: boolean, callerAborted: boolean, timeoutMs: number): SendError {
  if (timedOut) return new SendError("transient", `twilio: no answer within ${timeoutMs} ms`, { code: "timeout" });
  if (callerAborted) return new SendError("transient", "twilio: send aborted", { code: "aborted" });
  const e = err as { status?: unknown; code?: unknown; message?: unknown; name?: unknown };
  // RestException: a non-2xx answer from Twilio
  if (typeof e?.status === "number" && e.status >= 400) {
    const status = e.status;
    const code = typeof e.code === "number" || typeof e.code === "string" ? String(e.code) : String(status);
    const text = `twilio: HTTP ${status}, code ${code}: ${redact(String(e.message ?? ""))}`;
    if (status === 429) return new SendError("rate_limited", text, { code, retryAfterMs: retryAfterMs(ctx.headers) });
    if (status >= 500) return new SendError("transient", text, { code });
    if (status === 401 || status === 403)
      return new SendError("permanent", `${text} (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)`, { code });
    return new SendError("permanent", text, { code, optedOut: OPTED_OUT.has(Number(code)) });
  }
  if (err instanceof SyntaxError) return new SendError("transient", "twilio: unreadable answer", { code: "bad_response" });
  const netCode = typeof e?.code === "string" ? e.code : undefined;
  if (netCode === "ECONNABORTED" || netCode === "ETIMEDOUT") return new SendError("transient", `twilio: no answer within ${timeoutMs} ms`, { code: "timeout" });
  return new SendError("transient", `twilio: ${netCode ?? "request failed"}${e?.message ? `: ${redact(String(e.message))}` : ""}`, { code: netCode ?? "network" });
}

/** Retry-After is seconds or an HTTP date; Twilio rarely sends it, so a minute is the default. */
function retryAfterMs(headers: Record<string, unknown> | undefined): number {
  const raw = headers?.["retry-after"] ?? headers?.["Retry-After"];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value === "string" || typeof value === "number") {
    const s = String(value).trim();
    if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
    const at = Date.parse(s);
    if (!Number.isNaN(at)) return Math.max(0, at - Date.now());
  }
  return DEFAULT_RETRY_AFTER_MS;
}

/** Twilio's messages quote the number ("The 'To' number +1555... is not valid"): keep it out of logs. */
function redact(text: string): string {
  return text.replace(/\+?\d[\d\s().-]{5,}\d/g, "[number]").slice(0, 300);
}
