// Every setting the relay reads is described once (backend/src/config.ts, beside the schema) and
// shows up, with its default, in `npm run relay -- --help` and in the README's configuration table.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeSettings, loadConfig } from "../../backend/src/config.ts";
import { ROOT, runNpm } from "./npm-process";

const settings = describeSettings();
const configSource = readFileSync(join(ROOT, "backend", "src", "config.ts"), "utf8");
/** The keys of `const EnvSchema = z.object({ ... })`, read from the source, independently of describeSettings(). */
const schemaKeys = (() => {
  const body = configSource.slice(configSource.indexOf("const EnvSchema = z.object({"), configSource.indexOf("\n});", configSource.indexOf("const EnvSchema")));
  return [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]);
})();

describe("settings", () => {
  it("when the schema lists a variable, then describeSettings() gives it a group, a meaning and its default", () => {
    expect(schemaKeys.length).toBeGreaterThan(40);
    expect(settings.map((s) => s.name).sort()).toEqual([...schemaKeys].sort());
    for (const s of settings) {
      expect(s.meaning.length, s.name).toBeGreaterThan(10);
      expect(s.group, s.name).not.toBe("");
    }
  });

  it("when a default is shown, then it is the one the relay applies", () => {
    const c = loadConfig({ RELAY_SECRET: Buffer.alloc(32, 1).toString("base64") });
    const shown = (name: string) => settings.find((s) => s.name === name)!.default;
    expect(Number(shown("PORT"))).toBe(c.port);
    expect(shown("HOST")).toBe(c.host);
    expect(shown("DATABASE_URL")).toBe(c.databaseUrl);
    expect(shown("SMS_COUNTRIES")).toBe(c.sms.countries.join(","));
    expect(shown("TRUST_PROXY")).toBe(String(c.trustProxy));
    expect(Number(shown("RETENTION_DAYS"))).toBe(c.retentionDays);
    expect(Number(shown("SHUTDOWN_TIMEOUT_MS"))).toBe(c.shutdownTimeoutMs);
    expect(Number(shown("DELIVERY_POLL_MS"))).toBe(c.delivery.pollMs);
    expect(shown("X_API_URL")).toBe("https://api.x.com");
    expect(shown("ADMIN_TOKEN")).toBe("");
  });

  it("when `npm run relay -- --help` runs, then it lists every variable with its default and meaning and exits 0 without starting", async () => {
    const p = runNpm(["run", "--silent", "relay", "--", "--help"], { env: { PORT: "not-a-port" } }); // a start would stop on this: --help must not read the configuration
    const { code } = await p.exited;
    expect(code, p.stderr()).toBe(0);
    const out = p.stdout();
    expect(out).not.toContain("listening on");
    for (const s of settings) {
      const at = out.indexOf(`  ${s.name} `);
      expect(at, s.name).toBeGreaterThan(0);
      const entry = out.slice(at, out.indexOf("\n", out.indexOf("default:", at)));
      expect(entry, s.name).toContain(s.meaning.replace(/`/g, ""));
      expect(entry, s.name).toContain(`default: ${s.default === "" ? "(unset)" : s.default}`);
    }
  }, 30_000);

  it("when the README's configuration table is read, then it has one row per variable with the same default", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const rows = new Map<string, string>();
    for (const m of readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \| ([^|]+) \|$/gm)) rows.set(m[1], m[2].trim().replace(/^`|`$/g, ""));
    expect(settings.filter((s) => !rows.has(s.name)).map((s) => s.name)).toEqual([]);
    expect([...rows.keys()].filter((k) => !schemaKeys.includes(k))).toEqual([]);
    for (const s of settings) expect(rows.get(s.name), s.name).toBe(s.default);
  });
});
