// One set of migrations for SQLite and PostgreSQL, run at start by Kysely's Migrator.
import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from "kysely";

const migrations: Record<string, Migration> = {
  "0001_relay_core": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("devices")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("timezone", "text", (c) => c.notNull())
        .addColumn("language", "text", (c) => c.notNull())
        .addColumn("model", "text")
        .addColumn("app_version", "text")
        .addColumn("preferences", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("last_seen_at", "text")
        .addColumn("last_level", "integer")
        .addColumn("last_observed_at", "text")
        .addColumn("alerted", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("silence_alerted", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("phone_number", "text")
        .addColumn("phone_verified", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex("devices_phone").on("devices").column("phone_number").execute();

      await db.schema
        .createTable("events")
        .addColumn("device_id", "text", (c) => c.notNull())
        .addColumn("event_id", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("observed_at", "text", (c) => c.notNull())
        .addColumn("answer", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("events_pk", ["device_id", "event_id"])
        .execute();

      await db.schema
        .createTable("deliveries")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("device_id", "text")
        .addColumn("channel", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("to_number", "text")
        .addColumn("body", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("next_attempt_at", "text", (c) => c.notNull())
        .addColumn("claimed_until", "text")
        .addColumn("claimed_by", "text")
        .addColumn("provider_id", "text")
        .addColumn("error", "text")
        .addColumn("event_id", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("sent_at", "text")
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("deliveries_due").on("deliveries").columns(["status", "next_attempt_at"]).execute();
      await db.schema.createIndex("deliveries_device").on("deliveries").columns(["device_id", "created_at"]).execute();
      await db.schema.createIndex("deliveries_provider").on("deliveries").column("provider_id").execute();
      await db.schema.createIndex("deliveries_to").on("deliveries").columns(["to_number", "status"]).execute();

      await db.schema
        .createTable("codes")
        .addColumn("device_id", "text", (c) => c.primaryKey())
        .addColumn("number", "text", (c) => c.notNull())
        .addColumn("code_hash", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("optouts")
        .addColumn("number", "text", (c) => c.primaryKey())
        .addColumn("opted_out_at", "text", (c) => c.notNull())
        .execute();

      // Rolling-window rate limits (registrations per address, code sends); keys never hold a raw number.
      await db.schema
        .createTable("rate_events")
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("rate_events_key_at").on("rate_events").columns(["key", "at"]).execute();

      // Daily counters (global SMS budget, per-number caps), incremented atomically with an upsert.
      await db.schema
        .createTable("counters")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("count", "integer", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("outbox_messages")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("ref", "text", (c) => c.notNull().unique())
        .addColumn("to_number", "text", (c) => c.notNull())
        .addColumn("body", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
    },
  },
  "0002_x_posts": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("x_accounts")
        .addColumn("device_id", "text", (c) => c.primaryKey())
        .addColumn("x_user_id", "text", (c) => c.notNull())
        .addColumn("username", "text", (c) => c.notNull())
        .addColumn("access_token", "text", (c) => c.notNull())
        .addColumn("refresh_token", "text")
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("x_link_flows")
        .addColumn("flow_hash", "text", (c) => c.primaryKey())
        .addColumn("device_id", "text", (c) => c.notNull())
        .addColumn("state_hash", "text", (c) => c.unique())
        .addColumn("verifier", "text")
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("used_at", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("summaries")
        .addColumn("device_id", "text", (c) => c.notNull())
        .addColumn("date", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("data", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("due_at", "text", (c) => c.notNull())
        .addColumn("delivery_id", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("summaries_pk", ["device_id", "date", "kind"])
        .execute();
      await db.schema
        .createTable("x_outbox_posts")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("device_id", "text")
        .addColumn("text", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
    },
  },
  // Twilio signs no timestamp: a captured webhook stays valid for ever. Each processed one is kept by
  // its key (MessageSid, and the status for receipts) so that a replay causes nothing.
  "0006_webhook_replays": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("webhook_replays")
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("received_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("webhook_replays_received").on("webhook_replays").column("received_at").execute();
    },
  },
};

// Cloud path (Google Health): one schedule row per wearer and job kind ("poll", "summary"),
// claimed by moving due_at forward as a lease (and FOR UPDATE SKIP LOCKED on PostgreSQL).
migrations["0004_cloud_schedule"] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("cloud_jobs")
      .addColumn("id", "text", (c) => c.primaryKey()) // "<kind>:<device_id>"
      .addColumn("device_id", "text", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("due_at", "text", (c) => c.notNull())
      .addColumn("claimed_by", "text")
      .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("state", "text", (c) => c.notNull().defaultTo("{}"))
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("cloud_jobs_due").on("cloud_jobs").column("due_at").execute();
    await db.schema.createIndex("cloud_jobs_device").on("cloud_jobs").column("device_id").execute();
    // process-wide conditions shared by every relay process (a project-level 429 pause)
    await db.schema
      .createTable("cloud_flags")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("until_at", "text", (c) => c.notNull())
      .execute();
  },
};

// Retention (domain/retention.ts) finds old events and summaries by when they arrived.
migrations["0007_retention_indexes"] = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex("events_created").on("events").column("created_at").execute();
    await db.schema.createIndex("summaries_created").on("summaries").column("created_at").execute();
  },
};

// Google Health links: the encrypted tokens of each wearer's Google account, and link attempts
// (flow id, state and PKCE verifier, all short-lived), as for X.
migrations["0003_google_accounts"] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("google_accounts")
      .addColumn("device_id", "text", (c) => c.primaryKey())
      .addColumn("health_user_id", "text", (c) => c.notNull())
      .addColumn("access_token", "text", (c) => c.notNull())
      .addColumn("refresh_token", "text")
      .addColumn("expires_at", "text", (c) => c.notNull())
      .addColumn("scopes", "text", (c) => c.notNull())
      .addColumn("time_zone", "text")
      .addColumn("distance_unit", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("broken_at", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("google_accounts_health_user").on("google_accounts").column("health_user_id").execute();
    await db.schema
      .createTable("google_link_flows")
      .addColumn("flow_hash", "text", (c) => c.primaryKey())
      .addColumn("device_id", "text", (c) => c.notNull())
      .addColumn("state_hash", "text", (c) => c.unique())
      .addColumn("verifier", "text")
      .addColumn("return_to", "text")
      .addColumn("expires_at", "text", (c) => c.notNull())
      .addColumn("used_at", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
  },
};

class StaticProvider implements MigrationProvider {
  async getMigrations() {
    return migrations;
  }
}

// Whether an earlier attempt of a delivery may have reached the provider without us knowing (its
// process died mid-send, or the call timed out or broke off): only then is the provider asked before
// sending again (domain/sms-recovery.ts); a clear refusal (a 5xx or 4xx answer) needs no lookup.
migrations["0008_delivery_uncertain"] = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("deliveries").addColumn("uncertain", "integer", (c) => c.notNull().defaultTo(0)).execute();
  },
};

// POST /v1/summaries: the first answer to each (device, eventId), returned again for a repeated id.
// Apart from battery "events" so that a summary's id and a battery report's id never meet.
migrations["0009_summary_events"] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("summary_events")
      .addColumn("device_id", "text", (c) => c.notNull())
      .addColumn("event_id", "text", (c) => c.notNull())
      .addColumn("answer", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("summary_events_pk", ["device_id", "event_id"])
      .execute();
    await db.schema.createIndex("summary_events_created").on("summary_events").column("created_at").execute();
  },
};

// X link attempts remember where the result page leads back to, as Google's do (the web sign-up's "/").
migrations["0010_x_link_return_to"] = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("x_link_flows").addColumn("return_to", "text").execute();
  },
};

export async function migrate(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider: new StaticProvider() });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new Error(`migration ${failed?.migrationName ?? "?"} failed: ${(error as Error).message ?? error}`);
  }
}

export { sql };
