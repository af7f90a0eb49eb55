// Keywords texted to our number: STOP and friends opt out at once and durably, START opts back in.
//
// Twilio signs no timestamp, so a captured signed request can be sent again at any time. Every
// processed webhook is recorded by its key (inbound: MessageSid; receipts: MessageSid and status) in
// the same transaction as its effect; a replay is answered as a success that does nothing (200 with
// empty TwiML, 204 for receipts): an error answer would only make Twilio retry or call the fallback.
import { HELP_TEXT } from "./alert-text.ts";
import type { Deps } from "./deps.ts";
import type { Db, Tx } from "../store/open-store.ts";
import { deadLetterQueuedTo } from "./sms-queue.ts";
import { scrubSentCodes } from "./phone-verification.ts";

const STOP = new Set(["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT-OUT"]);
const START = new Set(["START", "UNSTOP", "YES"]);
const HELP = new Set(["HELP", "INFO"]);
export const EMPTY_TWIML = "<Response/>";
/** Twilio's message SIDs: two letters and 32 hex digits */
const SID = /^[A-Z]{2}[0-9a-fA-F]{32}$/;

/** Records a webhook key; false when it was already there (a replay). */
export async function claimWebhook(tx: Tx | Db, key: string, now: Date): Promise<boolean> {
  const r = await tx
    .insertInto("webhook_replays")
    .values({ key, received_at: now.toISOString() })
    .onConflict((oc) => oc.column("key").doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** Forgets keys older than the retention: a replay of a request older than that is no longer recognised. */
export async function pruneWebhookReplays(db: Db, before: Date): Promise<void> {
  await db.deleteFrom("webhook_replays").where("received_at", "<", before.toISOString()).execute();
}

export async function handleInbound(deps: Deps, from: string, body: string, sid?: string): Promise<string> {
  const word = body.trim().split(/\s+/)[0]?.toUpperCase() ?? "";
  const now = deps.clock.now();
  if (!sid || !SID.test(sid)) {
    // every inbound message from Twilio has one; without it a replay could not be recognised
    deps.log.warn("inbound webhook without a MessageSid: ignored");
    return EMPTY_TWIML;
  }
  const outcome = await deps.store.db.transaction().execute(async (tx) => {
    if (!(await claimWebhook(tx, `in:${sid}`, now))) return "replay" as const;
    if (STOP.has(word) && from) {
      await tx.insertInto("optouts").values({ number: from, opted_out_at: now.toISOString() }).onConflict((oc) => oc.column("number").doNothing()).execute();
      await deadLetterQueuedTo(tx, from, "opted_out", now);
      return "stop" as const;
    }
    if (START.has(word) && from) {
      await tx.deleteFrom("optouts").where("number", "=", from).execute();
      return "start" as const;
    }
    return HELP.has(word) ? ("help" as const) : ("other" as const);
  });
  if (outcome === "replay") {
    deps.log.warn({ webhook: "inbound" }, "replayed Twilio webhook ignored");
    return EMPTY_TWIML;
  }
  if (outcome === "stop") deps.log.info({ keyword: "STOP" }, "number opted out");
  if (outcome === "start") deps.log.info({ keyword: "START" }, "number opted back in");
  if (outcome === "help") return `<Response><Message>${HELP_TEXT.replace(/&/g, "&amp;")}</Message></Response>`;
  return EMPTY_TWIML;
}

const RECEIPTS = new Set(["queued", "sending", "sent", "delivered", "undelivered", "failed"]);
const RANK: Record<string, number> = { queued: 0, sending: 1, sent: 2, delivered: 3, undelivered: 3, failed: 3 };

export async function handleStatus(deps: Deps, sid: string, status: string, errorCode?: string): Promise<void> {
  if (!sid || !RECEIPTS.has(status)) return;
  const now = deps.clock.now();
  await deps.store.db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom("deliveries").select(["id", "status", "device_id"]).where("provider_id", "=", sid).executeTakeFirst();
    if (!row) return;
    if (!(await claimWebhook(tx, `st:${sid}:${status}`, now))) {
      deps.log.warn({ webhook: "status" }, "replayed Twilio webhook ignored");
      return;
    }
    // Receipts can arrive out of order; never step back from a final state.
    if ((RANK[row.status] ?? 0) > (RANK[status] ?? 0)) return;
    await tx
      .updateTable("deliveries")
      .set({ status, error: errorCode ? `twilio:${errorCode}` : null, updated_at: now.toISOString() })
      .where("id", "=", row.id)
      .execute();
    if (row.device_id) await scrubSentCodes(tx, now, row.device_id);
  });
}
