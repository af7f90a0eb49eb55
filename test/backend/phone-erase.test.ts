// Erasure as the wearer is promised it: after DELETE /v1/me nothing in the database names the device or
// its number, while the per-number caps (kept under a keyed hash) still hold for whoever comes next.
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { battery, call, createTestClock, register, startRelay, verifiedWearer, type TestRelay } from "../helpers/relay.ts";

/** every row of every table, as JSON text, so a test can look for a value without knowing the schema */
async function allRows(relay: TestRelay): Promise<{ table: string; row: string }[]> {
  const db = relay.store.db;
  const tables =
    relay.store.dialect === "sqlite"
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(
          db,
        );
  const out: { table: string; row: string }[] = [];
  for (const { name } of tables.rows) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(db);
    for (const row of rows.rows) out.push({ table: name, row: JSON.stringify(row) });
  }
  return out;
}

describe.each(DB_KINDS)("erasing a wearer on %s", (kind) => {
  let db: TestDatabase;
  let relay: TestRelay;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    relay = await startRelay({ databaseUrl: db.url, clock: createTestClock("2026-11-20T17:00:00.000Z"), env: { CODE_SENDS_PER_NUMBER_HOUR: "2" } });
  });
  afterAll(async () => {
    await relay?.stop();
    await db?.drop();
  });

  it("when the wearer is erased, then no row in any table names the device or its number", async () => {
    const number = "+14155550123";
    const digits = "4155550123";
    const { token, deviceId } = await verifiedWearer(relay, number);
    expect((await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 19) })).body.action).toBe("sms");
    expect((await call(relay.url, "POST", "/v1/heartbeat", { token, json: { observedAt: relay.clock.now().toISOString(), level: 19 } })).status).toBe(204);
    const summary = { eventId: "sum-erase-1", date: "2026-11-19", activity: { steps: 1200, distanceMeters: 900, calories: 1800 } };
    expect((await call(relay.url, "POST", "/v1/summaries", { token, json: summary })).status).toBe(202);
    await relay.running.worker.drain();
    // Google calls are counted per wearer per minute (the cloud path is not linked here)
    await relay.store.db.insertInto("counters").values({ name: `gq:2026-11-20T17:00:u:${deviceId}`, count: 2 }).execute();
    const someoneElse = await verifiedWearer(relay, "+14155550124");
    const named = (rows: { table: string; row: string }[]) => rows.filter((r) => r.row.includes(deviceId) || r.row.includes(digits));
    // the scan does see what the wearer left, down to the X posts counted per account
    const before = named(await allRows(relay));
    for (const table of ["devices", "events", "deliveries", "outbox_messages", "summaries", "rate_events", "counters"]) {
      expect(before.some((r) => r.table === table), table).toBe(true);
    }
    expect(before.some((r) => r.row.includes(`x_account:${deviceId}:`))).toBe(true);

    expect((await call(relay.url, "DELETE", "/v1/me", { token })).status).toBe(204);

    const after = await allRows(relay);
    expect(named(after)).toEqual([]);
    // what keeps the per-number caps stays, under a keyed hash of the number, until it expires
    expect(after.some((r) => r.table === "counters" && r.row.includes("sms_number:"))).toBe(true);
    expect(after.some((r) => r.table === "rate_events" && r.row.includes("code:n:"))).toBe(true);
    // the other wearer is untouched
    expect(after.some((r) => r.table === "devices" && r.row.includes(someoneElse.deviceId))).toBe(true);
    expect((await call(relay.url, "GET", "/v1/me", { token: someoneElse.token })).status).toBe(200);
    expect((await call(relay.url, "GET", "/v1/me", { token })).status).toBe(401);
  });

  it("when a wearer erases and registers again, then the per-number code limit still counts the codes already sent", async () => {
    const number = "+14155550125";
    const first = await register(relay.url);
    expect((await call(relay.url, "PUT", "/v1/me/phone", { token: first.token, json: { number } })).status).toBe(202);
    expect((await call(relay.url, "DELETE", "/v1/me", { token: first.token })).status).toBe(204);
    const second = await register(relay.url);
    expect((await call(relay.url, "PUT", "/v1/me/phone", { token: second.token, json: { number } })).status).toBe(202);
    expect((await call(relay.url, "DELETE", "/v1/me", { token: second.token })).status).toBe(204);
    const third = await register(relay.url);
    const r = await call(relay.url, "PUT", "/v1/me/phone", { token: third.token, json: { number } });
    expect(r.status).toBe(429);
    expect(r.body.code).toBe("rate_limited");
  });
});
