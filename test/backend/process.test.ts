// The relay as an operator runs it: one line at start, config and data-folder errors at once, SIGTERM and SIGKILL.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { openStore } from "../../backend/src/store/open-store.ts";
import { call } from "../helpers/relay.ts";
import { runRelayProcess, startRelayProcess } from "../helpers/relay-process.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase("sqlite");
});
afterAll(async () => {
  await db?.drop();
});

const secret = randomBytes(32).toString("base64");

async function outbox(url: string): Promise<{ ref: string; to: string; body: string }[]> {
  return (await call(url, "GET", "/dev/outbox.json")).body;
}

async function verified(url: string, number: string): Promise<string> {
  const { token } = (await call(url, "POST", "/v1/devices", { json: { timezone: "UTC" } })).body;
  await call(url, "PUT", "/v1/me/phone", { token, json: { number } });
  const masked = `+1 •••• •• ${number.slice(-2)}`;
  for (let i = 0; i < 100; i++) {
    const m = (await outbox(url)).find((x) => x.to === masked && /\d{6}/.test(x.body));
    if (m) {
      const v = await call(url, "POST", "/v1/me/phone/verify", { token, json: { code: /(\d{6})/.exec(m.body)![1] } });
      if (v.status !== 200) throw new Error("verify " + v.status);
      return token;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no code");
}

describe("the relay process", () => {
  it("when the configuration is bad, then it stops at once with one message listing every problem", async () => {
    const p = runRelayProcess({ PORT: "not-a-port", SMS_PROVIDER: "carrier-pigeon", DATABASE_URL: "mysql://x", NODE_ENV: "production" });
    const { code } = await p.exited;
    expect(code).not.toBe(0);
    const err = p.stderr();
    expect(err).toContain("PORT");
    expect(err).toContain("SMS_PROVIDER");
    expect(err).toContain("DATABASE_URL");
    expect(err.match(/bad configuration/g)).toHaveLength(1);
    expect(p.stdout()).toBe("");
  });

  it("when the SQLite file's folder cannot be created, then it stops at once with a message naming DATABASE_URL and the folder", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "wr-folder-")), "a-file");
    writeFileSync(file, "");
    const cases = [
      { url: "file:/proc/nope/relay.db", folder: "/proc/nope" }, // where mkdir(recursive) would loop forever
      { url: `file:${file}/data/relay.db`, folder: `${file}/data` }, // a file where a folder should be
    ];
    for (const c of cases) {
      const p = runRelayProcess({ PORT: "0", DATABASE_URL: c.url });
      const exited = await Promise.race([p.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
      if (!exited) p.child.kill("SIGKILL");
      expect(exited?.code, c.url).toBe(1);
      expect(p.stderr()).toContain(`DATABASE_URL: cannot create the data folder ${c.folder}`);
      expect(p.stdout()).toBe("");
    }
    rmSync(dirname(file), { recursive: true, force: true });
  }, 40_000);

  it("when production has no RELAY_SECRET or Twilio has no credentials, then both are named", async () => {
    const p = runRelayProcess({ NODE_ENV: "production", SMS_PROVIDER: "twilio", DATABASE_URL: db.url });
    expect((await p.exited).code).not.toBe(0);
    expect(p.stderr()).toContain("RELAY_SECRET");
    expect(p.stderr()).toContain("TWILIO_ACCOUNT_SID");
  });

  it("when started with PORT=0, then it prints one line with its URL, answers /healthz, and exits 0 on SIGTERM", async () => {
    const p = await startRelayProcess({ PORT: "0", DATABASE_URL: db.url, RELAY_SECRET: secret });
    // only the URL line: the pointers for a person are `npm start`'s (--guide, test/project/start.test.ts)
    expect(p.stdout()).toMatch(/^WristRelay relay listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    expect((await call(p.url, "GET", "/healthz")).status).toBe(200);
    p.child.kill("SIGTERM");
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it("when killed with SIGKILL while alerts are in flight and started again, then every accepted alert is sent exactly once", async () => {
    const env = { PORT: "0", DATABASE_URL: db.url, RELAY_SECRET: secret, OUTBOX_DELAY_MS: "300", DELIVERY_LEASE_MS: "1000", SEND_TIMEOUT_MS: "500", DELIVERY_POLL_MS: "100" };
    const first = await startRelayProcess(env);
    const numbers = Array.from({ length: 6 }, (_, i) => `+1415555${String(4400 + i)}`);
    const tokens: string[] = [];
    for (const n of numbers) tokens.push(await verified(first.url, n));
    const now = new Date().toISOString();
    const answers = await Promise.all(
      tokens.map((token, i) =>
        call(first.url, "POST", "/v1/battery", { token, json: { eventId: `kill-${i}`, level: 15, charging: false, observedAt: now, source: "watch" } }),
      ),
    );
    expect(answers.map((a) => a.body.action)).toEqual(tokens.map(() => "sms"));
    const before = (await outbox(first.url)).filter((m) => /battery is at 15%/.test(m.body));
    expect(before.length).toBeLessThan(numbers.length); // some sends are inside the 300 ms provider delay
    first.child.kill("SIGKILL");
    await first.exited;

    const second = await startRelayProcess(env);
    try {
      let alerts: { to: string; ref: string }[] = [];
      for (let i = 0; i < 100; i++) {
        alerts = (await outbox(second.url)).filter((m) => m.to !== undefined && /battery is at 15%/.test((m as { body: string }).body));
        if (alerts.length >= numbers.length) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 1_500)); // a lease period more, in case anything would go twice
      alerts = (await outbox(second.url)).filter((m) => /battery is at 15%/.test(m.body));
      expect(alerts).toHaveLength(numbers.length);
      expect(new Set(alerts.map((a) => a.to)).size).toBe(numbers.length);
      // and the same eventIds again change nothing
      const again = await call(second.url, "POST", "/v1/battery", { token: tokens[0], json: { eventId: "kill-0", level: 15, charging: false, observedAt: now, source: "watch" } });
      expect(again.body).toEqual(answers[0].body);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });

  it("when SIGTERM arrives while a slow provider is sending, then the send completes and is recorded, and the process exits 0", async () => {
    const own = await createTestDatabase("sqlite");
    try {
      const p = await startRelayProcess({ PORT: "0", DATABASE_URL: own.url, RELAY_SECRET: secret, OUTBOX_DELAY_MS: "2000", DELIVERY_POLL_MS: "50" });
      const token = await verified(p.url, "+14155554480");
      const alert = await call(p.url, "POST", "/v1/battery", { token, json: { eventId: "term-1", level: 9, charging: false, observedAt: new Date().toISOString(), source: "watch" } });
      expect(alert.body.action).toBe("sms");
      let status = "";
      for (let i = 0; i < 200 && status !== "sending"; i++) {
        const list = (await call(p.url, "GET", "/v1/deliveries", { token })).body as { kind: string; status: string }[];
        status = list.find((d) => d.kind === "low_battery")?.status ?? "";
        if (status !== "sending") await new Promise((r) => setTimeout(r, 25));
      }
      expect(status).toBe("sending"); // in the provider's 2 s
      const signalled = Date.now();
      p.child.kill("SIGTERM");
      expect(await p.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalled).toBeLessThan(10_000); // SHUTDOWN_TIMEOUT_MS was not needed
      expect(p.stderr()).not.toMatch(/graceful stop took too long/);

      const store = await openStore(own.url);
      try {
        const row = await store.db.selectFrom("deliveries").select(["id", "status", "sent_at", "provider_id"]).where("kind", "=", "low_battery").executeTakeFirstOrThrow();
        expect(row.status).toBe("sent");
        expect(row.sent_at).not.toBeNull();
        const recorded = await store.db.selectFrom("outbox_messages").select(["id", "body"]).where("ref", "=", row.id).execute();
        expect(recorded).toHaveLength(1);
        expect(recorded[0]!.id).toBe(row.provider_id);
        expect(recorded[0]!.body).toMatch(/battery is at 9%/);
      } finally {
        await store.close();
      }
    } finally {
      await own.drop();
    }
  });
});
