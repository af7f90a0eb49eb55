// Linking a wearer's X account (OAuth 2.0 code flow with PKCE), its tokens at rest, refresh and unlinking.
//
// The flow: POST /v1/x/link hands out PUBLIC_URL/x/start?flow=<id> (10 minutes); /x/start creates the
// PKCE verifier and the state, both kept server-side (state hashed, verifier encrypted) and bound to
// the device; /x/callback takes the state once (a replayed or unknown state stores nothing). A flow
// may carry a path on the relay (returnTo: the web sign-up's "/") that the result pages lead back to.
// Refresh: one at a time per account; on PostgreSQL by SELECT ... FOR UPDATE on the account row
// (re-read after the lock: another process may have refreshed already), on SQLite by the single
// process (an in-process lock per account) and a transaction.
import type { XClient, XTokens } from "../providers/x.ts";
import { createOutboxXClient, OUTBOX_AUTHORIZE_PATH, type OutboxXClient } from "../providers/x-outbox.ts";
import { publicUrl } from "../config.ts";
import { Problem } from "../http/problem.ts";
import { SendError } from "../providers/sms.ts";
import type { Db, Tx } from "../store/open-store.ts";
import type { XAccountsTable } from "../store/schema.ts";
import type { Deps } from "./deps.ts";
import type { Device } from "./devices.ts";
import { openLinkFlow, sha } from "./link-flows.ts";
import { createPkce, createState } from "./pkce.ts";
import { decryptToken, encryptToken } from "./token-crypto.ts";
import { createLocalLock } from "./local-lock.ts";

export const LINK_FLOW_MS = 10 * 60_000;
/** refresh a little before X says the access token ends */
const REFRESH_MARGIN_MS = 60_000;


export function xClientOf(deps: Deps): XClient | OutboxXClient | undefined {
  if (deps.x?.name === "x") return deps.x;
  // X_PROVIDER=outbox: linking is walked against the relay's own consent page (available wherever
  // /dev/outbox is: same gate); posts stay recorded for every wearer either way
  if (deps.x?.name !== "outbox") return undefined;
  const base = deps.publicUrl?.() ?? publicUrl(deps.config);
  return createOutboxXClient({ key: deps.config.secret, authorizeUrl: base + OUTBOX_AUTHORIZE_PATH, now: () => deps.clock.now().getTime() });
}

export async function xView(deps: Deps, device: Device): Promise<{ linked: boolean; username?: string; status?: "linked" | "expired" }> {
  const acc = await deps.store.db.selectFrom("x_accounts").select(["username", "status"]).where("device_id", "=", device.id).executeTakeFirst();
  if (!acc) return { linked: false };
  if (acc.status === "expired") return { linked: false, username: acc.username, status: "expired" };
  return { linked: true, username: acc.username, status: "linked" };
}

/** POST /v1/x/link (or the web sign-up): a fresh flow id for this device. */
export async function createLinkFlow(deps: Deps, device: Device, o: { returnTo?: string } = {}): Promise<string> {
  return openLinkFlow(deps.store.db, "x_link_flows", { deviceId: device.id, returnTo: o.returnTo, ttlMs: LINK_FLOW_MS, now: deps.clock.now() });
}

export type FlowFailure = "unknown" | "expired" | "replayed" | "denied" | "not_configured" | "exchange_failed";

/** GET /x/start: the authorize URL, or why not (with where the flow leads back to, when it is known). */
export async function startLinkFlow(deps: Deps, flow: string, redirectUri: string): Promise<{ url: string } | { failure: FlowFailure; returnTo?: string }> {
  const x = xClientOf(deps);
  if (!x) return { failure: "not_configured" };
  const now = deps.clock.now();
  const row = await deps.store.db.selectFrom("x_link_flows").selectAll().where("flow_hash", "=", sha(flow)).executeTakeFirst();
  if (!row) return { failure: "unknown" };
  const returnTo = row.return_to ?? undefined;
  if (row.used_at) return { failure: "replayed", returnTo };
  if (row.expires_at <= now.toISOString()) return { failure: "expired", returnTo };
  const pkce = createPkce();
  const state = createState();
  await deps.store.db
    .updateTable("x_link_flows")
    .set({ state_hash: sha(state), verifier: encryptToken(deps.config.secret, pkce.verifier, row.device_id) })
    .where("flow_hash", "=", row.flow_hash)
    .execute();
  return { url: x.authorizeUrl({ redirectUri, state, codeChallenge: pkce.challenge }) };
}

export type LinkResult =
  | { ok: true; username: string; language: string; returnTo?: string }
  | { ok: false; failure: FlowFailure; language: string; returnTo?: string };

/** GET /x/callback: takes the state once, exchanges the code, stores the tokens encrypted. */
export async function finishLinkFlow(deps: Deps, q: { state?: string; code?: string; error?: string }, redirectUri: string): Promise<LinkResult> {
  const x = xClientOf(deps);
  if (!x) return { ok: false, failure: "not_configured", language: "en-US" };
  const { db } = deps.store;
  const now = deps.clock.now();
  if (!q.state) return { ok: false, failure: "unknown", language: "en-US" };
  const row = await db.selectFrom("x_link_flows").selectAll().where("state_hash", "=", sha(q.state)).executeTakeFirst();
  if (!row) return { ok: false, failure: "unknown", language: "en-US" };
  const device = await db.selectFrom("devices").select(["id", "language"]).where("id", "=", row.device_id).executeTakeFirst();
  const language = device?.language ?? "en-US";
  const returnTo = row.return_to ?? undefined;
  const fail = (failure: FlowFailure): LinkResult => ({ ok: false, failure, language, returnTo });
  if (!device) return fail("unknown");
  if (row.used_at) return fail("replayed");
  if (row.expires_at <= now.toISOString()) return fail("expired");
  // take the state: only one callback wins
  const taken = await db
    .updateTable("x_link_flows")
    .set({ used_at: now.toISOString() })
    .where("flow_hash", "=", row.flow_hash)
    .where("used_at", "is", null)
    .executeTakeFirst();
  if (Number(taken.numUpdatedRows) !== 1) return fail("replayed");
  if (q.error || !q.code || !row.verifier) return fail(q.error ? "denied" : "unknown");
  let tokens: XTokens;
  let me: { id: string; username: string };
  try {
    const verifier = decryptToken(deps.config.secret, row.verifier, row.device_id);
    tokens = await x.exchangeCode({ code: q.code, codeVerifier: verifier, redirectUri });
    me = await x.me(tokens.accessToken);
  } catch (err) {
    deps.log.warn({ reason: (err as Error)?.message }, "x link: code exchange failed");
    return fail("exchange_failed");
  }
  const values = {
    x_user_id: me.id,
    username: me.username,
    access_token: encryptToken(deps.config.secret, tokens.accessToken, device.id),
    refresh_token: tokens.refreshToken ? encryptToken(deps.config.secret, tokens.refreshToken, device.id) : null,
    expires_at: new Date(tokens.expiresAt).toISOString(),
    status: "linked",
    updated_at: now.toISOString(),
  };
  await db
    .insertInto("x_accounts")
    .values({ device_id: device.id, created_at: now.toISOString(), ...values })
    .onConflict((oc) => oc.column("device_id").doUpdateSet(values))
    .execute();
  return { ok: true, username: me.username, language, returnTo };
}

/** DELETE /v1/me/x: revoke at X (best effort) and forget. */
export async function unlinkX(deps: Deps, deviceId: string): Promise<void> {
  const acc = await deps.store.db.selectFrom("x_accounts").selectAll().where("device_id", "=", deviceId).executeTakeFirst();
  if (!acc) return;
  const x = xClientOf(deps);
  if (x) {
    try {
      const token = acc.refresh_token ? decryptToken(deps.config.secret, acc.refresh_token, deviceId) : decryptToken(deps.config.secret, acc.access_token, deviceId);
      await x.revoke(token, acc.refresh_token ? "refresh_token" : "access_token");
    } catch (err) {
      deps.log.warn({ reason: (err as Error)?.message }, "x unlink: revoke failed; forgetting the tokens anyway");
    }
  }
  await deps.store.db.deleteFrom("x_accounts").where("device_id", "=", deviceId).execute();
}

/** One refresh at a time per account within this process. */
const withLocalLock = createLocalLock();

/** The access token to post with (refreshed first when it is about to end); throws SendError. */
export async function accessTokenFor(deps: Deps, deviceId: string): Promise<{ token: string; blob: string }> {
  const acc = await deps.store.db.selectFrom("x_accounts").selectAll().where("device_id", "=", deviceId).executeTakeFirst();
  if (!acc) throw new SendError("permanent", "x: not linked", { code: "not_linked" });
  if (acc.status === "expired") throw new SendError("permanent", "x: link expired", { code: "link_expired" });
  if (Date.parse(acc.expires_at) - REFRESH_MARGIN_MS <= deps.clock.now().getTime()) return refreshAccount(deps, deviceId, acc.access_token);
  return { token: decryptToken(deps.config.secret, acc.access_token, deviceId), blob: acc.access_token };
}

/**
 * Refreshes the account's tokens unless someone else already did (the stored access token is no
 * longer `staleBlob`). Always stores X's newest refresh token. invalid_grant marks the link expired.
 */
export async function refreshAccount(deps: Deps, deviceId: string, staleBlob: string): Promise<{ token: string; blob: string }> {
  const x = xClientOf(deps);
  if (!x) throw new SendError("permanent", "x: not configured", { code: "not_configured" });
  const key = deps.config.secret;
  const run = async (tx: Db | Tx) => {
    let q = tx.selectFrom("x_accounts").selectAll().where("device_id", "=", deviceId);
    if (deps.store.dialect === "postgres") q = q.forUpdate();
    const acc: XAccountsTable | undefined = await q.executeTakeFirst();
    if (!acc) throw new SendError("permanent", "x: not linked", { code: "not_linked" });
    if (acc.status === "expired") throw new SendError("permanent", "x: link expired", { code: "link_expired" });
    if (acc.access_token !== staleBlob && Date.parse(acc.expires_at) - REFRESH_MARGIN_MS > deps.clock.now().getTime()) {
      return { token: decryptToken(key, acc.access_token, deviceId), blob: acc.access_token };
    }
    if (!acc.refresh_token) {
      await markExpired(tx, deviceId, deps.clock.now());
      throw new SendError("permanent", "x: no refresh token; link again", { code: "link_expired" });
    }
    let t: Awaited<ReturnType<XClient["refresh"]>>;
    try {
      t = await x.refresh(decryptToken(key, acc.refresh_token, deviceId));
    } catch (err) {
      if (err instanceof SendError && (err.code === "invalid_grant" || err.code === "invalid_client")) {
        await markExpired(tx, deviceId, deps.clock.now());
        deps.log.warn({ device: deviceId, code: err.code }, "x refresh refused: the wearer has to link again");
        throw new SendError("permanent", "x: link expired (refresh refused)", { code: "link_expired" });
      }
      throw err;
    }
    const blob = encryptToken(key, t.accessToken, deviceId);
    await tx
      .updateTable("x_accounts")
      .set({
        access_token: blob,
        refresh_token: encryptToken(key, t.refreshToken, deviceId),
        expires_at: new Date(t.expiresAt).toISOString(),
        updated_at: deps.clock.now().toISOString(),
      })
      .where("device_id", "=", deviceId)
      .execute();
    return { token: t.accessToken, blob };
  };
  // PostgreSQL: the row lock spans the call to X, so other relays wait and then find the new token.
  // SQLite: one process; the call to X stays outside any transaction (which would block the one connection).
  if (deps.store.dialect !== "postgres") return withLocalLock(`x:${deviceId}`, () => run(deps.store.db));
  const r = await deps.store.db.transaction().execute(async (tx) => {
    try {
      return { ok: await run(tx) } as const;
    } catch (err) {
      // the expired mark must be committed, so the refusal leaves the transaction as a value
      if (err instanceof SendError && err.code === "link_expired") return { expired: err } as const;
      throw err;
    }
  });
  if ("expired" in r) throw r.expired;
  return r.ok;
}

async function markExpired(tx: Db | Tx, deviceId: string, now: Date) {
  await tx.updateTable("x_accounts").set({ status: "expired", updated_at: now.toISOString() }).where("device_id", "=", deviceId).execute();
}
