import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createPkce, createState } from "../../../backend/src/domain/pkce.ts";
import { SendError } from "../../../backend/src/providers/sms.ts";
import { X_SCOPES, createOutboxX, createXClient, type XClient } from "../../../backend/src/providers/x.ts";
import { startFakeX, type FakeX } from "../../helpers/fake-x.ts";

const REDIRECT = "http://127.0.0.1:8787/x/callback";
let fake: FakeX;
let x: XClient;
let nowMs: number;

beforeEach(async () => {
  fake = await startFakeX();
  nowMs = Date.now();
  x = createXClient({ apiUrl: fake.url, authorizeUrl: fake.authorizeUrl, clientId: fake.clientId, clientSecret: fake.clientSecret, timeoutMs: 1_000, now: () => nowMs });
});

afterEach(async () => {
  // what the relay sent is what the real X would accept (spec and OAuth rules)
  expect(fake.specViolations).toEqual([]);
  await fake.close();
});

/** The wearer opens the link and approves; the browser is a plain HTTP client that does not follow the redirect. */
async function approve(url: string): Promise<URLSearchParams> {
  const res = await fetch(url, { redirect: "manual" });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location")!);
  expect(location.origin + location.pathname).toBe(REDIRECT);
  return location.searchParams;
}

async function link(): Promise<{ accessToken: string; refreshToken: string }> {
  const pkce = createPkce();
  const state = createState();
  const back = await approve(x.authorizeUrl({ redirectUri: REDIRECT, state, codeChallenge: pkce.challenge }));
  const tokens = await x.exchangeCode({ code: back.get("code")!, codeVerifier: pkce.verifier, redirectUri: REDIRECT });
  return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken! };
}

async function failure(p: Promise<unknown>): Promise<SendError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SendError);
  return err as SendError;
}

describe("linking", () => {
  test("when the wearer approves, then the code exchange, @name lookup and a post all work over HTTP", async () => {
    const pkce = createPkce();
    const state = createState();
    const url = new URL(x.authorizeUrl({ redirectUri: REDIRECT, state, codeChallenge: pkce.challenge }));
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: "code",
      client_id: fake.clientId,
      redirect_uri: REDIRECT,
      scope: "tweet.read tweet.write users.read offline.access",
      state,
      code_challenge: pkce.challenge,
      code_challenge_method: "S256",
    });

    const back = await approve(url.toString());
    expect(back.get("state")).toBe(state);
    const tokens = await x.exchangeCode({ code: back.get("code")!, codeVerifier: pkce.verifier, redirectUri: REDIRECT });
    expect(tokens.accessToken).toBeTruthy();
    expect(tokens.refreshToken).toBeTruthy();
    expect(tokens.expiresAt).toBe(nowMs + 7_200_000);
    expect(tokens.scope).toEqual([...X_SCOPES]);

    expect(await x.me(tokens.accessToken)).toEqual({ id: fake.user.id, username: fake.user.username, name: fake.user.name });
    const posted = await x.postTweet(tokens.accessToken, "本日(2026-11-20)の睡眠時間 from Fitbit\n\n睡眠時間: 7.433時間");
    expect(posted.id).toMatch(/^\d{1,19}$/);
    expect(fake.tweets).toEqual([{ userId: fake.user.id, text: "本日(2026-11-20)の睡眠時間 from Fitbit\n\n睡眠時間: 7.433時間", id: posted.id }]);
  });

  test("when the wearer refuses, then the callback gets access_denied and the state, and no code", async () => {
    fake.denyNextAuthorization();
    const state = createState();
    const back = await approve(x.authorizeUrl({ redirectUri: REDIRECT, state, codeChallenge: createPkce().challenge }));
    expect(back.get("error")).toBe("access_denied");
    expect(back.get("state")).toBe(state);
    expect(back.has("code")).toBe(false);
  });

  test("when the code is exchanged with another verifier, then it is refused for good", async () => {
    const back = await approve(x.authorizeUrl({ redirectUri: REDIRECT, state: createState(), codeChallenge: createPkce().challenge }));
    const err = await failure(x.exchangeCode({ code: back.get("code")!, codeVerifier: createPkce().verifier, redirectUri: REDIRECT }));
    expect(err.kind).toBe("permanent");
    expect(err.code).toBe("invalid_grant");
  });

  test("when a code is used twice, then the second exchange is refused", async () => {
    const pkce = createPkce();
    const back = await approve(x.authorizeUrl({ redirectUri: REDIRECT, state: createState(), codeChallenge: pkce.challenge }));
    await x.exchangeCode({ code: back.get("code")!, codeVerifier: pkce.verifier, redirectUri: REDIRECT });
    const err = await failure(x.exchangeCode({ code: back.get("code")!, codeVerifier: pkce.verifier, redirectUri: REDIRECT }));
    expect(err).toMatchObject({ kind: "permanent", code: "invalid_grant" });
  });

  test("when the client secret is wrong, then the exchange fails as invalid_client", async () => {
    const pkce = createPkce();
    const back = await approve(x.authorizeUrl({ redirectUri: REDIRECT, state: createState(), codeChallenge: pkce.challenge }));
    const wrong = createXClient({ apiUrl: fake.url, authorizeUrl: fake.authorizeUrl, clientId: fake.clientId, clientSecret: "another-fake-secret" });
    const err = await failure(wrong.exchangeCode({ code: back.get("code")!, codeVerifier: pkce.verifier, redirectUri: REDIRECT }));
    expect(err).toMatchObject({ kind: "permanent", code: "invalid_client" });
  });
});

describe("refresh and revoke", () => {
  test("when a token is refreshed, then X rotates the refresh token and the old one stops working", async () => {
    const first = await link();
    const second = await x.refresh(first.refreshToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    await x.postTweet(second.accessToken, "after a refresh");

    const reused = await failure(x.refresh(first.refreshToken));
    expect(reused).toMatchObject({ kind: "permanent", code: "invalid_grant" });
    const third = await x.refresh(second.refreshToken);
    expect(third.refreshToken).toBeTruthy();
    expect(fake.tokensIssued.map((t) => t.grant)).toEqual(["authorization_code", "refresh_token", "refresh_token"]);
  });

  test("when X has expired the refresh tokens, then refresh fails permanently with invalid_grant (link again)", async () => {
    const { refreshToken } = await link();
    fake.expireRefreshTokens();
    const err = await failure(x.refresh(refreshToken));
    expect(err).toMatchObject({ kind: "permanent", code: "invalid_grant" });
    expect(err.message).not.toContain(refreshToken);
  });

  test("when the access token has expired, then posting fails as unauthorized, and works again after a refresh", async () => {
    const { accessToken, refreshToken } = await link();
    fake.expireAccessTokens();
    const err = await failure(x.postTweet(accessToken, "hello"));
    expect(err).toMatchObject({ kind: "permanent", code: "unauthorized" });
    expect(err.message).not.toContain(accessToken);
    const fresh = await x.refresh(refreshToken);
    await expect(x.postTweet(fresh.accessToken, "hello")).resolves.toMatchObject({ id: expect.any(String) });
  });

  test("when the link is revoked, then the tokens no longer work at X", async () => {
    const { accessToken, refreshToken } = await link();
    await x.revoke(refreshToken, "refresh_token");
    await expect(x.me(accessToken)).rejects.toMatchObject({ kind: "permanent", code: "unauthorized" });
    await expect(x.refresh(refreshToken)).rejects.toMatchObject({ kind: "permanent", code: "invalid_grant" });
  });
});

describe("posting", () => {
  test("when X answers 429 with a reset time, then rate_limited says to wait until that reset", async () => {
    const { accessToken } = await link();
    const reset = Math.floor(nowMs / 1000) + 600;
    fake.rateLimitNext(reset, { path: "/2/tweets" });
    const err = await failure(x.postTweet(accessToken, "hello"));
    expect(err).toMatchObject({ kind: "rate_limited", code: "rate_limited", retryAfterMs: reset * 1000 - nowMs });
    await expect(x.postTweet(accessToken, "hello")).resolves.toBeTruthy();
  });

  test("when a 429 uses up the 24-hour user window, then rate_limited waits for that later reset", async () => {
    const { accessToken } = await link();
    const reset24 = Math.floor(nowMs / 1000) + 20_000;
    fake.failNext(1, {
      status: 429,
      headers: { "x-rate-limit-reset": String(Math.floor(nowMs / 1000) + 60), "x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": String(reset24) },
    }, { path: "/2/tweets" });
    const err = await failure(x.postTweet(accessToken, "hello"));
    expect(err.retryAfterMs).toBe(reset24 * 1000 - nowMs);
  });

  test("when a 429 carries no reset header, then retry-after is used, else 60 s", async () => {
    const { accessToken } = await link();
    fake.failNext(1, { status: 429, headers: { "x-rate-limit-reset": "", "retry-after": "120" } }, { path: "/2/tweets" });
    expect((await failure(x.postTweet(accessToken, "a"))).retryAfterMs).toBe(120_000);
    fake.failNext(1, { status: 429, headers: { "x-rate-limit-reset": "" } }, { path: "/2/tweets" });
    expect((await failure(x.postTweet(accessToken, "a"))).retryAfterMs).toBe(60_000);
  });

  test("when X answers 503, then the failure is transient", async () => {
    const { accessToken } = await link();
    fake.failNext(1, { status: 503 }, { path: "/2/tweets" });
    expect(await failure(x.postTweet(accessToken, "hello"))).toMatchObject({ kind: "transient", code: "http_503" });
    expect(fake.tweets).toEqual([]);
  });

  test("when X does not answer in time, then the failure is transient (timeout)", async () => {
    const { accessToken } = await link();
    const impatient = createXClient({ apiUrl: fake.url, authorizeUrl: fake.authorizeUrl, clientId: fake.clientId, clientSecret: fake.clientSecret, timeoutMs: 200 });
    fake.failNext(1, { timeoutMs: 5_000 }, { path: "/2/tweets" });
    const started = Date.now();
    expect(await failure(impatient.postTweet(accessToken, "hello"))).toMatchObject({ kind: "transient", code: "timeout" });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(fake.tweets).toEqual([]);
  });

  test("when X cannot be reached, then the failure is transient (network)", async () => {
    const { accessToken } = await link();
    const url = fake.url;
    const gone = createXClient({ apiUrl: url, authorizeUrl: fake.authorizeUrl, clientId: fake.clientId, clientSecret: fake.clientSecret });
    await fake.close();
    expect(await failure(gone.postTweet(accessToken, "hello"))).toMatchObject({ kind: "transient", code: "network" });
    fake = await startFakeX(); // afterEach closes a live one
  });

  test("when the same text is posted twice, then the second is a permanent duplicate with X's reason", async () => {
    const { accessToken } = await link();
    await x.postTweet(accessToken, "Today's exercise (2026-11-20) from Fitbit");
    const err = await failure(x.postTweet(accessToken, "Today's exercise (2026-11-20) from Fitbit"));
    expect(err).toMatchObject({ kind: "permanent", code: "duplicate" });
    expect(err.message).toContain("duplicate content");
    expect(fake.tweets).toHaveLength(1);
  });

  test("when X refuses with another 4xx, then the failure is permanent with the status", async () => {
    const { accessToken } = await link();
    fake.failNext(1, { status: 400, body: { title: "Invalid Request", detail: "One or more parameters to your request was invalid.", type: "about:blank" } }, { path: "/2/tweets" });
    expect(await failure(x.postTweet(accessToken, "hello"))).toMatchObject({ kind: "permanent", code: "http_400" });
    fake.failNext(1, { status: 403, body: { title: "Forbidden", detail: "You are not permitted to perform this action.", type: "about:blank", status: 403 } }, { path: "/2/tweets" });
    expect(await failure(x.postTweet(accessToken, "hello"))).toMatchObject({ kind: "permanent", code: "forbidden" });
  });
});

describe("outbox", () => {
  test("when X_PROVIDER is outbox, then a post is recorded and nothing reaches X", async () => {
    const recorded: { id: string; text: string }[] = [];
    const outbox = createOutboxX({ onPost: (p) => void recorded.push({ id: p.id, text: p.text }) });
    const { id } = await outbox.postTweet("unused-token", "Sleep (2026-11-20) from Fitbit\n\nSleep: 7.433 hours");
    expect(recorded).toEqual([{ id, text: "Sleep (2026-11-20) from Fitbit\n\nSleep: 7.433 hours" }]);
    expect(fake.requests).toEqual([]);
  });

  test("when the outbox has no callback, then it keeps the posts in memory", async () => {
    const outbox = createOutboxX({ now: () => new Date("2026-11-21T00:10:00Z") });
    await outbox.postTweet("unused-token", "a");
    expect(outbox.posts).toEqual([{ id: expect.stringMatching(/^outbox-/), text: "a", at: new Date("2026-11-21T00:10:00Z") }]);
  });
});

describe("fake X itself", () => {
  test("when a request breaks the published spec, then the fake records it as a spec violation", async () => {
    const { accessToken } = await link();
    const res = await fetch(`${fake.url}/2/tweets`, {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "hello", txet: "typo" }),
    });
    expect(res.status).toBe(201);
    expect(fake.specViolations).toEqual([expect.stringContaining("POST /2/tweets: body must NOT have additional properties (txet)")]);
    fake.specViolations.length = 0;
  });

  test("when the token endpoint gets a JSON body (as twitter-api-v2 sends), then it is accepted", async () => {
    const pkce = createPkce();
    const back = await approve(x.authorizeUrl({ redirectUri: REDIRECT, state: createState(), codeChallenge: pkce.challenge }));
    const res = await fetch(`${fake.url}/2/oauth2/token`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString("base64")}`, "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "authorization_code", code: back.get("code"), redirect_uri: REDIRECT, code_verifier: pkce.verifier, client_id: fake.clientId }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ token_type: "bearer", expires_in: 7200, access_token: expect.any(String), refresh_token: expect.any(String) });
  });

  test("when the authorize request uses the plain PKCE method, then the fake refuses it and records why", async () => {
    const url = new URL(x.authorizeUrl({ redirectUri: REDIRECT, state: createState(), codeChallenge: createPkce().challenge }));
    url.searchParams.set("code_challenge_method", "plain");
    const res = await fetch(url, { redirect: "manual" });
    expect(res.status).toBe(400);
    expect(fake.specViolations).toEqual([expect.stringContaining("the relay must use S256")]);
    fake.specViolations.length = 0;
  });
});
