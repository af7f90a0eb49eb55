// Stopping the relay the way a person or a black-box test does: a signal to the one process they
// started (`npm run relay`, `npm start`, `npx tsx ...`), not to its process group. npm passes SIGTERM
// and SIGINT on to its script's child only, so every process between npm and the relay must be gone
// or pass them on; and a relay whose starter died without passing anything on stops by itself.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runNpm, waitForOutput, type NpmProcess } from "./npm-process";

const dirs: string[] = [];
const started: NpmProcess[] = [];
afterAll(async () => {
  for (const p of started) await p.stop(1000); // whatever a failed test left
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function env(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "wr-signals-"));
  dirs.push(dir);
  return { PORT: "0", DATABASE_URL: "file:" + join(dir, "relay.db"), LOG_LEVEL: "info" };
}

async function start(args: string[], command: "npm" | "npx" = "npm"): Promise<{ p: NpmProcess; url: string }> {
  const p = runNpm(args, { env: env(), command });
  started.push(p);
  const url = (await waitForOutput(p, /^WristRelay relay listening on (http:\/\/\S+)$/m, 40_000))[1];
  expect((await fetch(url + "/healthz")).status).toBe(200);
  return { p, url };
}

/** Whether any process is left in the group the command was started in (it leads its own group). */
function groupAlive(p: NpmProcess): boolean {
  try {
    process.kill(-p.child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the port refuses connections and nothing of the chain npm -> ... -> node is left. */
async function gone(p: NpmProcess, url: string, timeoutMs = 10_000): Promise<{ answers: boolean; left: boolean }> {
  const until = Date.now() + timeoutMs;
  let answers = true;
  let left = true;
  while (Date.now() < until) {
    answers = await fetch(url + "/healthz", { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
    left = groupAlive(p);
    if (!answers && !left) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { answers, left };
}

describe("stopping `npm run relay`", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`when ${signal} is sent to the npm process alone, then the relay stops gracefully, npm exits 0, the port is closed and no process of the chain is left`, async () => {
      const { p, url } = await start(["run", "relay"]);
      p.child.kill(signal);
      expect(await p.exited).toEqual({ code: 0, signal: null });
      expect(await gone(p, url)).toEqual({ answers: false, left: false });
      expect(p.stderr()).toContain(`"signal":"${signal}"`);
      expect(p.stderr()).toMatch(/"msg":"stopped"/);
    }, 60_000);
  }

  it("when the npm process is killed with SIGKILL (nothing is passed on), then the relay notices it was left behind and stops gracefully by itself", async () => {
    const { p, url } = await start(["run", "relay"]);
    p.child.kill("SIGKILL");
    await p.exited;
    expect(await gone(p, url)).toEqual({ answers: false, left: false });
    expect(p.stderr()).toMatch(/"signal":"parent exited".*\n(.*\n)*.*"msg":"stopped"/);
  }, 60_000);

  it("when it starts, then stdout holds exactly one line, the URL it listens on, and the logs go to stderr", async () => {
    const { p, url } = await start(["run", "--silent", "relay"]);
    await new Promise((r) => setTimeout(r, 500)); // anything printed after the line would be here by now
    expect(p.stdout()).toBe(`WristRelay relay listening on ${url}\n`);
    expect(p.stderr()).toMatch(/"msg":"relay ready"/);
    p.child.kill("SIGTERM");
    expect(await p.exited).toEqual({ code: 0, signal: null });
  }, 60_000);
});

describe("stopping `npx tsx backend/src/main.ts`", () => {
  it("when SIGTERM is sent to the npx process alone (its `sh -c` dies and the tsx CLI is left), then the relay stops gracefully and nothing is left", async () => {
    const { p, url } = await start(["tsx", "backend/src/main.ts"], "npx");
    p.child.kill("SIGTERM");
    await p.exited;
    expect(await gone(p, url)).toEqual({ answers: false, left: false });
    expect(p.stderr()).toMatch(/"msg":"stopped"/);
  }, 60_000);
});
