// npm run bench:cloud [-- --day-wearers 300] [--round-wearers 10000] [--db sqlite|postgres] [--concurrency 32] [--max-seconds 600]
//
// The cloud path (Google Health) against the fake Google of the tests (loopback HTTP, in this process):
// 1. Calls per wearer per day: a day on a fake clock (the relay's timer every 5 minutes) for a few
//    hundred wearers with the default settings; the fake counts every call per wearer. Target: <= 60
//    Health API calls per wearer per day (48 polls + the summary). Token refreshes go to the OAuth
//    endpoint and are reported apart.
// 2. One round: the time for one relay process to poll 10,000 wearers once (every poll due at the
//    same moment), with the default settings. Target: under 60 s. Baseline, same run: a bare loop of
//    the same 10,000 pairedDevices calls through the same client, at the same concurrency, with
//    nothing else (no database, no quota, no alert policy): what the fake alone costs.
// Wearers are written as registration, phone confirmation and the Google link write them (tokens
// minted at the fake's OAuth endpoints, stored AES-GCM); setup is not timed. Bounded by --max-seconds.
import { createHash, randomBytes } from "node:crypto";
import { runCloudTick } from "../backend/src/domain/cloud-scheduler.ts";
import { hashToken } from "../backend/src/domain/devices.ts";
import { defaultPreferences } from "../backend/src/domain/preferences.ts";
import { encryptToken } from "../backend/src/domain/token-crypto.ts";
import { createGoogleHealthClient } from "../backend/src/providers/google-health.ts";
import { createTestDatabase, type DbKind } from "../test/helpers/db.ts";
import { FAKE_GOOGLE_SCOPES, startFakeGoogle, type FakeDay, type FakeGoogle, type FakeUser } from "../test/helpers/fake-google.ts";
import { createTestClock, startRelay, type TestClock, type TestRelay } from "../test/helpers/relay.ts";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const DAY_WEARERS = Number(arg("day-wearers", "300"));
const ROUND_WEARERS = Number(arg("round-wearers", "10000"));
const DB_KIND = arg("db", "sqlite") as DbKind;
const CONCURRENCY = Number(arg("concurrency", "32"));
const MAX_SECONDS = Number(arg("max-seconds", "600"));
const CALLS_TARGET = 60;
const ROUND_TARGET_S = 60;
const deadline = Date.now() + MAX_SECONDS * 1000;
const overTime = () => Date.now() > deadline;
process.env.TEST_LOG_LEVEL ??= "silent";

const DAY: FakeDay = {
  steps: 5000,
  distanceMm: 4_000_000,
  totalKcal: 2000,
  floors: 3,
  azm: { fatBurn: 10, cardio: 0, peak: 0 },
  sedentarySec: 30_000,
  activeMinutes: { light: 100, moderate: 10, vigorous: 5 },
};

async function mint(fake: FakeGoogle, user: FakeUser) {
  const verifier = randomBytes(32).toString("base64url");
  const redirectUri = "http://127.0.0.1:9/google/callback";
  const q = new URLSearchParams({
    response_type: "code",
    client_id: fake.clientId,
    redirect_uri: redirectUri,
    scope: Object.values(FAKE_GOOGLE_SCOPES).join(" "),
    state: "s",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    access_type: "offline",
  });
  fake.approveAs(user);
  const auth = await fetch(`${fake.url}/o/oauth2/v2/auth?${q}`, { redirect: "manual" });
  await auth.text();
  const code = new URL(auth.headers.get("location")!).searchParams.get("code")!;
  const res = await fetch(`${fake.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: redirectUri, client_id: fake.clientId, client_secret: fake.clientSecret }),
  });
  return (await res.json()) as { access_token: string; refresh_token: string; expires_in: number; scope: string };
}

/** n linked wearers with a confirmed number, in batches; one fake Google user each. Not timed. */
async function addWearers(relay: TestRelay, fake: FakeGoogle, n: number, lastSync: string) {
  const { store, config, clock } = relay;
  const now = clock.now().toISOString();
  const users: FakeUser[] = [];
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({ length: Math.min(500, n - i) }, () =>
      fake.addUser({ timeZone: "America/New_York", days: { "2026-11-19": DAY }, devices: [{ id: "versa", deviceType: "TRACKER", batteryLevel: 80, lastSyncTime: lastSync }] }),
    );
    // the fake hands codes out in the order of approveAs: one at a time keeps user and token together
    const tokens: Awaited<ReturnType<typeof mint>>[] = [];
    for (const u of batch) tokens.push(await mint(fake, u));
    const devs = batch.map((u, k) => {
      const id = `dev_bench_${randomBytes(6).toString("hex")}`;
      const t = tokens[k]!;
      return {
        dev: {
          id,
          token_hash: hashToken(randomBytes(32).toString("base64url")),
          timezone: "America/New_York",
          language: "en-US",
          model: null,
          app_version: null,
          preferences: JSON.stringify(defaultPreferences()),
          created_at: now,
          last_seen_at: null,
          last_level: null,
          last_observed_at: null,
          alerted: "[]",
          silence_alerted: 0,
          phone_number: `+1415${String(2000000 + i + k).padStart(7, "0")}`,
          phone_verified: 1,
        },
        acc: {
          device_id: id,
          health_user_id: u.healthUserId,
          access_token: encryptToken(config.secret, t.access_token, id),
          refresh_token: encryptToken(config.secret, t.refresh_token, id),
          expires_at: new Date(clock.now().getTime() + t.expires_in * 1000).toISOString(),
          scopes: t.scope,
          time_zone: u.timeZone,
          distance_unit: null,
          status: "linked",
          broken_at: null,
          created_at: now,
          updated_at: now,
        },
      };
    });
    await store.db.transaction().execute(async (tx) => {
      await tx.insertInto("devices").values(devs.map((d) => d.dev)).execute();
      await tx.insertInto("google_accounts").values(devs.map((d) => d.acc)).execute();
    });
    users.push(...batch);
  }
  return users;
}

async function relayOn(fake: FakeGoogle, clock: TestClock) {
  const tdb = await createTestDatabase(DB_KIND);
  const relay = await startRelay({ databaseUrl: tdb.url, clock, env: { ...fake.env(), CLOUD_TICK_MS: "86400000", SMS_DAILY_BUDGET: "1000000" } });
  return {
    relay,
    async stop() {
      await relay.stop();
      await tdb.drop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Calls per wearer per day

async function dayRun() {
  const fake = await startFakeGoogle();
  const clock = createTestClock("2026-11-20T05:00:00.000Z");
  const { relay, stop } = await relayOn(fake, clock);
  const users = await addWearers(relay, fake, DAY_WEARERS, "2026-11-20T04:55:00.000Z");
  fake.resetCalls();
  const started = Date.now();
  let ticks = 0;
  let complete = true;
  for (let minute = 5; minute <= 24 * 60; minute += 5) {
    if (overTime()) {
      complete = false;
      break;
    }
    clock.advance(5 * 60_000);
    if (minute % 60 === 0) for (const u of users) u.lagSync(new Date(clock.now().getTime() - 60_000));
    await runCloudTick(relay.running.deps, { now: clock.now() });
    ticks++;
  }
  const calls = fake.calls();
  const perWearer = users.map((u) => Object.entries(calls.byUser[u.healthUserId] ?? {}).reduce((a, [ep, c]) => (ep === "token" || ep === "revoke" ? a : a + c), 0));
  const tokens = users.map((u) => calls.byUser[u.healthUserId]?.token ?? 0);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const out = {
    wearers: DAY_WEARERS,
    simulatedHours: (ticks * 5) / 60,
    complete,
    wallSeconds: (Date.now() - started) / 1000,
    apiCallsPerWearerDay: { mean: mean(perWearer), max: Math.max(...perWearer) },
    byEndpoint: Object.fromEntries(Object.entries(calls.byEndpoint).map(([k, v]) => [k, v / DAY_WEARERS])),
    tokenRefreshesPerWearerDay: { mean: mean(tokens), max: Math.max(...tokens) },
    violations: fake.violations().length,
  };
  await stop();
  await fake.close();
  return out;
}

// ---------------------------------------------------------------------------------------------
// 2. One round of 10,000 polls

async function roundRun() {
  const fake = await startFakeGoogle();
  const clock = createTestClock(new Date().toISOString());
  const { relay, stop } = await relayOn(fake, clock);
  const t0 = Date.now();
  await addWearers(relay, fake, ROUND_WEARERS, new Date(clock.now().getTime() - 5 * 60_000).toISOString());
  const setupSeconds = (Date.now() - t0) / 1000;
  const deps = relay.running.deps;
  // the schedule rows, then every poll due now (and no summary in the way)
  await runCloudTick(deps, { now: clock.now(), limit: 0 });
  await relay.store.db.updateTable("cloud_jobs").set({ due_at: clock.now().toISOString() }).where("kind", "=", "poll").execute();
  await relay.store.db.updateTable("cloud_jobs").set({ due_at: "2099-01-01T00:00:00.000Z" }).where("kind", "=", "summary").execute();
  fake.resetCalls();

  const s1 = Date.now();
  let polled = 0;
  let ticks = 0;
  while (polled < ROUND_WEARERS && !overTime()) {
    const r = await runCloudTick(deps, { now: clock.now(), concurrency: CONCURRENCY });
    polled += r.polled;
    ticks++;
    if (r.polled === 0 && r.deferred === 0) break;
    if (r.deferred > 0) clock.advance(60_000); // a quota minute ran out: the next minute
  }
  const roundSeconds = (Date.now() - s1) / 1000;
  const pairedCalls = fake.calls().byEndpoint.pairedDevices ?? 0;

  // baseline: the same calls, bare, through the same client and concurrency
  const client = createGoogleHealthClient({ ...relay.config.google.client!, now: () => clock.now().getTime() });
  const accounts = await relay.store.db.selectFrom("google_accounts").select(["device_id", "access_token"]).execute();
  const { decryptToken } = await import("../backend/src/domain/token-crypto.ts");
  const tokens = accounts.map((a) => decryptToken(relay.config.secret, a.access_token, a.device_id));
  const s2 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < tokens.length && !overTime()) await client.pairedDevices(tokens[next++]!);
    }),
  );
  const bareSeconds = (Date.now() - s2) / 1000;
  const sms = await relay.store.db.selectFrom("deliveries").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst();
  await stop();
  await fake.close();
  return { wearers: ROUND_WEARERS, setupSeconds, polled, pairedCalls, ticks, roundSeconds, bareSeconds, sms: Number(sms?.n ?? 0), violations: fake.violations().length };
}

async function main() {
  const day = await dayRun();
  console.log(`cloud day: ${day.wearers} wearers, ${day.simulatedHours} simulated hours${day.complete ? "" : " (stopped by --max-seconds)"} in ${day.wallSeconds.toFixed(1)} s`);
  console.log(`  Health API calls per wearer per day: mean ${day.apiCallsPerWearerDay.mean.toFixed(1)}, max ${day.apiCallsPerWearerDay.max} (target <= ${CALLS_TARGET})`);
  console.log(`  by endpoint per wearer: ${JSON.stringify(day.byEndpoint)}`);
  console.log(`  token refreshes per wearer per day (OAuth endpoint, not Health API quota): mean ${day.tokenRefreshesPerWearerDay.mean.toFixed(1)}, max ${day.tokenRefreshesPerWearerDay.max}`);

  const round = await roundRun();
  const perSecond = round.polled / Math.max(0.001, round.roundSeconds);
  const ratio = round.roundSeconds / Math.max(0.001, round.bareSeconds);
  console.log(`cloud round (${DB_KIND}, concurrency ${CONCURRENCY}): ${round.polled}/${round.wearers} wearers polled in ${round.roundSeconds.toFixed(2)} s (${perSecond.toFixed(0)}/s, ${round.ticks} tick(s); target < ${ROUND_TARGET_S} s)`);
  console.log(`  baseline, the same ${round.wearers} pairedDevices calls bare: ${round.bareSeconds.toFixed(2)} s; relay / bare = ${ratio.toFixed(2)}x`);
  console.log(`  SMS queued: ${round.sms}; fake's spec violations: ${round.violations + day.violations}; setup (not timed) ${round.setupSeconds.toFixed(1)} s`);
  console.log(
    JSON.stringify({
      bench: "cloud",
      db: DB_KIND,
      dayWearers: day.wearers,
      dayComplete: day.complete,
      callsPerWearerDayMean: Number(day.apiCallsPerWearerDay.mean.toFixed(2)),
      callsPerWearerDayMax: day.apiCallsPerWearerDay.max,
      callsTarget: CALLS_TARGET,
      callsOk: day.complete && day.apiCallsPerWearerDay.max <= CALLS_TARGET,
      tokenRefreshesPerWearerDay: Number(day.tokenRefreshesPerWearerDay.mean.toFixed(2)),
      roundWearers: round.wearers,
      roundPolled: round.polled,
      roundSeconds: Number(round.roundSeconds.toFixed(3)),
      bareSeconds: Number(round.bareSeconds.toFixed(3)),
      relayOverBare: Number(ratio.toFixed(3)),
      roundTargetSeconds: ROUND_TARGET_S,
      roundOk: round.polled === round.wearers && round.roundSeconds < ROUND_TARGET_S,
      violations: round.violations + day.violations,
    }),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
