// Connecting Google Health over real HTTP against the fake Google: the pages the wearer sees, what
// GET /v1/me then says, and every way a callback can go wrong (nothing stored).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCloudTick } from "../../backend/src/domain/cloud-scheduler.ts";
import { GOOGLE_SCOPES } from "../../backend/src/providers/google-health.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { linkGoogle, startFakeGoogle, type FakeGoogle } from "../helpers/fake-google.ts";
import { call, register, startRelay, type TestRelay } from "../helpers/relay.ts";

describe("connecting Google Health", () => {
  let db: TestDatabase;
  let fake: FakeGoogle;
  let relay: TestRelay;

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    fake = await startFakeGoogle();
    relay = await startRelay({ databaseUrl: db.url, env: fake.env() });
  });
  afterAll(async () => {
    await relay.stop();
    await fake.close();
    await db.drop();
  });
  afterEach(() => {
    expect(fake.violations()).toEqual([]);
  });

  const accounts = async () => relay.store.db.selectFrom("google_accounts").selectAll().execute();

  it("when the wearer consents to everything, then the page says connected, GET /v1/me shows the link and the tokens are stored encrypted", async () => {
    const { token, deviceId } = await register(relay.url);
    const user = fake.addUser({ healthUserId: "hu-link-1", timeZone: "Europe/Berlin" });
    fake.approveAs(user);
    const link = await call(relay.url, "POST", "/v1/google/link", { token });
    expect(link.status).toBe(200);
    expect(link.body.url).toMatch(new RegExp(`^${relay.url}/google/start\\?flow=[A-Za-z0-9_-]+$`));
    const r = await linkGoogle(relay.url, token, { linkUrl: link.body.url });
    expect(r.status).toBe(200);
    expect(r.page).toContain("Google Health is connected.");
    expect(r.page).not.toContain("Not allowed");
    const q = new URL(r.authorizeUrl!).searchParams;
    expect(q.get("access_type")).toBe("offline");
    expect(q.get("prompt")).toBe("consent");
    expect(q.get("include_granted_scopes")).toBe("true");
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("redirect_uri")).toBe(`${relay.url}/google/callback`);
    expect(q.get("scope")!.split(" ").sort()).toEqual(Object.values(GOOGLE_SCOPES).sort());
    const me = await call(relay.url, "GET", "/v1/me", { token });
    expect(me.body.google).toEqual({ linked: true, status: "linked", granted: { activity: true, sleep: true, settings: true }, timeZone: "Europe/Berlin" });
    expect(me.body.timezone).toBe("America/New_York"); // the watch's zone is kept
    const [acc] = (await accounts()).filter((a) => a.device_id === deviceId);
    expect(acc!.health_user_id).toBe("hu-link-1");
    const issued = fake.tokensIssued.at(-1)!;
    expect(acc!.refresh_token).not.toContain(issued.refreshToken!);
    expect(JSON.stringify(acc)).not.toMatch(/ya29\.|1\/\/fake/);
  });

  it("when a Japanese wearer connects, then the page is in Japanese", async () => {
    const { token } = await register(relay.url, { timezone: "Asia/Tokyo", language: "ja-JP" });
    fake.approveAs(fake.addUser({ timeZone: "Asia/Tokyo" }));
    const r = await linkGoogle(relay.url, token);
    expect(r.status).toBe(200);
    expect(r.page).toContain('lang="ja"');
    expect(r.page).toContain("Google Healthと連携しました。");
  });

  it("when the wearer leaves sleep unticked, then the page says sleep posts stay off and GET /v1/me shows sleep not granted", async () => {
    const { token } = await register(relay.url);
    fake.approveAs(fake.addUser(), { grant: ["activity", "settings"] });
    const r = await linkGoogle(relay.url, token);
    expect(r.status).toBe(200);
    expect(r.page).toContain("Not allowed: sleep.");
    expect(r.page).toContain("Sleep posts from Google Health stay off.");
    const me = await call(relay.url, "GET", "/v1/me", { token });
    expect(me.body.google.granted).toEqual({ activity: true, sleep: false, settings: true });
  });

  it("when the wearer leaves settings unticked, then the settings are not read and no time zone is taken", async () => {
    const { token } = await register(relay.url, { timezone: "UTC" });
    fake.approveAs(fake.addUser({ timeZone: "Asia/Tokyo" }), { grant: ["activity", "sleep"] });
    const before = fake.calls().byEndpoint.settings ?? 0;
    const r = await linkGoogle(relay.url, token);
    expect(r.status).toBe(200);
    expect(fake.calls().byEndpoint.settings ?? 0).toBe(before);
    const me = await call(relay.url, "GET", "/v1/me", { token });
    expect(me.body.timezone).toBe("UTC");
    expect(me.body.google).toEqual({ linked: true, status: "linked", granted: { activity: true, sleep: true, settings: false } });
  });

  it("when a device has no time zone yet (UTC placeholder) or is a web sign-up, then Google's time zone is adopted and the page says so", async () => {
    const a = await register(relay.url, { timezone: "UTC" });
    fake.approveAs(fake.addUser({ timeZone: "Asia/Tokyo" }));
    const r = await linkGoogle(relay.url, a.token);
    expect(r.page).toContain("Your time zone is now Asia/Tokyo");
    expect((await call(relay.url, "GET", "/v1/me", { token: a.token })).body.timezone).toBe("Asia/Tokyo");

    const web = await register(relay.url, { timezone: "Europe/London", model: "web" });
    fake.approveAs(fake.addUser({ timeZone: "America/Los_Angeles" }));
    await linkGoogle(relay.url, web.token);
    expect((await call(relay.url, "GET", "/v1/me", { token: web.token })).body.timezone).toBe("America/Los_Angeles");
  });

  it("when the wearer denies consent, then the page says nothing was connected and nothing is stored", async () => {
    const { token, deviceId } = await register(relay.url);
    fake.approveAs(fake.addUser(), { deny: true });
    const issued = fake.tokensIssued.length;
    const r = await linkGoogle(relay.url, token);
    expect(r.status).toBe(400);
    expect(r.page).toContain("You did not allow WristRelay to read your Google Health data. Nothing was connected.");
    expect(fake.tokensIssued.length).toBe(issued);
    expect((await accounts()).some((a) => a.device_id === deviceId)).toBe(false);
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.google).toEqual({ linked: false });
  });

  it("when the same callback comes again, then it is refused with a page and nothing new is exchanged or stored", async () => {
    const { token } = await register(relay.url);
    fake.approveAs(fake.addUser());
    const r = await linkGoogle(relay.url, token);
    expect(r.status).toBe(200);
    const issued = fake.tokensIssued.length;
    const before = await accounts();
    const again = await fetch(r.callbackUrl!, { redirect: "manual" });
    expect(again.status).toBe(400);
    expect(again.headers.get("content-type")).toContain("text/html");
    expect(await again.text()).toContain("already used");
    expect(fake.tokensIssued.length).toBe(issued);
    expect(await accounts()).toEqual(before);
  });

  it("when the state is wrong or missing, then the page says the link is not known and nothing is stored", async () => {
    const before = await accounts();
    for (const q of ["?state=forged&code=4%2Fx", "?code=4%2Fx", ""]) {
      const res = await fetch(`${relay.url}/google/callback${q}`, { redirect: "manual" });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("This link is not known.");
    }
    expect(await accounts()).toEqual(before);
  });

  it("when the wearer comes back after more than 10 minutes, then the flow has expired and nothing is stored", async () => {
    const { token, deviceId } = await register(relay.url);
    fake.approveAs(fake.addUser());
    const r = await linkGoogle(relay.url, token, { between: () => relay.clock.advance(10 * 60_000 + 1) });
    expect(r.status).toBe(400);
    expect(r.page).toContain("This link has expired");
    expect((await accounts()).some((a) => a.device_id === deviceId)).toBe(false);
    // and a link opened late does not even reach Google
    const link = await call(relay.url, "POST", "/v1/google/link", { token });
    relay.clock.advance(11 * 60_000);
    const late = await fetch(link.body.url, { redirect: "manual" });
    expect(late.status).toBe(400);
    expect(await late.text()).toContain("This link has expired");
  });

  it("when the link flow is started from the web sign-up with a return path, then the page offers to continue there", async () => {
    const { token, deviceId } = await register(relay.url, { timezone: "UTC", model: "web" });
    const { createGoogleLinkFlow } = await import("../../backend/src/domain/google-accounts.ts");
    const device = await relay.store.db.selectFrom("devices").selectAll().where("id", "=", deviceId).executeTakeFirstOrThrow();
    const url = await createGoogleLinkFlow(relay.running.deps, device, { returnTo: "/" });
    expect(url.startsWith(`${relay.url}/google/start?flow=`)).toBe(true);
    fake.approveAs(fake.addUser());
    const r = await linkGoogle(relay.url, token, { linkUrl: url });
    expect(r.status).toBe(200);
    expect(r.page).toContain('<a class="button" id="continue" href="/">Continue</a>');
    await expect(createGoogleLinkFlow(relay.running.deps, device, { returnTo: "https://evil.example/" })).rejects.toMatchObject({ code: "invalid_return_to" });
    await expect(createGoogleLinkFlow(relay.running.deps, device, { returnTo: "//evil.example/" })).rejects.toMatchObject({ code: "invalid_return_to" });
  });

  it("when the wearer unlinks, then the relay revokes at Google, forgets the tokens and GET /v1/me says not linked", async () => {
    const { token, deviceId } = await register(relay.url);
    const user = fake.addUser();
    fake.approveAs(user);
    await linkGoogle(relay.url, token);
    const del = await call(relay.url, "DELETE", "/v1/me/google", { token });
    expect(del.status).toBe(204);
    expect(user.revoked).toBe(true);
    expect((await accounts()).some((a) => a.device_id === deviceId)).toBe(false);
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.google).toEqual({ linked: false });
    expect((await call(relay.url, "DELETE", "/v1/me/google", { token })).status).toBe(204);
  });

  it("when the wearer erases everything, then the Google grant is revoked and the tokens are gone", async () => {
    const { token, deviceId } = await register(relay.url);
    const user = fake.addUser();
    fake.approveAs(user);
    await linkGoogle(relay.url, token);
    await runCloudTick(relay.running.deps); // the scheduler takes the new link on: it now has jobs for this wearer
    expect((await relay.store.db.selectFrom("cloud_jobs").select("id").where("device_id", "=", deviceId).execute()).length).toBeGreaterThan(0);
    expect((await call(relay.url, "DELETE", "/v1/me", { token })).status).toBe(204);
    expect(user.revoked).toBe(true);
    expect(await relay.store.db.selectFrom("cloud_jobs").select("id").where("device_id", "=", deviceId).execute()).toEqual([]);
    expect((await accounts()).some((a) => a.device_id === deviceId)).toBe(false);
    const flows = await relay.store.db.selectFrom("google_link_flows").selectAll().where("device_id", "=", deviceId).execute();
    expect(flows).toEqual([]);
  });
});

describe("a relay without a Google client", () => {
  let db: TestDatabase;
  let relay: TestRelay;
  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    relay = await startRelay({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await relay.stop();
    await db.drop();
  });

  it("when the companion asks for a Google link, then it gets 409 google_not_configured as problem+json", async () => {
    const { token } = await register(relay.url);
    const r = await call(relay.url, "POST", "/v1/google/link", { token });
    expect(r.status).toBe(409);
    expect(r.headers.get("content-type")).toContain("application/problem+json");
    expect(r.body.code).toBe("google_not_configured");
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.google).toEqual({ linked: false });
  });

  it("when a browser opens the start or callback page, then the page says the relay has no Google set up", async () => {
    for (const path of ["/google/start?flow=abc", "/google/callback?state=s&code=c"]) {
      const res = await fetch(relay.url + path, { redirect: "manual" });
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(await res.text()).toContain("This relay has no Google set up");
    }
  });

  it("when /openapi.json is read, then it documents the Google endpoints and the google field of GET /v1/me", async () => {
    const doc = (await call(relay.url, "GET", "/openapi.json")).body;
    expect(Object.keys(doc.paths.google ?? {})).toEqual([]);
    expect(Object.keys(doc.paths["/v1/google/link"])).toEqual(["post"]);
    expect(Object.keys(doc.paths["/v1/me/google"])).toEqual(["delete"]);
    expect(Object.keys(doc.paths["/google/start"])).toEqual(["get"]);
    expect(Object.keys(doc.paths["/google/callback"])).toEqual(["get"]);
    expect(doc.components.schemas.Me.properties.google.properties.status.enum).toEqual(["linked", "broken"]);
  });

  it("when an unauthenticated client asks for a link, then it is 401", async () => {
    expect((await call(relay.url, "POST", "/v1/google/link")).status).toBe(401);
  });
});

describe("the Google client's user cap (GOOGLE_USER_CAP)", () => {
  it("when as many wearers are connected as the cap allows, then a new wearer gets 409 google_user_cap with a readable detail, while a connected wearer may connect again", async () => {
    const db = await createTestDatabase("sqlite");
    const fake = await startFakeGoogle();
    const relay = await startRelay({ databaseUrl: db.url, env: { ...fake.env(), GOOGLE_USER_CAP: "2" } });
    try {
      const connected: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { token } = await register(relay.url);
        fake.approveAs(fake.addUser({ healthUserId: `hu-cap-${i}` }));
        const link = await call(relay.url, "POST", "/v1/google/link", { token });
        expect(link.status).toBe(200);
        expect((await linkGoogle(relay.url, token, { linkUrl: link.body.url })).page).toContain("Google Health is connected.");
        connected.push(token);
      }
      const { token: third } = await register(relay.url);
      const refused = await call(relay.url, "POST", "/v1/google/link", { token: third });
      expect(refused.status).toBe(409);
      expect(refused.headers.get("content-type")).toContain("application/problem+json");
      expect(refused.body.code).toBe("google_user_cap");
      expect(refused.body.detail).toContain("(2)");
      // a connected wearer's new consent is not a new user for Google
      expect((await call(relay.url, "POST", "/v1/google/link", { token: connected[0] })).status).toBe(200);
      // once one leaves, a place is free
      expect((await call(relay.url, "DELETE", "/v1/me/google", { token: connected[1] })).status).toBe(204);
      expect((await call(relay.url, "POST", "/v1/google/link", { token: third })).status).toBe(200);
    } finally {
      await relay.stop();
      await fake.close();
      await db.drop();
    }
  });
});
