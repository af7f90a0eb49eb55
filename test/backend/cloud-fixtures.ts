// Fixtures of the cloud-path tests: a relay wired to the fake Google, wearers linked through the real
// link flow (HTTP) or, in bulk, with tokens minted at the fake and stored as the link stores them,
// and a per-minute tally of the calls the fake received.
import { createHash, randomBytes } from "node:crypto";
import { runCloudTick, type CloudTickResult } from "../../backend/src/domain/cloud-scheduler.ts";
import { minuteKey } from "../../backend/src/domain/cloud-quota.ts";
import { hashToken } from "../../backend/src/domain/devices.ts";
import { defaultPreferences, type Preferences } from "../../backend/src/domain/preferences.ts";
import { encryptToken } from "../../backend/src/domain/token-crypto.ts";
import { startFakeGoogle, type FakeGoogle, type FakeUser, type GoogleGrant, FAKE_GOOGLE_SCOPES } from "../helpers/fake-google.ts";
import { call, startRelay, type TestClock, type TestRelay } from "../helpers/relay.ts";

export interface CloudRelay {
  relay: TestRelay;
  fake: FakeGoogle;
  stop(): Promise<void>;
}

/**
 * A relay on the fake Google with no timers of its own: tests run cloud ticks at the test clock's time
 * and send what is due with drain(), so that a clock jump never lands in the middle of a send.
 */
export async function startCloudRelay(o: { databaseUrl?: string; store?: TestRelay["store"]; clock: TestClock; env?: Record<string, string>; fake?: FakeGoogle }): Promise<CloudRelay> {
  const fake = o.fake ?? (await startFakeGoogle());
  const relay = await startRelay({
    ...(o.store ? { store: o.store } : { databaseUrl: o.databaseUrl! }),
    clock: o.clock,
    runWorker: false,
    env: { ...fake.env(), CLOUD_TICK_MS: "86400000", SMS_DAILY_BUDGET: "100000", ...(o.env ?? {}) },
  });
  return {
    relay,
    fake,
    async stop() {
      await relay.stop();
      if (!o.fake) await fake.close();
    },
  };
}

export const tick = (r: CloudRelay, opts: { limit?: number; concurrency?: number } = {}): Promise<CloudTickResult> =>
  runCloudTick(r.relay.running.deps, { now: r.relay.clock.now(), ...opts });

/** SMS the relay handed to the provider for a number (not the confirmation codes). */
export async function smsTo(r: CloudRelay, number: string): Promise<string[]> {
  // the worker's own loop may hold a send in flight while drain() finds nothing to claim: wait for it
  for (let i = 0; i < 100; i++) {
    await r.relay.running.worker.drain();
    const now = r.relay.clock.now().toISOString();
    const pending = await r.relay.store.db
      .selectFrom("deliveries")
      .select("id")
      .where("channel", "=", "sms")
      .where("status", "in", ["queued", "sending"])
      .where("next_attempt_at", "<=", now)
      .executeTakeFirst();
    if (!pending) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return (await r.relay.outbox!.list()).filter((m) => m.to === number && !/\b\d{6}\b/.test(m.body)).map((m) => m.body);
}

/** Links Google Health through the relay's own flow: POST /v1/google/link, then the browser's redirects through the fake. */
export async function linkGoogle(r: CloudRelay, token: string, user: FakeUser, grant?: GoogleGrant[]): Promise<void> {
  r.fake.approveAs(user, grant ? { grant } : {});
  const link = await call<{ url: string }>(r.relay.url, "POST", "/v1/google/link", { token });
  if (link.status !== 200) throw new Error(`google link: ${link.status} ${JSON.stringify(link.body)}`);
  let url = link.body.url;
  for (let hop = 0; hop < 6; hop++) {
    const res = await fetch(url, { redirect: "manual" });
    const loc = res.headers.get("location");
    await res.text();
    if (res.status >= 300 && res.status < 400 && loc) {
      url = new URL(loc, url).toString();
      continue;
    }
    if (res.status !== 200) throw new Error(`google link: ${url.replace(/\?.*/, "")} answered ${res.status}`);
    return;
  }
  throw new Error("google link: too many redirects");
}

/** Tokens for a fake user through the fake's own authorize and token endpoints (as the relay would get them). */
export async function mintTokens(fake: FakeGoogle, user: FakeUser, grant?: GoogleGrant[]) {
  fake.approveAs(user, grant ? { grant } : {});
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const redirectUri = "http://127.0.0.1:9/google/callback";
  const q = new URLSearchParams({
    response_type: "code",
    client_id: fake.clientId,
    redirect_uri: redirectUri,
    scope: Object.values(FAKE_GOOGLE_SCOPES).join(" "),
    state: randomBytes(8).toString("hex"),
    code_challenge: challenge,
    code_challenge_method: "S256",
    access_type: "offline",
  });
  const auth = await fetch(`${fake.url}/o/oauth2/v2/auth?${q}`, { redirect: "manual" });
  await auth.text();
  const code = new URL(auth.headers.get("location")!).searchParams.get("code")!;
  const res = await fetch(`${fake.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: redirectUri, client_id: fake.clientId, client_secret: fake.clientSecret }),
  });
  const t = (await res.json()) as { access_token: string; refresh_token: string; expires_in: number; scope: string };
  return t;
}

export interface BulkWearer {
  deviceId: string;
  number: string;
  user: FakeUser;
}

/**
 * Wearers with a confirmed number and a Google link, written as registration, phone confirmation and
 * the link write them (tokens AES-GCM with the device id as AAD), in one transaction per batch.
 */
export async function insertLinkedWearers(
  r: CloudRelay,
  n: number,
  o: { timezone?: string; language?: string; prefs?: Partial<Preferences>; numberBase?: number; user?: (i: number) => Parameters<FakeGoogle["addUser"]>[0] } = {},
): Promise<BulkWearer[]> {
  const { store, config, clock } = r.relay;
  const now = clock.now().toISOString();
  const out: BulkWearer[] = [];
  const rows: { dev: Record<string, unknown>; acc: Record<string, unknown> }[] = [];
  for (let i = 0; i < n; i++) {
    const user = r.fake.addUser(o.user?.(i) ?? {});
    const t = await mintTokens(r.fake, user);
    const deviceId = `dev_bulk_${randomBytes(6).toString("hex")}`;
    const number = `+1415${String((o.numberBase ?? 5000000) + i).padStart(7, "0")}`;
    out.push({ deviceId, number, user });
    rows.push({
      dev: {
        id: deviceId,
        token_hash: hashToken(randomBytes(32).toString("base64url")),
        timezone: o.timezone ?? user.timeZone,
        language: o.language ?? "en-US",
        model: null,
        app_version: null,
        preferences: JSON.stringify({ ...defaultPreferences(), ...(o.prefs ?? {}) }),
        created_at: now,
        last_seen_at: null,
        last_level: null,
        last_observed_at: null,
        alerted: "[]",
        silence_alerted: 0,
        phone_number: number,
        phone_verified: 1,
      },
      acc: {
        device_id: deviceId,
        health_user_id: user.healthUserId,
        access_token: encryptToken(config.secret, t.access_token, deviceId),
        refresh_token: encryptToken(config.secret, t.refresh_token, deviceId),
        expires_at: new Date(clock.now().getTime() + t.expires_in * 1000).toISOString(),
        scopes: t.scope,
        time_zone: user.timeZone,
        distance_unit: null,
        status: "linked",
        broken_at: null,
        created_at: now,
        updated_at: now,
      },
    });
  }
  for (let i = 0; i < rows.length; i += 500) {
    const batch = rows.slice(i, i + 500);
    await store.db.transaction().execute(async (tx) => {
      await tx.insertInto("devices").values(batch.map((b) => b.dev) as never).execute();
      await tx.insertInto("google_accounts").values(batch.map((b) => b.acc) as never).execute();
    });
  }
  return out;
}

/**
 * Calls the fake received, per UTC minute of the relay's clock: per user (Health API only) and in
 * total. Call after each tick; ticks at one instant add up in that minute.
 */
export function createCallTally(fake: FakeGoogle) {
  let last = fake.calls();
  const perMinute = new Map<string, { total: number; byUser: Map<string, number>; token: number }>();
  return {
    record(at: Date) {
      const now = fake.calls();
      const m = minuteKey(at);
      let slot = perMinute.get(m);
      if (!slot) perMinute.set(m, (slot = { total: 0, byUser: new Map(), token: 0 }));
      for (const [user, by] of Object.entries(now.byUser)) {
        const before = last.byUser[user] ?? {};
        for (const [ep, c] of Object.entries(by)) {
          const d = c - (before[ep] ?? 0);
          if (d <= 0) continue;
          if (ep === "token" || ep === "revoke" || ep === "authorize") {
            slot.token += d;
            continue;
          }
          slot.total += d;
          slot.byUser.set(user, (slot.byUser.get(user) ?? 0) + d);
        }
      }
      last = now;
    },
    maxProject: () => Math.max(0, ...[...perMinute.values()].map((s) => s.total)),
    maxUser: () => Math.max(0, ...[...perMinute.values()].flatMap((s) => [...s.byUser.values()])),
    total: () => [...perMinute.values()].reduce((a, s) => a + s.total, 0),
    tokens: () => [...perMinute.values()].reduce((a, s) => a + s.token, 0),
  };
}
