// Configuration from the environment: the documented defaults, and every problem reported at once.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../backend/src/config.ts";

describe("config", () => {
  it("when nothing is set in development, then the relay-api.md defaults apply and a secret is generated once into the data folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "wr-cfg-"));
    try {
      const url = `file:${join(dir, "relay.db")}`;
      const c = loadConfig({ DATABASE_URL: url });
      expect(c.port).toBe(8787);
      expect(c.host).toBe("127.0.0.1");
      expect(c.sms.provider).toBe("outbox");
      expect(c.sms.countries).toEqual(["US", "CA", "GB", "JP", "DE", "FR", "AU"]);
      expect(c.logLevel).toBe("info");
      expect(c.sms.dailyBudget).toBe(1000);
      expect(c.sms.perNumberDaily).toBe(3);
      expect(c.secret).toHaveLength(32);
      expect(readFileSync(join(dir, "relay-secret"), "utf8").trim()).toBe(c.secret.toString("base64"));
      expect(loadConfig({ DATABASE_URL: url }).secret.equals(c.secret)).toBe(true);
      expect(loadConfig({ RELAY_SECRET: c.secret.toString("base64") }).databaseUrl).toBe("file:data/relay.db");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("when several variables are wrong, then one error lists every one of them", () => {
    let err: unknown;
    try {
      loadConfig({ PORT: "99999", SMS_COUNTRIES: "USA", NODE_ENV: "production", SMS_PROVIDER: "sns", AWS_ACCESS_KEY_ID: "x" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const name of ["PORT", "SMS_COUNTRIES", "RELAY_SECRET", "AWS_REGION", "AWS_SECRET_ACCESS_KEY"]) expect(msg).toContain(name);
  });

  it("when X is not configured, then posts go to the outbox with the default budgets; X_PROVIDER=x without a client is refused", () => {
    const secret = Buffer.alloc(32, 1).toString("base64");
    const c = loadConfig({ RELAY_SECRET: secret });
    expect(c.x).toEqual({ provider: "outbox", dailyBudget: 500, perAccountDaily: 4, client: undefined });
    const x = loadConfig({ RELAY_SECRET: secret, X_PROVIDER: "x", X_CLIENT_ID: "id", X_CLIENT_SECRET: "secret" });
    expect(x.x.client).toEqual({ clientId: "id", clientSecret: "secret", apiUrl: "https://api.x.com", authorizeUrl: "https://x.com/i/oauth2/authorize" });
    expect(() => loadConfig({ RELAY_SECRET: secret, X_PROVIDER: "x" })).toThrow(/X_CLIENT_ID[\s\S]*X_CLIENT_SECRET/);
  });

  it("when a provider call may outlast half a delivery's claim, then the relay refuses to start and says which two settings disagree", () => {
    const secret = Buffer.alloc(32, 1).toString("base64");
    expect(() => loadConfig({ RELAY_SECRET: secret, DELIVERY_LEASE_MS: "15000" })).toThrow(/SEND_TIMEOUT_MS: must be at most half of DELIVERY_LEASE_MS \(15000 ms\)/);
    expect(loadConfig({ RELAY_SECRET: secret, DELIVERY_LEASE_MS: "20000" }).delivery.leaseMs).toBe(20_000);
  });

  it("when REGISTRATIONS_PER_HOUR is not set, then production allows 20 per address and development 1000; a set value wins in both", () => {
    const secret = Buffer.alloc(32, 1).toString("base64");
    expect(loadConfig({ RELAY_SECRET: secret, NODE_ENV: "production" }).limits.registrationsPerHour).toBe(20);
    expect(loadConfig({ RELAY_SECRET: secret }).limits.registrationsPerHour).toBe(1000);
    expect(loadConfig({ RELAY_SECRET: secret, REGISTRATIONS_PER_HOUR: "3" }).limits.registrationsPerHour).toBe(3);
    expect(() => loadConfig({ RELAY_SECRET: secret, REGISTRATIONS_PER_HOUR: "0" })).toThrow(/REGISTRATIONS_PER_HOUR/);
  });

  it("when PORT is 0, then it is accepted (a free port is picked at listen)", () => {
    expect(loadConfig({ PORT: "0", RELAY_SECRET: Buffer.alloc(32, 1).toString("base64") }).port).toBe(0);
  });
});
