// Before an SMS delivery is sent again, asks the provider whether an earlier attempt got through:
// the attempt's process may have died after the provider accepted the message and before the row
// was marked sent (the lease then expired and another worker claimed it), or the call timed out
// after the provider had taken it. Sending blind would text the wearer twice.
import type { SmsProvider } from "../providers/sms.ts";
import { sql } from "kysely";
import type { Db, Store, Tx } from "../store/open-store.ts";
import type { DeliveriesTable } from "../store/schema.ts";

/**
 * The provider ids of messages that may carry this delivery, oldest first, or none (or the provider
 * has no lookup: SNS). Throws SendError when the provider cannot be asked, so the worker retries
 * later instead of sending blind. Take one with `claimProviderMessage`.
 */
export async function findEarlierSends(db: Db, sms: SmsProvider, d: DeliveriesTable, signal: AbortSignal): Promise<string[]> {
  // a first attempt has nothing to recover; a 429 gives its attempt back, so it never counts here
  if (d.attempts <= 1 || !sms.findSent || !d.to_number) return [];
  const found = await sms.findSent({ to: d.to_number, body: d.body, since: new Date(d.created_at) }, { signal });
  if (found.length === 0) return [];
  // the same text to the same number may belong to another delivery (two alerts alike): skip
  // messages already recorded on one
  const taken = await db.selectFrom("deliveries").select("provider_id").where("provider_id", "in", found).where("id", "!=", d.id).execute();
  const used = new Set(taken.map((r) => r.provider_id));
  return found.filter((sid) => !used.has(sid));
}

/**
 * Records `sid` on delivery `d` (still claimed by `claimedBy`) unless another delivery holds it
 * already: one provider message backs at most one delivery, even when two alike are recovered at
 * once (the check and the write are one statement, under a lock on the sid on PostgreSQL).
 */
export async function claimProviderMessage(store: Store, d: DeliveriesTable, sid: string, claimedBy: string): Promise<boolean> {
  const write = async (q: Db | Tx) => {
    const r = await q
      .updateTable("deliveries")
      .set({ provider_id: sid })
      .where("id", "=", d.id)
      .where("claimed_by", "=", claimedBy)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom("deliveries as other").select("other.id").where("other.provider_id", "=", sid).where("other.id", "!=", d.id))),
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  };
  if (store.dialect !== "postgres") return write(store.db); // SQLite: one writer at a time
  return store.db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${"provider_id:" + sid}))`.execute(tx);
    return write(tx);
  });
}
