// What `npm start` prints: the one line black-box tests read, then where to look next. The build half
// (`npm run build`, fitbit-build, ~20-40 s) is what CI runs and checks (.ci/run); here the relay half
// runs in a copy of the relay's code, once with a built .fba beside it and once without.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, runNpm, waitForOutput } from "./npm-process";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A checkout holding what `npm run relay` needs, and optionally a built watch app. */
function checkout(withFba: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "wr-start-"));
  dirs.push(dir);
  for (const d of ["backend", "common"]) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(dir, "package.json"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  if (withFba) {
    mkdirSync(join(dir, "build"));
    writeFileSync(join(dir, "build", "app.fba"), "PK\u0003\u0004"); // what fitbit-build leaves: a zip
  }
  return dir;
}

async function startLines(cwd: string): Promise<{ url: string; lines: string[] }> {
  const p = runNpm(["run", "--silent", "relay"], { cwd, env: { PORT: "0", DATABASE_URL: "file:" + join(cwd, "data", "relay.db") } });
  try {
    const url = (await waitForOutput(p, /^WristRelay relay listening on (http:\/\/\S+)$/m, 40_000))[1];
    await waitForOutput(p, /npm run relay -- --help/);
    return { url, lines: p.stdout().trimEnd().split("\n") };
  } finally {
    await p.stop();
  }
}

describe("npm start", () => {
  it("when it runs, then it builds the watch app with fitbit-build and then starts the relay", () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toBe("npm run build && npm run relay");
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

  it("when there is no .fba yet (`npm run relay` alone), then the same lines appear without the watch app's", async () => {
    const { url, lines } = await startLines(checkout(false));
    expect(lines[0]).toBe(`WristRelay relay listening on ${url}`);
    expect(lines.join("\n")).not.toContain("app.fba");
    expect(lines.join("\n")).toContain(`npm run sim -- --relay ${url}`);
  }, 60_000);
});
