// What `npm start` prints: the one line black-box tests read, then where to look next (`npm run relay`
// alone prints the one line only). The build half (`npm run build`, fitbit-build, ~20-40 s) is what CI
// runs and checks (.ci/run); here `npm start` runs in a copy of the relay's code whose build script does
// nothing, once with a built .fba beside it and once without.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, runNpm, waitForOutput, type NpmProcess } from "./npm-process";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A checkout holding what `npm run relay` needs, and optionally a built watch app. */
function checkout(withFba: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "wr-start-"));
  dirs.push(dir);
  for (const d of ["backend", "common"]) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  pkg.scripts.build = "true"; // the build is CI's (see above); the start script is the real one
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg, null, 2));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  if (withFba) {
    mkdirSync(join(dir, "build"));
    writeFileSync(join(dir, "build", "app.fba"), "PK\u0003\u0004"); // what fitbit-build leaves: a zip
  }
  return dir;
}

function run(cwd: string, args: string[]): NpmProcess {
  return runNpm(["--silent", ...args], { cwd, env: { PORT: "0", DATABASE_URL: "file:" + join(cwd, "data", "relay.db") } });
}

async function startLines(cwd: string, args = ["start"]): Promise<{ url: string; lines: string[] }> {
  const p = run(cwd, args);
  try {
    const url = (await waitForOutput(p, /^WristRelay relay listening on (http:\/\/\S+)$/m, 40_000))[1];
    if (args[0] === "start") await waitForOutput(p, /npm run relay -- --help/);
    else await new Promise((r) => setTimeout(r, 500)); // lines after the first would be here by now
    return { url, lines: p.stdout().trimEnd().split("\n") };
  } finally {
    await p.stop();
  }
}

describe("npm start", () => {
  it("when it runs, then it builds the watch app with fitbit-build and then starts the relay", () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    // what `npm run relay` runs, with --guide; `exec` leaves no `sh -c` between npm and the relay to die of
    // the SIGTERM npm passes on, and no second npm to outlive a killed first (relay-signals.test.ts)
    expect(scripts.relay).toBe("exec node --import tsx backend/src/main.ts");
    expect(scripts.start).toBe(`npm run build && ${scripts.relay} --guide`);
    expect(scripts.build).toBe("fitbit-build");
    expect(readFileSync(join(ROOT, ".ci", "run"), "utf8")).toMatch(/npm run build\n.*build\/app\.fba/);
  });

  it("when the watch app is built, then the relay's first line says where it listens and the next ones where the .fba is, how to sideload it, where sent messages show and how to run a simulated day", async () => {
    const { url, lines } = await startLines(checkout(true));
    expect(lines[0]).toBe(`WristRelay relay listening on ${url}`);
    const rest = lines.slice(1).join("\n");
    expect(rest).toMatch(/watch app\s+build\/app\.fba\s+\(sideload it: README\.md#sideloading-to-a-real-watch, or `npx fitbit` then `build-and-install`\)/);
    expect(rest).toContain(`${url}/dev/outbox`);
    expect(rest).toContain(`npm run sim -- --relay ${url}`);
    expect(lines.length).toBeLessThanOrEqual(6);
    expect(readFileSync(join(ROOT, "README.md"), "utf8")).toMatch(/^## Sideloading to a real watch$/m);
  }, 60_000);

  it("when there is no .fba yet, then the same lines appear without the watch app's", async () => {
    const { url, lines } = await startLines(checkout(false));
    expect(lines[0]).toBe(`WristRelay relay listening on ${url}`);
    expect(lines.join("\n")).not.toContain("app.fba");
    expect(lines.join("\n")).toContain(`npm run sim -- --relay ${url}`);
  }, 60_000);

  it("when the relay is started alone (`npm run relay`), then it prints only the line with its URL, .fba or not", async () => {
    const { url, lines } = await startLines(checkout(true), ["run", "relay"]);
    expect(lines).toEqual([`WristRelay relay listening on ${url}`]);
  }, 60_000);

  it("when SIGTERM is sent to the `npm start` process alone, then the relay stops, npm exits 0 and nothing it started is left", async () => {
    const p = run(checkout(false), ["start"]);
    try {
      const url = (await waitForOutput(p, /^WristRelay relay listening on (http:\/\/\S+)$/m, 40_000))[1];
      expect((await fetch(url + "/healthz")).status).toBe(200);
      p.child.kill("SIGTERM");
      expect(await p.exited).toEqual({ code: 0, signal: null });
      await expect(fetch(url + "/healthz", { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
      let left = true;
      for (let i = 0; i < 50 && left; i++) {
        try {
          process.kill(-p.child.pid!, 0); // anything left in the group npm leads
          await new Promise((r) => setTimeout(r, 100));
        } catch {
          left = false;
        }
      }
      expect(left).toBe(false);
    } finally {
      await p.stop(1000);
    }
  }, 60_000);
});
