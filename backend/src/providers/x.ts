// X (Twitter) API v2 adapter: OAuth 2.0 authorization code with PKCE (confidential client), token
// refresh and revocation, @name lookup and posting. Maps X's answers onto the SendError kinds the
// delivery worker understands. Tokens never appear in errors or logs.
//
// Requests go over node:http(s) with keep-alive sockets, not fetch: on Node 20 a fetch cost about
// 0.7 ms of CPU and a burst of short-lived stream objects per call, a plain request about 0.1 ms,
// which decides whether one process keeps up with X's 500 posts a second (bench:summaries).
import { randomUUID } from "node:crypto";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { SendError } from "./sms.ts";

export { SendError };

/** What the relay asks for: posting, reading the @name, and a refresh token. */
export const X_SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"] as const;

export interface XClientOptions {
  /** base of /2/... e.g. https://api.x.com (X_API_URL) */
  apiUrl: string;
  /** e.g. https://x.com/i/oauth2/authorize (X_AUTHORIZE_URL) */
  authorizeUrl: string;
  clientId: string;
  clientSecret: string;
  /** each call, connect to last byte (default 10 s) */
  timeoutMs?: number;
  /** used instead of the built-in keep-alive node:http(s) transport when given */
  fetch?: typeof fetch;
  /** keep-alive connections to X at most (default 64; the worker uses DELIVERY_CONCURRENCY at a time) */
  maxSockets?: number;
  now?: () => number;
}

export interface XTokens {
  accessToken: string;
  /** null only when X issued none (offline.access not granted) */
  refreshToken: string | null;
  /** epoch ms when the access token stops working (X: 2 hours) */
  expiresAt: number;
  scope: string[];
}

export interface XCallOptions {
  signal?: AbortSignal;
}

/** The part of X the delivery worker needs; the real client and the outbox both fulfil it. */
export interface XPoster {
  readonly name: "x" | "outbox";
  /** Posts one text; throws SendError (see createXClient for the mapping). */
  postTweet(accessToken: string, text: string, opts?: XCallOptions): Promise<{ id: string }>;
}

export interface XClient extends XPoster {
  readonly name: "x";
  /** Where to send the wearer to approve (scopes X_SCOPES, PKCE S256). */
  authorizeUrl(p: { redirectUri: string; state: string; codeChallenge: string }): string;
  exchangeCode(p: { code: string; codeVerifier: string; redirectUri: string }, opts?: XCallOptions): Promise<XTokens>;
  /** The newest tokens; refreshToken is X's new one when it sends one (always store it), else the one given. */
  refresh(refreshToken: string, opts?: XCallOptions): Promise<XTokens & { refreshToken: string }>;
  me(accessToken: string, opts?: XCallOptions): Promise<{ id: string; username: string; name?: string }>;
  revoke(token: string, tokenTypeHint: "access_token" | "refresh_token", opts?: XCallOptions): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_AFTER_MS = 60_000;
const MIN_RETRY_AFTER_MS = 1_000;

interface Answer {
  status: number;
  headers: { get(name: string): string | null };
  body: unknown;
}

interface Outgoing {
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
}

/** One HTTP exchange: status, headers and the body as text; rejects on network errors and on abort. */
type Transport = (url: string, req: Outgoing, signal: AbortSignal) => Promise<{ status: number; headers: Answer["headers"]; text: string }>;

/** Bigger answers are not X's: the call fails (transient) instead of buffering them. */
const MAX_ANSWER_BYTES = 1 << 20;

/**
 * Failures, as SendError:
 * - transient: 5xx, timeouts, network errors (retry with backoff)
 * - rate_limited: 429, retryAfterMs from x-rate-limit-reset (epoch s; the 24-hour user/app reset
 *   when that window is the one used up), else Retry-After, else 60 s; code "rate_limited" when
 *   every post of the app has to wait, "user_rate_limited" when only this wearer's do
 * - permanent: 401 code "unauthorized" (refresh, then retry once), 403 duplicate content code
 *   "duplicate", other 403 "forbidden", other 4xx "http_<status>"; on the token endpoint a bad or
 *   used refresh token or code is "invalid_grant" and bad client credentials "invalid_client".
 */

/** X's consent page for one link flow: OAuth 2.0 authorization code with PKCE (S256). */
export function xAuthorizeUrl(base: string | URL, clientId: string, f: { redirectUri: string; state: string; codeChallenge: string }): string {
  const url = new URL(base);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: f.redirectUri,
    scope: X_SCOPES.join(" "),
    state: f.state,
    code_challenge: f.codeChallenge,
    code_challenge_method: "S256",
  }).toString();
  return url.toString();
}

export function createXClient(opts: XClientOptions): XClient {
  if (!opts.clientId) throw new Error("x: clientId is required");
  if (!opts.clientSecret) throw new Error("x: clientSecret is required");
  const apiBase = baseUrl(opts.apiUrl, "apiUrl");
  const authorizeBase = new URL(baseUrl(opts.authorizeUrl, "authorizeUrl"));
  const transport = opts.fetch ? fetchTransport(opts.fetch) : nodeTransport(opts.maxSockets ?? 64);
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const basic = "Basic " + Buffer.from(`${encodeURIComponent(opts.clientId)}:${encodeURIComponent(opts.clientSecret)}`).toString("base64");

  async function call(what: string, path: string, req: Outgoing, signal: AbortSignal | undefined): Promise<Answer> {
    // a timer cleared when the call ends: AbortSignal.timeout() and AbortSignal.any() would keep a
    // timer and the signals alive for the whole timeout, thousands of them at hundreds of posts a second
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    const onAbort = () => abort.abort();
    if (signal?.aborted) abort.abort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const res = await transport(apiBase + path, req, abort.signal);
      let body: unknown = res.text;
      try {
        body = res.text ? JSON.parse(res.text) : undefined;
      } catch {
        // not JSON (a proxy's HTML page, ...): keep the text for the reason
      }
      return { status: res.status, headers: res.headers, body };
    } catch (err) {
      const reason = timedOut ? `timed out after ${timeoutMs} ms` : signal?.aborted ? "aborted" : `network error (${(err as Error)?.name ?? "Error"})`;
      throw new SendError("transient", `x ${what}: ${reason}`, { code: timedOut ? "timeout" : "network" });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async function token(what: string, form: Record<string, string>, signal: AbortSignal | undefined): Promise<XTokens> {
    const ans = await call(what, "/2/oauth2/token", {
      method: "POST",
      headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ ...form, client_id: opts.clientId }).toString(),
    }, signal);
    if (ans.status !== 200) throw tokenEndpointError(what, ans, now());
    const b = ans.body as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown; scope?: unknown } | undefined;
    if (!b || typeof b.access_token !== "string" || b.access_token === "") throw new SendError("transient", `x ${what}: answer without access_token`, { code: "bad_answer" });
    const expiresIn = typeof b.expires_in === "number" && b.expires_in > 0 ? b.expires_in : 7200;
    return {
      accessToken: b.access_token,
      refreshToken: typeof b.refresh_token === "string" && b.refresh_token !== "" ? b.refresh_token : null,
      expiresAt: now() + expiresIn * 1000,
      scope: typeof b.scope === "string" ? b.scope.split(/\s+/).filter(Boolean) : [],
    };
  }

  return {
    name: "x",

    authorizeUrl: (flow) => xAuthorizeUrl(authorizeBase, opts.clientId, flow),

    exchangeCode({ code, codeVerifier, redirectUri }, o) {
      return token("exchangeCode", { grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: codeVerifier }, o?.signal);
    },

    async refresh(refreshToken, o) {
      const t = await token("refresh", { grant_type: "refresh_token", refresh_token: refreshToken }, o?.signal);
      return { ...t, refreshToken: t.refreshToken ?? refreshToken };
    },

    async me(accessToken, o) {
      const ans = await call("me", "/2/users/me", { method: "GET", headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" } }, o?.signal);
      if (ans.status !== 200) throw apiError("me", ans, now());
      const data = (ans.body as { data?: { id?: unknown; username?: unknown; name?: unknown } } | undefined)?.data;
      if (!data || typeof data.id !== "string" || typeof data.username !== "string") throw new SendError("transient", "x me: answer without data.id/username", { code: "bad_answer" });
      return { id: data.id, username: data.username, ...(typeof data.name === "string" ? { name: data.name } : {}) };
    },

    async postTweet(accessToken, text, o) {
      const ans = await call("postTweet", "/2/tweets", {
        method: "POST",
        headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ text }),
      }, o?.signal);
      if (ans.status !== 201 && ans.status !== 200) throw apiError("postTweet", ans, now());
      const id = (ans.body as { data?: { id?: unknown } } | undefined)?.data?.id;
      // posted, but we cannot tell the id: not worth a retry (which would be a duplicate)
      return { id: typeof id === "string" ? id : "" };
    },

    async revoke(tokenValue, tokenTypeHint, o) {
      const ans = await call("revoke", "/2/oauth2/revoke", {
        method: "POST",
        headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({ token: tokenValue, token_type_hint: tokenTypeHint, client_id: opts.clientId }).toString(),
      }, o?.signal);
      if (ans.status !== 200) throw tokenEndpointError("revoke", ans, now());
    },
  };
}

export interface OutboxXPost {
  id: string;
  text: string;
  at: Date;
}

/** X_PROVIDER=outbox: records each post through onPost (the relay stores it) and posts nothing. */
export function createOutboxX(opts: { onPost?: (post: OutboxXPost) => void | Promise<void>; now?: () => Date } = {}): XPoster & { readonly name: "outbox"; readonly posts: OutboxXPost[] } {
  const posts: OutboxXPost[] = [];
  const now = opts.now ?? (() => new Date());
  return {
    name: "outbox",
    posts,
    async postTweet(_accessToken: string, text: string) {
      const post = { id: `outbox-${randomUUID()}`, text, at: now() };
      if (opts.onPost) await opts.onPost(post);
      else posts.push(post);
      return { id: post.id };
    },
  };
}

// ---------------------------------------------------------------------------------------------

function nodeTransport(maxSockets: number): Transport {
  // idle connections are closed after 30 s (X closes them sooner); Node unrefs them meanwhile
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: Math.min(maxSockets, 16), timeout: 30_000 };
  const agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };
  return (url, out, signal) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const secure = u.protocol === "https:";
      const headers = out.body === undefined ? out.headers : { ...out.headers, "content-length": String(Buffer.byteLength(out.body)) };
      const req = (secure ? httpsRequest : httpRequest)(u, { method: out.method, headers, agent: secure ? agents.https : agents.http, signal }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) res.destroy(new Error("answer too large"));
          else chunks.push(c);
        });
        res.on("error", reject);
        res.on("close", () => {
          if (!res.complete) reject(new Error("connection closed before the answer ended"));
        });
        res.on("end", () => {
          const h = res.headers;
          const get = (name: string) => {
            const v = h[name.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
          };
          resolve({ status: res.statusCode ?? 0, headers: { get }, text: Buffer.concat(chunks, size).toString("utf8") });
        });
      });
      req.on("error", reject);
      req.end(out.body);
    });
}

function fetchTransport(doFetch: typeof fetch): Transport {
  return async (url, out, signal) => {
    const res = await doFetch(url, { method: out.method, headers: out.headers, body: out.body, signal, redirect: "manual" });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
}

function baseUrl(raw: string, name: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`x: ${name} is not a URL`);
  }
  return u.origin + u.pathname.replace(/\/+$/, "");
}

/** X's own words for the failure (problem detail/title or errors[0].message), never a token. */
function reasonOf(body: unknown): string {
  if (!body || typeof body !== "object") return typeof body === "string" ? body.slice(0, 200) : "";
  const b = body as { detail?: unknown; title?: unknown; errors?: { message?: unknown; detail?: unknown }[]; error?: unknown; error_description?: unknown };
  const parts = [b.error, b.error_description, b.title, b.detail, b.errors?.[0]?.message ?? b.errors?.[0]?.detail].filter((x): x is string => typeof x === "string" && x !== "");
  return parts.join(": ").slice(0, 300);
}

/**
 * How long a 429 says to wait: until x-rate-limit-reset (epoch s; the 24-hour user or app reset when
 * that window is the one used up), else Retry-After, else 60 s. A reset already reached by our
 * clock (clocks differ) waits MIN_RETRY_AFTER_MS, so a skewed clock cannot turn into a burst of 429s.
 */
function retryAfterMs(headers: Answer["headers"], nowMs: number): number {
  const epoch = (name: string): number | undefined => {
    const v = Number(headers.get(name));
    return headers.get(name) !== null && Number.isFinite(v) && v > 0 ? v * 1000 : undefined;
  };
  const until = (atMs: number) => (atMs > nowMs ? atMs - nowMs : MIN_RETRY_AFTER_MS);
  const resets = [epoch("x-rate-limit-reset")];
  // a used-up 24-hour window outlasts the 15-minute one
  if (headers.get("x-user-limit-24hour-remaining") === "0") resets.push(epoch("x-user-limit-24hour-reset"));
  if (headers.get("x-app-limit-24hour-remaining") === "0") resets.push(epoch("x-app-limit-24hour-reset"));
  const known = resets.filter((r): r is number => r !== undefined);
  if (known.length > 0) return until(Math.max(...known));
  const ra = headers.get("retry-after");
  if (ra !== null) {
    const secs = Number(ra);
    if (Number.isFinite(secs) && secs >= 0) return Math.max(MIN_RETRY_AFTER_MS, secs * 1000);
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return until(at);
  }
  return DEFAULT_RETRY_AFTER_MS;
}

/**
 * A 429 stops the endpoint for the whole app (code "rate_limited": the worker pauses every X post
 * until the reset), unless it says that only this wearer's 24-hour window is used up while the
 * endpoint's and the app's are not ("user_rate_limited": only this post waits).
 */
function rateLimitCode(headers: Answer["headers"]): "rate_limited" | "user_rate_limited" {
  const userOnly = headers.get("x-user-limit-24hour-remaining") === "0" && headers.get("x-rate-limit-remaining") !== "0" && headers.get("x-app-limit-24hour-remaining") !== "0";
  return userOnly ? "user_rate_limited" : "rate_limited";
}

function commonError(what: string, ans: Answer, nowMs: number, reason: string): SendError | undefined {
  if (ans.status === 429) {
    return new SendError("rate_limited", `x ${what}: 429 ${reason}`.trim(), { code: rateLimitCode(ans.headers), retryAfterMs: retryAfterMs(ans.headers, nowMs) });
  }
  if (ans.status >= 500 || ans.status < 200 || (ans.status >= 300 && ans.status < 400)) {
    return new SendError("transient", `x ${what}: HTTP ${ans.status} ${reason}`.trim(), { code: `http_${ans.status}` });
  }
  return undefined;
}

function apiError(what: string, ans: Answer, nowMs: number): SendError {
  const reason = reasonOf(ans.body);
  const common = commonError(what, ans, nowMs, reason);
  if (common) return common;
  if (ans.status === 401) return new SendError("permanent", `x ${what}: 401 unauthorized ${reason}`.trim(), { code: "unauthorized" });
  if (ans.status === 403) {
    const duplicate = /duplicate/i.test(reason);
    return new SendError("permanent", `x ${what}: 403 ${reason}`.trim(), { code: duplicate ? "duplicate" : "forbidden" });
  }
  return new SendError("permanent", `x ${what}: HTTP ${ans.status} ${reason}`.trim(), { code: `http_${ans.status}` });
}

function tokenEndpointError(what: string, ans: Answer, nowMs: number): SendError {
  const reason = reasonOf(ans.body);
  const common = commonError(what, ans, nowMs, reason);
  if (common) return common;
  const error = (ans.body as { error?: unknown } | undefined)?.error;
  if (ans.status === 401 || error === "invalid_client" || error === "unauthorized_client") {
    return new SendError("permanent", `x ${what}: client credentials refused ${reason}`.trim(), { code: "invalid_client" });
  }
  // X answers a bad, used or revoked code / refresh token with 400 (invalid_grant, or invalid_request
  // "Value passed for the token was invalid"): either way the wearer has to link again
  if (ans.status === 400 && what !== "revoke") return new SendError("permanent", `x ${what}: ${reason || "HTTP 400"}`, { code: "invalid_grant" });
  return new SendError("permanent", `x ${what}: HTTP ${ans.status} ${reason}`.trim(), { code: typeof error === "string" ? error : `http_${ans.status}` });
}
