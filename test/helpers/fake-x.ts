// A local fake of X for tests: the OAuth 2.0 authorize page (PKCE S256), the token and revoke
// endpoints, GET /2/users/me and POST /2/tweets, on a real node:http server on 127.0.0.1, port 0.
// Requests to paths the official spec (x-openapi.json) has are checked against it with spec-check;
// requests the real X would refuse on protocol grounds (OAuth endpoints are not in the spec) are
// recorded too. Everything found lands in specViolations, which a happy-path test expects empty.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import twitterText from "twitter-text";
import { checkRequest, checkResponse, findOperation, loadSpec, parseBody } from "./spec-check.ts";

export interface FakeXUser {
  id: string;
  username: string;
  name: string;
}

export interface FakeXOptions {
  /** who approves the authorization (default a made-up test account) */
  user?: FakeXUser;
  clientId?: string;
  clientSecret?: string;
  /** access token lifetime in seconds (X: 7200) */
  expiresIn?: number;
}

export type FakeXFailure = { status: number; body?: unknown; headers?: Record<string, string> } | { timeoutMs: number };

export interface FakeXTweet {
  userId: string;
  text: string;
  id: string;
}

export interface FakeXIssued {
  grant: "authorization_code" | "refresh_token";
  userId: string;
  accessToken: string;
  refreshToken?: string;
  scope: string;
}

export interface FakeX {
  /** base URL of the API (X_API_URL) */
  url: string;
  /** the authorize page (X_AUTHORIZE_URL) */
  authorizeUrl: string;
  clientId: string;
  clientSecret: string;
  user: FakeXUser;
  tweets: FakeXTweet[];
  specViolations: string[];
  tokensIssued: FakeXIssued[];
  /** every API request as received: method, path (with query), no bodies */
  requests: { method: string; path: string }[];
  /** the next n requests to /2/... (optionally only those to `path`) fail this way; { timeoutMs } holds the answer back */
  failNext(n: number, failure: FakeXFailure, filter?: { path?: string }): void;
  /** the next /2/... request (optionally only to `path`) answers 429 with x-rate-limit-reset = resetEpochSec */
  rateLimitNext(resetEpochSec: number, filter?: { path?: string }): void;
  /**
   * As X does when the app's window is used up: every POST /2/tweets answers 429 (x-rate-limit-remaining 0,
   * x-rate-limit-reset = resetEpochSec) until `now()` (epoch ms; the relay's test clock) reaches the reset.
   */
  rateLimitPostsUntil(resetEpochSec: number, now: () => number): void;
  /** POST /2/tweets requests answered 429 so far (rateLimitPostsUntil, rateLimitNext, failNext) */
  rateLimited: number;
  /** the next authorization is refused: redirect with error=access_denied */
  denyNextAuthorization(): void;
  /** every refresh token issued so far stops working (as after 6 months, or a revocation at X) */
  expireRefreshTokens(): void;
  /** every access token issued so far stops working (as after 2 hours) */
  expireAccessTokens(): void;
  close(): Promise<void>;
}

const SCOPES = new Set([
  "block.read", "bookmark.read", "bookmark.write", "follows.read", "follows.write", "like.read", "like.write", "list.read", "list.write",
  "media.write", "mute.read", "mute.write", "offline.access", "space.read", "tweet.moderate.write", "tweet.read", "tweet.write", "users.read",
]);
const DUPLICATE = { detail: "You are not allowed to create a Tweet with duplicate content.", type: "about:blank", title: "Forbidden", status: 403 };
const UNAUTHORIZED = { title: "Unauthorized", type: "about:blank", status: 401, detail: "Unauthorized" };

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  user: FakeXUser;
  used: boolean;
}

interface TokenInfo {
  user: FakeXUser;
  scope: string;
  active: boolean;
}

export async function startFakeX(opts: FakeXOptions = {}): Promise<FakeX> {
  const spec = loadSpec("x-openapi.json");
  const clientId = opts.clientId ?? "fake-x-client-for-tests";
  const clientSecret = opts.clientSecret ?? "fake-x-secret-not-real";
  const user = opts.user ?? { id: "1000000000000000001", username: "wristrelay_tester", name: "Test Wearer" };
  const expiresIn = opts.expiresIn ?? 7200;

  const codes = new Map<string, Grant>();
  const accessTokens = new Map<string, TokenInfo>();
  const refreshTokens = new Map<string, TokenInfo>();
  const failures: { failure: FakeXFailure; path?: string }[] = [];
  let denyNext = false;
  let postsLimited: { resetEpochSec: number; now: () => number } | undefined;
  let nextTweetId = 1_860_000_000_000_000_000n;
  const held = new Set<ServerResponse>();

  const fake: FakeX = {
    url: "",
    authorizeUrl: "",
    clientId,
    clientSecret,
    user,
    tweets: [],
    specViolations: [],
    tokensIssued: [],
    requests: [],
    failNext(n, failure, filter) {
      for (let i = 0; i < n; i++) failures.push({ failure, path: filter?.path });
    },
    rateLimitNext(resetEpochSec, filter) {
      failures.push({
        path: filter?.path,
        failure: {
          status: 429,
          body: { title: "Too Many Requests", detail: "Too Many Requests", type: "about:blank", status: 429 },
          headers: { "x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": String(resetEpochSec) },
        },
      });
    },
    rateLimitPostsUntil(resetEpochSec, now) {
      postsLimited = { resetEpochSec, now };
    },
    rateLimited: 0,
    denyNextAuthorization() {
      denyNext = true;
    },
    expireRefreshTokens() {
      for (const t of refreshTokens.values()) t.active = false;
    },
    expireAccessTokens() {
      for (const t of accessTokens.values()) t.active = false;
    },
    close: async () => {},
  };

  const violation = (msg: string): void => {
    fake.specViolations.push(msg);
  };
  const token = (prefix: string): string => `${prefix}-${randomBytes(18).toString("base64url")}`;

  function issue(grant: FakeXIssued["grant"], u: FakeXUser, scope: string): Record<string, unknown> {
    const accessToken = token("fakexat");
    accessTokens.set(accessToken, { user: u, scope, active: true });
    let refreshToken: string | undefined;
    if (scope.split(" ").includes("offline.access")) {
      refreshToken = token("fakexrt");
      refreshTokens.set(refreshToken, { user: u, scope, active: true });
    }
    fake.tokensIssued.push({ grant, userId: u.id, accessToken, refreshToken, scope });
    return { token_type: "bearer", expires_in: expiresIn, access_token: accessToken, scope, ...(refreshToken ? { refresh_token: refreshToken } : {}) };
  }

  function authorize(url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    const problems: string[] = [];
    const need = (name: string): string => {
      const v = q.get(name);
      if (!v) problems.push(`missing ${name}`);
      return v ?? "";
    };
    const responseType = need("response_type");
    const id = need("client_id");
    const redirectUri = need("redirect_uri");
    const scope = need("scope");
    const state = need("state");
    const challenge = need("code_challenge");
    const method = need("code_challenge_method");
    if (responseType && responseType !== "code") problems.push(`response_type must be code, got ${responseType}`);
    if (id && id !== clientId) problems.push("unknown client_id");
    let redirect: URL | undefined;
    try {
      if (redirectUri) redirect = new URL(redirectUri);
    } catch {
      problems.push("redirect_uri is not an absolute URL");
    }
    for (const s of scope.split(" ").filter(Boolean)) if (!SCOPES.has(s)) problems.push(`unknown scope ${s}`);
    if (scope.includes("+") || scope.includes(",")) problems.push("scope must be space-separated");
    if (challenge && !/^[A-Za-z0-9\-._~]{43,128}$/.test(challenge)) problems.push("code_challenge must be 43-128 unreserved chars");
    if (method && method.toUpperCase() !== "S256") problems.push(`code_challenge_method ${method}: the relay must use S256`);
    if (state.length > 500) problems.push("state longer than 500 chars");
    if (problems.length > 0 || !redirect) {
      for (const p of problems) violation(`GET /i/oauth2/authorize: ${p}`);
      send(res, 400, { error: "invalid_request", error_description: problems.join("; ") });
      return;
    }
    if (denyNext) {
      denyNext = false;
      redirect.searchParams.set("error", "access_denied");
      redirect.searchParams.set("state", state);
    } else {
      const code = token("fakexcode");
      codes.set(code, { clientId: id, redirectUri, challenge, scope, user, used: false });
      redirect.searchParams.set("state", state);
      redirect.searchParams.set("code", code);
    }
    res.writeHead(302, { location: redirect.toString() }).end();
  }

  function clientAuthOk(req: IncomingMessage, body: Record<string, unknown>, where: string): boolean {
    const auth = req.headers.authorization ?? "";
    const m = /^Basic\s+(\S+)$/i.exec(auth);
    if (!m) {
      violation(`${where}: a confidential client must send HTTP Basic client credentials`);
      return false;
    }
    const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const id = decodeURIComponent(decoded.slice(0, colon));
    const secret = decodeURIComponent(decoded.slice(colon + 1));
    if (body.client_id !== undefined && body.client_id !== id) violation(`${where}: client_id in the body differs from the Basic credentials`);
    return colon > 0 && id === clientId && secret === clientSecret;
  }

  function oauthBody(req: IncomingMessage, raw: string, where: string): Record<string, unknown> | undefined {
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded" && type !== "application/json") {
      violation(`${where}: content type ${type || "(none)"} (X takes form-urlencoded; JSON is tolerated)`);
      return undefined;
    }
    try {
      const body = parseBody(type, raw);
      if (!body || typeof body !== "object" || Array.isArray(body)) throw new Error("not an object");
      for (const [k, v] of Object.entries(body)) if (Array.isArray(v)) violation(`${where}: field ${k} repeated`);
      return body as Record<string, unknown>;
    } catch {
      violation(`${where}: body does not parse as ${type}`);
      return undefined;
    }
  }

  function tokenEndpoint(req: IncomingMessage, raw: string, res: ServerResponse): void {
    const where = "POST /2/oauth2/token";
    const body = oauthBody(req, raw, where);
    if (!body) return send(res, 400, { error: "invalid_request", error_description: "Missing required parameter [grant_type]." });
    if (!clientAuthOk(req, body, where)) return send(res, 401, { error: "unauthorized_client", error_description: "Missing valid authorization header" });
    const bad = (description: string): void => send(res, 400, { error: "invalid_grant", error_description: description });
    if (body.grant_type === "authorization_code") {
      for (const f of ["code", "redirect_uri", "code_verifier"]) if (typeof body[f] !== "string") violation(`${where}: authorization_code grant without ${f}`);
      const grant = codes.get(String(body.code));
      if (!grant || grant.used) {
        if (grant) grant.used = true;
        return bad("Value passed for the authorization code was invalid.");
      }
      grant.used = true; // single use, even when the rest is wrong
      if (grant.redirectUri !== body.redirect_uri) return bad("redirect_uri does not match the authorization request.");
      const verifier = String(body.code_verifier ?? "");
      if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) violation(`${where}: code_verifier must be 43-128 unreserved chars`);
      if (createHash("sha256").update(verifier, "ascii").digest("base64url") !== grant.challenge) return bad("Value passed for the code_verifier was invalid.");
      return send(res, 200, issue("authorization_code", grant.user, grant.scope));
    }
    if (body.grant_type === "refresh_token") {
      if (typeof body.refresh_token !== "string") violation(`${where}: refresh_token grant without refresh_token`);
      const rt = refreshTokens.get(String(body.refresh_token));
      if (!rt || !rt.active) return bad("Value passed for the token was invalid.");
      rt.active = false; // rotation: a refresh token works once
      return send(res, 200, issue("refresh_token", rt.user, rt.scope));
    }
    violation(`${where}: unsupported grant_type ${String(body.grant_type)}`);
    send(res, 400, { error: "unsupported_grant_type", error_description: "grant_type not supported" });
  }

  function revokeEndpoint(req: IncomingMessage, raw: string, res: ServerResponse): void {
    const where = "POST /2/oauth2/revoke";
    const body = oauthBody(req, raw, where);
    if (!body) return send(res, 400, { error: "invalid_request", error_description: "Missing required parameter [token]." });
    if (!clientAuthOk(req, body, where)) return send(res, 401, { error: "unauthorized_client", error_description: "Missing valid authorization header" });
    if (typeof body.token !== "string") {
      violation(`${where}: missing token`);
      return send(res, 400, { error: "invalid_request", error_description: "Missing required parameter [token]." });
    }
    const hint = body.token_type_hint;
    if (hint !== undefined && hint !== "access_token" && hint !== "refresh_token") violation(`${where}: token_type_hint ${String(hint)}`);
    // revoking either token ends the whole grant, as X does
    const info = accessTokens.get(body.token) ?? refreshTokens.get(body.token);
    if (info) {
      for (const map of [accessTokens, refreshTokens]) for (const t of map.values()) if (t.user.id === info.user.id) t.active = false;
    }
    send(res, 200, { revoked: true });
  }

  function bearer(req: IncomingMessage): TokenInfo | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    const info = m ? accessTokens.get(m[1]!) : undefined;
    return info?.active ? info : undefined;
  }

  function api(req: IncomingMessage, url: URL, raw: string, res: ServerResponse): void {
    const method = req.method ?? "GET";
    if (method === "GET" && url.pathname === "/2/users/me") {
      const who = bearer(req);
      if (!who) return send(res, 401, UNAUTHORIZED, "application/problem+json");
      return reply(res, method, url, 200, { data: { id: who.user.id, name: who.user.name, username: who.user.username } });
    }
    if (method === "POST" && url.pathname === "/2/tweets") {
      const who = bearer(req);
      if (!who) return send(res, 401, UNAUTHORIZED, "application/problem+json");
      if (!who.scope.split(" ").includes("tweet.write")) {
        return send(res, 403, { title: "Forbidden", type: "about:blank", status: 403, detail: "Missing scope tweet.write" }, "application/problem+json");
      }
      let body: { text?: unknown } | undefined;
      try {
        body = parseBody(req.headers["content-type"], raw) as { text?: unknown } | undefined;
      } catch {
        body = undefined;
      }
      const text = typeof body?.text === "string" ? body.text : "";
      if (text === "" || !twitterText.parseTweet(text).valid) {
        const problem = { title: "Invalid Request", detail: "One or more parameters to your request was invalid.", type: "https://api.twitter.com/2/problems/invalid-request", errors: [{ message: "text is empty or longer than 280 weighted characters" }] };
        return send(res, 400, problem, "application/problem+json");
      }
      if (fake.tweets.some((t) => t.userId === who.user.id && t.text === text)) return send(res, 403, DUPLICATE, "application/problem+json");
      const id = String(nextTweetId++);
      fake.tweets.push({ userId: who.user.id, text, id });
      return reply(res, method, url, 201, { data: { id, text, edit_history_tweet_ids: [id] } });
    }
    send(res, 404, { title: "Not Found Error", type: "about:blank", status: 404, detail: `no fake for ${method} ${url.pathname}` }, "application/problem+json");
  }

  /** Answers, checking the fake's own body against the spec so the fake cannot drift from X. */
  function reply(res: ServerResponse, method: string, url: URL, status: number, body: unknown): void {
    for (const v of checkResponse(spec, method, url.pathname, status, body)) violation(`fake answer: ${v}`);
    send(res, status, body);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const url = new URL(req.url ?? "/", "http://fake-x.invalid");
      const method = req.method ?? "GET";
      if (method === "GET" && url.pathname === "/i/oauth2/authorize") return authorize(url, res);
      fake.requests.push({ method, path: url.pathname + url.search });

      // what the real X would refuse by its published spec (the OAuth endpoints are not in it)
      if (findOperation(spec, method, url.pathname)) {
        let body: unknown;
        try {
          body = parseBody(req.headers["content-type"], raw);
        } catch {
          violation(`${method} ${url.pathname}: body does not parse as ${req.headers["content-type"] ?? "(no content type)"}`);
        }
        for (const v of checkRequest(spec, { method, path: url.pathname + url.search, headers: req.headers, body })) violation(v);
      } else if (!url.pathname.startsWith("/2/oauth2/")) {
        violation(`${method} ${url.pathname}: not an X API operation`);
      }

      const i = failures.findIndex((f) => f.path === undefined || f.path === url.pathname);
      if (i >= 0) {
        const [{ failure }] = failures.splice(i, 1) as [{ failure: FakeXFailure }];
        if ("timeoutMs" in failure) {
          held.add(res);
          const timer = setTimeout(() => {
            held.delete(res);
            send(res, 503, { title: "Service Unavailable", type: "about:blank", status: 503, detail: "held back by the test" }, "application/problem+json");
          }, failure.timeoutMs);
          res.on("close", () => {
            clearTimeout(timer);
            held.delete(res);
          });
          return;
        }
        if (failure.status === 429 && url.pathname === "/2/tweets") fake.rateLimited++;
        const body = failure.body ?? { title: `HTTP ${failure.status}`, type: "about:blank", status: failure.status, detail: "failure injected by the test" };
        return send(res, failure.status, body, "application/problem+json", failure.headers);
      }

      if (method === "POST" && url.pathname === "/2/tweets" && postsLimited && postsLimited.now() < postsLimited.resetEpochSec * 1000) {
        fake.rateLimited++;
        const headers = { "x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": String(postsLimited.resetEpochSec) };
        return send(res, 429, { title: "Too Many Requests", detail: "Too Many Requests", type: "about:blank", status: 429 }, "application/problem+json", headers);
      }
      if (method === "POST" && url.pathname === "/2/oauth2/token") return tokenEndpoint(req, raw, res);
      if (method === "POST" && url.pathname === "/2/oauth2/revoke") return revokeEndpoint(req, raw, res);
      api(req, url, raw, res);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}`;
  fake.authorizeUrl = `${fake.url}/i/oauth2/authorize`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json", headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const reset = String(Math.floor(Date.now() / 1000) + 900);
  res.writeHead(status, {
    "content-type": `${type}; charset=utf-8`,
    "x-rate-limit-limit": "100",
    "x-rate-limit-remaining": "99",
    "x-rate-limit-reset": reset,
    ...headers,
  });
  res.end(body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body));
}
