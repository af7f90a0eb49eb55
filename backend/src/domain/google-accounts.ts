// Linking a wearer's Google account for the Google Health API (OAuth 2.0 code flow with PKCE S256,
// offline access), its tokens at rest, refresh, and unlinking.
//
// The flow: POST /v1/google/link (or the web sign-up) hands out PUBLIC_URL/google/start?flow=<id>
// (10 minutes); /google/start creates the PKCE verifier and the state, both kept server-side (state
// hashed, verifier encrypted) and bound to the device; /google/callback takes the state once (a
// replayed, unknown or expired state stores nothing), exchanges the code with the client secret,
// reads the identity and (when granted) the settings, and stores the tokens encrypted with the
// device id as AAD. The scopes Google says it granted decide what is on.
// Refresh: only here, one at a time per account: on PostgreSQL a SELECT ... FOR UPDATE on the
// account row spans the call to Google (others wait, then find the new token); on SQLite an
// in-process lock plus a compare-and-swap on the stored access token blob.
// invalid_grant marks the link "broken" once, and that transition queues one SMS.
import { publicUrl as configPublicUrl } from "../config.ts";
import { Problem } from "../http/problem.ts";
import { GOOGLE_SCOPES, GoogleApiError, type GoogleHealthClient, type GoogleTokens } from "../providers/google-health.ts";
import type { Db, Tx } from "../store/open-store.ts";
import type { GoogleAccountsTable } from "../store/schema.ts";
import { googleLinkBrokenText, type Lang } from "./alert-text.ts";
import type { Deps } from "./deps.ts";
import type { Device } from "./devices.ts";
import { isRelayPath, openLinkFlow, sha } from "./link-flows.ts";
import { createPkce, createState } from "./pkce.ts";
import { isValidTimeZone, readPreferences } from "./preferences.ts";
import { chargeSms, enqueueSms } from "./sms-queue.ts";
import { decryptToken, encryptToken } from "./token-crypto.ts";
import { createLocalLock } from "./local-lock.ts";

export const GOOGLE_LINK_FLOW_MS = 10 * 60_000;
/** refresh a little before Google says the access token ends */
const REFRESH_MARGIN_MS = 60_000;
/** time zones a device may hold before it has a real one (the web sign-up's placeholder) */
const PLACEHOLDER_ZONES = new Set(["", "UTC", "Etc/UTC"]);


export interface GoogleGranted {
  activity: boolean;
  sleep: boolean;
  settings: boolean;
}

export type GoogleFlowFailure = "unknown" | "expired" | "replayed" | "denied" | "not_configured" | "exchange_failed" | "nothing_granted";

export function googleClientOf(deps: Deps): GoogleHealthClient | undefined {
  return deps.google;
}

export function grantedOf(scopes: string[] | string): GoogleGranted {
  const list = typeof scopes === "string" ? scopes.split(/\s+/) : scopes;
  return { activity: list.includes(GOOGLE_SCOPES.activity), sleep: list.includes(GOOGLE_SCOPES.sleep), settings: list.includes(GOOGLE_SCOPES.settings) };
}

export async function googleView(
  deps: Deps,
  device: Device,
): Promise<{ linked: boolean; status?: "linked" | "broken"; granted?: GoogleGranted; timeZone?: string }> {
  const acc = await deps.store.db
    .selectFrom("google_accounts")
    .select(["status", "scopes", "time_zone"])
    .where("device_id", "=", device.id)
    .executeTakeFirst();
  if (!acc) return { linked: false };
  return {
    linked: true,
    status: acc.status === "broken" ? "broken" : "linked",
    granted: grantedOf(acc.scopes),
    ...(acc.time_zone ? { timeZone: acc.time_zone } : {}),
  };
}

/**
 * Google lets an unverified OAuth client serve 100 users; past that its consent page refuses new
 * ones with an error of its own. Telling the wearer here, in our words, is kinder, and tells the
 * operator (GOOGLE_USER_CAP, /admin) before wearers run into it. A wearer already connected may
 * always connect again (a new consent, a broken link).
 */
export async function checkGoogleUserCap(deps: Deps, device: Device): Promise<void> {
  const cap = deps.config.google.userCap;
  if (cap === 0) return;
  const mine = await deps.store.db.selectFrom("google_accounts").select("device_id").where("device_id", "=", device.id).executeTakeFirst();
  if (mine) return;
  const { n } = await deps.store.db.selectFrom("google_accounts").select((eb) => eb.fn.countAll<string | number>().as("n")).executeTakeFirstOrThrow();
  if (Number(n) >= cap)
    throw new Problem(409, "google_user_cap", `This relay has as many wearers connected to Google Health as its Google client allows (${cap}); ask the relay's operator.`);
}

/** The URL on the relay the wearer opens to connect Google Health (valid 10 minutes). */
export async function createGoogleLinkFlow(deps: Deps, device: Device, o: { returnTo?: string } = {}): Promise<string> {
  if (!deps.google) throw new Problem(409, "google_not_configured", "This relay has no Google OAuth client (GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET); Google Health cannot be connected.");
  // before the cap: a bad return path is the caller's mistake whatever the count
  if (o.returnTo !== undefined && !isRelayPath(o.returnTo)) throw new Problem(400, "invalid_return_to", "returnTo must be a path on this relay, such as /.");
  await checkGoogleUserCap(deps, device);
  const flow = await openLinkFlow(deps.store.db, "google_link_flows", { deviceId: device.id, returnTo: o.returnTo, ttlMs: GOOGLE_LINK_FLOW_MS, now: deps.clock.now() });
  const base = deps.publicUrl?.() ?? configPublicUrl(deps.config);
  return `${base}/google/start?flow=${encodeURIComponent(flow)}`;
}

async function languageOf(deps: Deps, deviceId: string): Promise<string> {
  const d = await deps.store.db.selectFrom("devices").select("language").where("id", "=", deviceId).executeTakeFirst();
  return d?.language ?? "en-US";
}

/** GET /google/start: the consent URL at Google, or why not. */
export async function startGoogleLinkFlow(
  deps: Deps,
  flow: string,
  redirectUri: string,
): Promise<{ url: string } | { failure: GoogleFlowFailure; language: string; returnTo?: string }> {
  const google = deps.google;
  if (!google) return { failure: "not_configured", language: "en-US" };
  const now = deps.clock.now();
  const row = flow ? await deps.store.db.selectFrom("google_link_flows").selectAll().where("flow_hash", "=", sha(flow)).executeTakeFirst() : undefined;
  if (!row) return { failure: "unknown", language: "en-US" };
  const language = await languageOf(deps, row.device_id);
  const returnTo = row.return_to ?? undefined;
  if (row.used_at) return { failure: "replayed", language, returnTo };
  if (row.expires_at <= now.toISOString()) return { failure: "expired", language, returnTo };
  const pkce = createPkce();
  const state = createState();
  // opening the link again starts over: the earlier state stops working
  await deps.store.db
    .updateTable("google_link_flows")
    .set({ state_hash: sha(state), verifier: encryptToken(deps.config.secret, pkce.verifier, row.device_id) })
    .where("flow_hash", "=", row.flow_hash)
    .execute();
  return { url: google.authorizeUrl({ state, codeChallenge: pkce.challenge, redirectUri }) };
}

export type GoogleLinkResult =
  | { ok: true; language: string; granted: GoogleGranted; timeZone?: string; timeZoneAdopted: boolean; returnTo?: string }
  | { ok: false; failure: GoogleFlowFailure; language: string; returnTo?: string };

/** GET /google/callback: takes the state once, exchanges the code, stores the tokens encrypted. */
export async function finishGoogleLinkFlow(deps: Deps, q: { state?: string; code?: string; error?: string }, redirectUri: string): Promise<GoogleLinkResult> {
  const google = deps.google;
  if (!google) return { ok: false, failure: "not_configured", language: "en-US" };
  const { db } = deps.store;
  const now = deps.clock.now();
  if (!q.state) return { ok: false, failure: "unknown", language: "en-US" };
  const row = await db.selectFrom("google_link_flows").selectAll().where("state_hash", "=", sha(q.state)).executeTakeFirst();
  if (!row) return { ok: false, failure: "unknown", language: "en-US" };
  const device = await db.selectFrom("devices").selectAll().where("id", "=", row.device_id).executeTakeFirst();
  const language = device?.language ?? "en-US";
  const returnTo = row.return_to ?? undefined;
  const fail = (failure: GoogleFlowFailure): GoogleLinkResult => ({ ok: false, failure, language, returnTo });
  if (!device) return fail("unknown");
  if (row.used_at) return fail("replayed");
  if (row.expires_at <= now.toISOString()) return fail("expired");
  // take the state: only one callback wins
  const taken = await db
    .updateTable("google_link_flows")
    .set({ used_at: now.toISOString() })
    .where("flow_hash", "=", row.flow_hash)
    .where("used_at", "is", null)
    .executeTakeFirst();
  if (Number(taken.numUpdatedRows) !== 1) return fail("replayed");
  if (q.error) return fail(q.error === "access_denied" ? "denied" : "exchange_failed");
  if (!q.code || !row.verifier) return fail("unknown");

  let tokens: GoogleTokens;
  try {
    const verifier = decryptToken(deps.config.secret, row.verifier, row.device_id);
    tokens = await google.exchangeCode(q.code, verifier, redirectUri);
  } catch (err) {
    deps.log.warn({ reason: (err as Error)?.message }, "google link: code exchange failed");
    return fail("exchange_failed");
  }
  const granted = grantedOf(tokens.scopes);
  if (!granted.activity && !granted.sleep && !granted.settings) {
    await revokeQuietly(deps, google, tokens.refreshToken ?? tokens.accessToken);
    return fail("nothing_granted");
  }
  let healthUserId: string;
  let settings: { timeZone?: string; distanceUnit?: string } = {};
  try {
    ({ healthUserId } = await google.identity(tokens.accessToken));
    if (granted.settings) settings = await google.settings(tokens.accessToken);
  } catch (err) {
    deps.log.warn({ reason: (err as Error)?.message }, "google link: reading the identity or settings failed");
    await revokeQuietly(deps, google, tokens.refreshToken ?? tokens.accessToken);
    return fail("exchange_failed");
  }
  const timeZone = settings.timeZone && isValidTimeZone(settings.timeZone) ? settings.timeZone : undefined;
  const key = deps.config.secret;
  const values = {
    health_user_id: healthUserId,
    access_token: encryptToken(key, tokens.accessToken, device.id),
    refresh_token: tokens.refreshToken ? encryptToken(key, tokens.refreshToken, device.id) : null,
    expires_at: tokens.expiresAt.toISOString(),
    scopes: tokens.scopes.join(" "),
    time_zone: timeZone ?? null,
    distance_unit: settings.distanceUnit ?? null,
    status: "linked",
    broken_at: null,
    updated_at: now.toISOString(),
  };
  // Google sends no refresh token when the wearer had granted before without prompt=consent; we always
  // ask with it, but keep an earlier one rather than lose offline access
  const keepOld = !tokens.refreshToken;
  let adopted = false;
  await db.transaction().execute(async (tx) => {
    const old = keepOld ? await tx.selectFrom("google_accounts").select(["refresh_token"]).where("device_id", "=", device.id).executeTakeFirst() : undefined;
    const v = keepOld && old?.refresh_token ? { ...values, refresh_token: old.refresh_token } : values;
    await tx
      .insertInto("google_accounts")
      .values({ device_id: device.id, created_at: now.toISOString(), ...v })
      .onConflict((oc) => oc.column("device_id").doUpdateSet(v))
      .execute();
    if (timeZone && timeZone !== device.timezone && (PLACEHOLDER_ZONES.has(device.timezone) || device.model === "web")) {
      await tx.updateTable("devices").set({ timezone: timeZone }).where("id", "=", device.id).execute();
      adopted = true;
    }
  });
  return { ok: true, language, granted, ...(timeZone ? { timeZone } : {}), timeZoneAdopted: adopted, returnTo };
}

async function revokeQuietly(deps: Deps, google: GoogleHealthClient, token: string) {
  try {
    await google.revoke(token);
  } catch (err) {
    deps.log.warn({ reason: (err as Error)?.message }, "google: revoke failed");
  }
}

/** DELETE /v1/me/google (and erasure): revoke at Google (best effort) and forget the tokens. */
export async function unlinkGoogle(deps: Deps, deviceId: string): Promise<void> {
  const acc = await deps.store.db.selectFrom("google_accounts").selectAll().where("device_id", "=", deviceId).executeTakeFirst();
  if (acc && deps.google) {
    try {
      const blob = acc.refresh_token ?? acc.access_token;
      await deps.google.revoke(decryptToken(deps.config.secret, blob, deviceId));
    } catch (err) {
      deps.log.warn({ reason: (err as Error)?.message }, "google unlink: revoke failed; forgetting the tokens anyway");
    }
  }
  await deps.store.db.transaction().execute(async (tx) => {
    await tx.deleteFrom("google_link_flows").where("device_id", "=", deviceId).execute();
    await tx.deleteFrom("google_accounts").where("device_id", "=", deviceId).execute();
  });
}

// ------------------------------------------------------------------------------------------------
// Access and refresh

/**
 * Runs fn with a valid access token (refreshing first when it is about to end, or once on a 401).
 * On invalid_grant the link is marked broken (one SMS, if the wearer has a confirmed number and SMS
 * alerts on) and GoogleApiError(kind "invalid_grant") is thrown. Not linked: kind "permanent".
 */
export async function withGoogleAccess<T>(deps: Deps, deviceId: string, fn: (accessToken: string) => Promise<T>): Promise<T> {
  if (!deps.google) throw new GoogleApiError("permanent", 0, "google: not configured");
  const acc = await deps.store.db.selectFrom("google_accounts").selectAll().where("device_id", "=", deviceId).executeTakeFirst();
  if (!acc) throw new GoogleApiError("permanent", 0, "google: not linked");
  if (acc.status === "broken") throw new GoogleApiError("invalid_grant", 0, "google: link broken; the wearer has to connect again");
  let access = fresh(deps, acc) ? { token: decryptToken(deps.config.secret, acc.access_token, deviceId), blob: acc.access_token } : await refreshGoogle(deps, deviceId, acc.access_token);
  try {
    return await fn(access.token);
  } catch (err) {
    if (!(err instanceof GoogleApiError) || err.kind !== "unauthorized") throw err;
    access = await refreshGoogle(deps, deviceId, access.blob);
    return fn(access.token);
  }
}

function fresh(deps: Deps, acc: Pick<GoogleAccountsTable, "expires_at">): boolean {
  return Date.parse(acc.expires_at) - REFRESH_MARGIN_MS > deps.clock.now().getTime();
}

/** One refresh at a time per account within this process. */
const withLocalLock = createLocalLock();

class Broken extends Error {}

/**
 * New tokens for the account unless someone else already got them (the stored access token is no
 * longer `staleBlob` and still fresh). Stores any refresh token Google returns.
 */
export async function refreshGoogle(deps: Deps, deviceId: string, staleBlob: string): Promise<{ token: string; blob: string }> {
  const google = deps.google;
  if (!google) throw new GoogleApiError("permanent", 0, "google: not configured");
  const key = deps.config.secret;

  const read = async (tx: Db | Tx, lock: boolean) => {
    let q = tx.selectFrom("google_accounts").selectAll().where("device_id", "=", deviceId);
    if (lock) q = q.forUpdate();
    const acc = await q.executeTakeFirst();
    if (!acc) throw new GoogleApiError("permanent", 0, "google: not linked");
    if (acc.status === "broken") throw new GoogleApiError("invalid_grant", 0, "google: link broken; the wearer has to connect again");
    return acc;
  };
  /** the refresh itself; a refusal becomes Broken */
  const call = async (acc: GoogleAccountsTable) => {
    if (!acc.refresh_token) throw new Broken("no refresh token");
    try {
      return await google.refresh(decryptToken(key, acc.refresh_token, deviceId));
    } catch (err) {
      if (err instanceof GoogleApiError && err.kind === "invalid_grant") throw new Broken(err.message);
      throw err;
    }
  };
  const values = (acc: GoogleAccountsTable, t: GoogleTokens, blob: string) => ({
    access_token: blob,
    // always keep the newest refresh token Google hands out
    refresh_token: t.refreshToken ? encryptToken(key, t.refreshToken, deviceId) : acc.refresh_token,
    expires_at: t.expiresAt.toISOString(),
    ...(t.scopes.length ? { scopes: t.scopes.join(" ") } : {}),
    updated_at: deps.clock.now().toISOString(),
  });

  try {
    if (deps.store.dialect === "postgres") {
      // the row lock spans the call to Google: other relays wait, then find the new token
      return await deps.store.db.transaction().execute(async (tx) => {
        const acc = await read(tx, true);
        if (acc.access_token !== staleBlob && fresh(deps, acc)) return { token: decryptToken(key, acc.access_token, deviceId), blob: acc.access_token };
        const t = await call(acc);
        const blob = encryptToken(key, t.accessToken, deviceId);
        await tx.updateTable("google_accounts").set(values(acc, t, blob)).where("device_id", "=", deviceId).execute();
        return { token: t.accessToken, blob };
      });
    }
    // SQLite: one writer; the call to Google stays outside any transaction (it would hold the one
    // connection), and the write is a compare-and-swap on the blob that was read
    return await withLocalLock(`google:${deviceId}`, async () => {
      const acc = await read(deps.store.db, false);
      if (acc.access_token !== staleBlob && fresh(deps, acc)) return { token: decryptToken(key, acc.access_token, deviceId), blob: acc.access_token };
      const t = await call(acc);
      const blob = encryptToken(key, t.accessToken, deviceId);
      const r = await deps.store.db
        .updateTable("google_accounts")
        .set(values(acc, t, blob))
        .where("device_id", "=", deviceId)
        .where("access_token", "=", acc.access_token)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) return { token: t.accessToken, blob };
      // another process stored newer tokens meanwhile: use theirs
      const now = await read(deps.store.db, false);
      return { token: decryptToken(key, now.access_token, deviceId), blob: now.access_token };
    });
  } catch (err) {
    if (!(err instanceof Broken)) throw err;
    await markBroken(deps, deviceId);
    deps.log.warn({ device: deviceId }, "google refresh refused: the wearer has to connect again");
    throw new GoogleApiError("invalid_grant", 400, "google: refresh refused (revoked or expired); the wearer has to connect again");
  }
}

/** linked -> broken, once: the transition (whoever wins it) queues the one SMS. */
async function markBroken(deps: Deps, deviceId: string): Promise<void> {
  const now = deps.clock.now();
  const queued = await deps.store.db.transaction().execute(async (tx) => {
    const r = await tx
      .updateTable("google_accounts")
      .set({ status: "broken", broken_at: now.toISOString(), updated_at: now.toISOString() })
      .where("device_id", "=", deviceId)
      .where("status", "=", "linked")
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false;
    const dev = await tx.selectFrom("devices").selectAll().where("id", "=", deviceId).executeTakeFirst();
    if (!dev || !dev.phone_number || dev.phone_verified !== 1 || !readPreferences(dev.preferences).sms) return false;
    const opted = await tx.selectFrom("optouts").select("number").where("number", "=", dev.phone_number).executeTakeFirst();
    if (opted) return false;
    if ((await chargeSms(tx, deps, dev.phone_number, { perNumber: false })) !== "ok") return false;
    await enqueueSms(tx, deps, {
      deviceId,
      kind: "google_link_broken",
      to: dev.phone_number,
      body: googleLinkBrokenText((dev.language === "ja-JP" ? "ja-JP" : "en-US") as Lang),
    });
    return true;
  });
  if (queued) deps.onEnqueue?.();
}
