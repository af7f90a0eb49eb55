// The default SMS "provider": records each message in the database and sends nothing. The operator
// sees what would have gone out at GET /dev/outbox. It is idempotent by ref (our delivery id): a
// retry after a crash finds the first record instead of adding a second.
import { setTimeout as sleep } from "node:timers/promises";
import type { Db } from "../store/open-store.ts";
import { newId } from "../domain/ids.ts";
import { SendError, type SmsMessage, type SmsProvider, type SmsSent } from "./sms.ts";

export interface OutboxSms extends SmsProvider {
  readonly name: "outbox";
  list(limit?: number): Promise<{ id: string; ref: string; to: string; body: string; createdAt: string }[]>;
}

export function createOutboxSms(opts: { db: Db; now?: () => Date; delayMs?: number }): OutboxSms {
  const now = opts.now ?? (() => new Date());
  return {
    name: "outbox",
    async send(msg: SmsMessage, o?: { signal?: AbortSignal }): Promise<SmsSent> {
      if (opts.delayMs) {
        try {
          await sleep(opts.delayMs, undefined, { signal: o?.signal });
        } catch {
          throw new SendError("transient", "outbox send timed out");
        }
      }
      const id = newId("OB", now());
      await opts.db
        .insertInto("outbox_messages")
        .values({ id, ref: msg.ref, to_number: msg.to, body: msg.body, created_at: now().toISOString() })
        .onConflict((oc) => oc.column("ref").doNothing())
        .execute();
      const row = await opts.db.selectFrom("outbox_messages").select("id").where("ref", "=", msg.ref).executeTakeFirstOrThrow();
      return { providerId: row.id, status: "recorded" };
    },
    async list(limit = 200) {
      const rows = await opts.db.selectFrom("outbox_messages").selectAll().orderBy("created_at", "desc").orderBy("id", "desc").limit(limit).execute();
      return rows.map((r) => ({ id: r.id, ref: r.ref, to: r.to_number, body: r.body, createdAt: r.created_at }));
    },
    async health() {
      return { ok: true, detail: "outbox: messages are recorded, not sent" };
    },
  };
}
