import { defineConfig } from "vitest/config";
import { readdirSync, existsSync } from "node:fs";
import { join, basename } from "node:path";

// Fitbit host modules ("power", "messaging", "settings", ...) resolve to the fakes in test/fakes/,
// one file per module: test/fakes/device/<name>.ts and test/fakes/companion/<name>.ts.
function fakeAliases(): { find: RegExp; replacement: string }[] {
  const out: { find: RegExp; replacement: string }[] = [];
  for (const side of ["device", "companion"]) {
    const dir = join(__dirname, "test", "fakes", side);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".ts")) continue;
      const name = basename(f, ".ts").replace(/__/g, "/"); // local-storage, user-activity, ...
      if (out.some((a) => a.find.source === `^${name}$`)) continue;
      out.push({ find: new RegExp(`^${name}$`), replacement: join(dir, f) });
    }
  }
  return out;
}

const FULL = process.env.HARDENING === "full";

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias: fakeAliases() },
        test: {
          name: "device",
          include: ["test/{app,common,companion,settings,sim}/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "relay",
          include: ["test/backend/**/*.test.ts", "test/project/**/*.test.ts"],
          pool: "forks",
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      // Faults, abuse and bad input (npm run test:hardening runs the full profile; npm test the short one).
      {
        resolve: { alias: fakeAliases() },
        test: {
          name: "hardening-device",
          include: ["test/hardening/device/**/*.test.ts"],
          testTimeout: FULL ? 900_000 : 60_000,
        },
      },
      {
        test: {
          name: "hardening",
          include: ["test/hardening/relay/**/*.test.ts"],
          pool: "forks",
          testTimeout: FULL ? 1_800_000 : 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
