// The Google Health API client against the fake Google (real HTTP on loopback): what it sends is
// checked against the discovery documents by the fake, what it returns is what a caller sees.
import { createHash, randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createGoogleHealthClient, GOOGLE_SCOPES, GoogleApiError, type GoogleHealthClient } from "../../backend/src/providers/google-health.ts";
import { startFakeGoogle, type FakeDay, type FakeGoogle, type FakeUser } from "../helpers/fake-google.ts";

const DAY: FakeDay = {
  steps: 8423,
  distanceMm: 6_120_345,
  totalKcal: 2310.5,
  floors: 12,
  azm: { fatBurn: 14, cardio: 8, peak: 1 },
  sedentarySec: 39_600,
  activeMinutes: { light: 120, moderate: 25, vigorous: 10 },
};

describe("the Google Health client", () => {
  let fake: FakeGoogle;
  let client: GoogleHealthClient;
  const redirectUri = "http://127.0.0.1:9/google/callback";

  beforeAll(async () => {
    fake = await startFakeGoogle();
    const env = fake.env();
    client = createGoogleHealthClient({
      clientId: env.GOOGLE_CLIENT_ID!,
      clientSecret: env.GOOGLE_CLIENT_SECRET!,
      authUrl: env.GOOGLE_AUTH_URL!,
      tokenUrl: env.GOOGLE_TOKEN_URL!,
      revokeUrl: env.GOOGLE_REVOKE_URL!,
      apiUrl: env.GOOGLE_HEALTH_API_URL!,
    });
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => {
    fake.latencyMs = 0;
  });

  /** consent as `user` through the fake's authorize page, then exchange the code */
  async function consent(user: FakeUser, grant?: ("activity" | "sleep" | "settings")[]) {
    const verifier = randomBytes(32).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    fake.approveAs(user, { grant });
    const res = await fetch(client.authorizeUrl({ state: "st-1", codeChallenge: challenge, redirectUri }), { redirect: "manual" });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get("location")!);
    expect(back.searchParams.get("state")).toBe("st-1");
    return client.exchangeCode(back.searchParams.get("code")!, verifier, redirectUri);
  }

  it("when the authorize URL is built, then it asks for offline access, fresh consent, PKCE S256 and only the three read scopes", () => {
    const u = new URL(client.authorizeUrl({ state: "s", codeChallenge: "c".repeat(43), redirectUri, loginHint: "a@example.com" }));
    expect(Object.fromEntries(u.searchParams)).toEqual({
      response_type: "code",
      client_id: fake.clientId,
      redirect_uri: redirectUri,
      scope: `${GOOGLE_SCOPES.activity} ${GOOGLE_SCOPES.sleep} ${GOOGLE_SCOPES.settings}`,
      state: "s",
      code_challenge: "c".repeat(43),
      code_challenge_method: "S256",
      access_type: "offline",
      prompt: "consent",
      include_granted_scopes: "true",
      login_hint: "a@example.com",
    });
  });

  it("when the wearer consents, then the code buys tokens with the granted scopes, the identity and the settings", async () => {
    const user = fake.addUser({ healthUserId: "hu-client-1", timeZone: "Asia/Tokyo" });
    const t = await consent(user);
    expect(t.refreshToken).toBeTruthy();
    expect(t.scopes.sort()).toEqual([GOOGLE_SCOPES.activity, GOOGLE_SCOPES.settings, GOOGLE_SCOPES.sleep].sort());
    expect(t.expiresAt.getTime()).toBeGreaterThan(Date.now() + 3000_000);
    expect(await client.identity(t.accessToken)).toEqual({ healthUserId: "hu-client-1" });
    expect(await client.settings(t.accessToken)).toEqual({ timeZone: "Asia/Tokyo", distanceUnit: "DISTANCE_UNIT_KILOMETERS" });
    expect(fake.violations()).toEqual([]);
  });

  it("when the wearer leaves sleep unticked, then the token's scopes leave it out and sleep calls are refused as permanent", async () => {
    const user = fake.addUser({ grant: ["activity", "settings"] });
    const t = await consent(user);
    expect(t.scopes).not.toContain(GOOGLE_SCOPES.sleep);
    const err = await client.sleepSessions(t.accessToken, "2026-11-21").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoogleApiError);
    expect((err as GoogleApiError).kind).toBe("permanent");
    expect((err as GoogleApiError).status).toBe(403);
  });

  it("when a wearer has 120 paired devices, then every page is read (v4beta) and ids come from the resource names", async () => {
    const devices = Array.from({ length: 120 }, (_, i) => ({ id: `dev${i}`, deviceType: "TRACKER", batteryStatus: "High", batteryLevel: 80, lastSyncTime: "2026-11-21T06:02:11Z", deviceVersion: "Versa 3", features: ["STEPS"] }));
    const user = fake.addUser({ devices });
    const t = await consent(user);
    const before = client.calls.pairedDevices ?? 0;
    const got = await client.pairedDevices(t.accessToken);
    expect(got).toHaveLength(120);
    expect(got[0]).toEqual({ id: "dev0", deviceType: "TRACKER", batteryStatus: "High", batteryLevel: 80, lastSyncTime: "2026-11-21T06:02:11Z", deviceVersion: "Versa 3", features: ["STEPS"] });
    expect(client.calls.pairedDevices! - before).toBe(2);
    expect(fake.violations()).toEqual([]);
  });

  it("when a day is rolled up, then each data type comes back in Google's shape, and a day without data is null", async () => {
    const user = fake.addUser({ days: { "2026-11-20": DAY } });
    const t = await consent(user);
    const steps = await client.dailyRollUp(t.accessToken, "steps", "2026-11-20");
    expect(steps).toEqual({
      civilStartTime: { date: { year: 2026, month: 11, day: 20 } },
      civilEndTime: { date: { year: 2026, month: 11, day: 21 } },
      steps: { countSum: "8423" },
    });
    expect((await client.dailyRollUp(t.accessToken, "distance", "2026-11-20"))?.distance).toEqual({ millimetersSum: "6120345" });
    expect((await client.dailyRollUp(t.accessToken, "total-calories", "2026-11-20"))?.totalCalories).toEqual({ kcalSum: 2310.5 });
    expect((await client.dailyRollUp(t.accessToken, "floors", "2026-11-20"))?.floors).toEqual({ countSum: "12" });
    expect((await client.dailyRollUp(t.accessToken, "active-zone-minutes", "2026-11-20"))?.activeZoneMinutes).toEqual({
      sumInFatBurnHeartZone: "14",
      sumInCardioHeartZone: "8",
      sumInPeakHeartZone: "1",
    });
    expect((await client.dailyRollUp(t.accessToken, "sedentary-period", "2026-11-20"))?.sedentaryPeriod).toEqual({ durationSum: "39600s" });
    expect((await client.dailyRollUp(t.accessToken, "active-minutes", "2026-11-20"))?.activeMinutes).toEqual({
      activeMinutesRollupByActivityLevel: [
        { activityLevel: "LIGHT", activeMinutesSum: "120" },
        { activityLevel: "MODERATE", activeMinutesSum: "25" },
        { activityLevel: "VIGOROUS", activeMinutesSum: "10" },
      ],
    });
    expect(await client.dailyRollUp(t.accessToken, "steps", "2026-11-21")).toBeNull();
    expect(fake.violations()).toEqual([]);
  });

  it("when the night's sleep ends on a day, then it is found by its civil end in the wearer's zone, over every page, and the longest non-nap is the main sleep", async () => {
    const naps = Array.from({ length: 26 }, (_, i) => ({
      id: `nap${i}`,
      startTime: new Date(Date.parse("2026-11-21T03:00:00Z") + i * 60_000 * 10).toISOString(),
      endTime: new Date(Date.parse("2026-11-21T03:05:00Z") + i * 60_000 * 10).toISOString(),
      minutesAsleep: 5,
      nap: true,
    }));
    const user = fake.addUser({
      timeZone: "Asia/Tokyo",
      sleep: [
        // 2026-11-20 23:00 -> 2026-11-21 06:40 in Tokyo
        { id: "night", startTime: "2026-11-20T14:00:00Z", endTime: "2026-11-20T21:40:00Z", minutesAsleep: 412, minutesInSleepPeriod: 460 },
        // ends 2026-11-20 in Tokyo: not this day
        { id: "before", startTime: "2026-11-19T14:00:00Z", endTime: "2026-11-19T21:00:00Z", minutesAsleep: 400 },
        ...naps,
      ],
    });
    const t = await consent(user);
    const before = client.calls.sleep ?? 0;
    const got = await client.sleepSessions(t.accessToken, "2026-11-21");
    expect(client.calls.sleep! - before).toBe(2);
    expect(got.map((s) => s.id).sort()).toEqual(["night", ...naps.map((n) => n.id)].sort());
    expect(got.find((s) => s.id === "night")).toEqual({
      id: "night",
      startTime: "2026-11-20T14:00:00Z",
      endTime: "2026-11-20T21:40:00Z",
      minutesAsleep: 412,
      minutesInSleepPeriod: 460,
      mainSleep: true,
      nap: false,
      processed: true,
    });
    expect(got.filter((s) => s.mainSleep)).toHaveLength(1);
    expect(fake.violations()).toEqual([]);
  });

  it("when Google answers 503, 429, 401 or is too slow, then the error kinds are transient, rate_limited (with Retry-After), unauthorized, transient", async () => {
    const user = fake.addUser();
    const t = await consent(user);
    fake.failNext(1, 503, { endpoint: "identity" });
    await expect(client.identity(t.accessToken)).rejects.toMatchObject({ kind: "transient", status: 503 });
    fake.rateLimit({ count: 1 }, 7, { user });
    await expect(client.identity(t.accessToken)).rejects.toMatchObject({ kind: "rate_limited", status: 429, retryAfterMs: 7000 });
    fake.rateLimit({ untilMs: Date.now() + 60_000 }, 3, { endpoint: "settings", user });
    await expect(client.settings(t.accessToken)).rejects.toMatchObject({ kind: "rate_limited", retryAfterMs: 3000 });
    await expect(client.settings(t.accessToken)).rejects.toMatchObject({ kind: "rate_limited" });
    await expect(client.identity(t.accessToken)).resolves.toEqual({ healthUserId: user.healthUserId });
    await expect(client.identity("ya29.not-a-token")).rejects.toMatchObject({ kind: "unauthorized", status: 401 });
    const env = fake.env();
    const impatient = createGoogleHealthClient({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      authUrl: env.GOOGLE_AUTH_URL!,
      tokenUrl: env.GOOGLE_TOKEN_URL!,
      revokeUrl: env.GOOGLE_REVOKE_URL!,
      apiUrl: fake.url,
      timeoutMs: 200,
    });
    fake.latencyMs = 1500;
    await expect(impatient.identity(t.accessToken)).rejects.toMatchObject({ kind: "transient", status: 0 });
  });

  it("when the wearer revokes at Google, then the access token stops working and refresh answers invalid_grant", async () => {
    const user = fake.addUser();
    const t = await consent(user);
    const r = await client.refresh(t.refreshToken!);
    expect(r.accessToken).not.toBe(t.accessToken);
    user.revoke();
    await expect(client.identity(r.accessToken)).rejects.toMatchObject({ kind: "unauthorized" });
    await expect(client.refresh(t.refreshToken!)).rejects.toMatchObject({ kind: "invalid_grant" });
  });

  it("when the relay revokes a token, then the grant is gone at Google, and revoking it again is not an error", async () => {
    const user = fake.addUser();
    const t = await consent(user);
    await client.revoke(t.refreshToken!);
    expect(user.revoked).toBe(true);
    await client.revoke(t.refreshToken!);
    await expect(client.refresh(t.refreshToken!)).rejects.toMatchObject({ kind: "invalid_grant" });
  });

  it("when a wrong code verifier or a used code is sent, then the exchange is refused as invalid_grant", async () => {
    const user = fake.addUser();
    fake.approveAs(user);
    const challenge = createHash("sha256").update("v".repeat(43)).digest("base64url");
    const res = await fetch(client.authorizeUrl({ state: "s", codeChallenge: challenge, redirectUri }), { redirect: "manual" });
    const code = new URL(res.headers.get("location")!).searchParams.get("code")!;
    await expect(client.exchangeCode(code, "w".repeat(43), redirectUri)).rejects.toMatchObject({ kind: "invalid_grant" });
    await expect(client.exchangeCode(code, "v".repeat(43), redirectUri)).rejects.toMatchObject({ kind: "invalid_grant" });
  });
});

describe("the fake Google's own checks", () => {
  let fake: FakeGoogle;
  beforeAll(async () => {
    fake = await startFakeGoogle();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("when a request breaks the discovery document or the sleep rules, then it is refused and recorded as a violation", async () => {
    const get = (path: string, init?: RequestInit) => fetch(fake.url + path, { ...init, headers: { authorization: "Bearer x", "content-type": "application/json", ...(init?.headers ?? {}) } });
    expect((await get("/v4/users/me/pairedDevices")).status).toBe(404); // only v4beta has it
    expect((await get("/v4/users/me/identity?colour=red")).status).toBe(400);
    expect((await get("/v4/users/me/dataTypes/steps/dataPoints:dailyRollUp", { method: "POST", body: JSON.stringify({ range: {}, window: 1 }) })).status).toBe(400);
    expect((await get("/v4/users/me/identity", { method: "DELETE" })).status).toBe(404);
    const v = fake.violations();
    expect(v.some((x) => x.includes("/v4/users/me/pairedDevices") && x.includes("no path"))).toBe(true);
    expect(v.some((x) => x.includes("colour"))).toBe(true);
    expect(v.some((x) => x.includes("body.window: not a field"))).toBe(true);
    expect(v.some((x) => x.includes("no DELETE"))).toBe(true);
  });

  it("when a sleep filter uses an operator Google does not accept, or pageSize is over 25, then it is a violation", async () => {
    const user = fake.addUser();
    fake.approveAs(user);
    const verifier = "v".repeat(43);
    const auth = new URL(fake.url + "/o/oauth2/v2/auth");
    auth.search = new URLSearchParams({
      client_id: fake.clientId,
      redirect_uri: "http://127.0.0.1:9/cb",
      response_type: "code",
      scope: "https://www.googleapis.com/auth/googlehealth.sleep.readonly",
      state: "s",
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    }).toString();
    const code = new URL((await fetch(auth, { redirect: "manual" })).headers.get("location")!).searchParams.get("code")!;
    const tok = (await (
      await fetch(fake.url + "/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: "http://127.0.0.1:9/cb", client_id: fake.clientId, client_secret: fake.clientSecret }),
      })
    ).json()) as { access_token: string };
    const list = (q: Record<string, string>) =>
      fetch(`${fake.url}/v4/users/me/dataTypes/sleep/dataPoints?${new URLSearchParams(q)}`, { headers: { authorization: `Bearer ${tok.access_token}` } });
    const before = fake.violations().length;
    expect((await list({ filter: 'sleep.interval.civil_end_time >= "2026-11-21" OR sleep.interval.civil_end_time < "2026-11-20"' })).status).toBe(200);
    expect(fake.violations().length).toBe(before);
    expect((await list({ filter: 'sleep.interval.civil_end_time > "2026-11-21"' })).status).toBe(400);
    expect((await list({ filter: 'sleep.interval.civil_start_time >= "2026-11-21"' })).status).toBe(400);
    expect((await list({ pageSize: "50" })).status).toBe(400);
    expect(fake.violations().length).toBe(before + 3);
  });
});
