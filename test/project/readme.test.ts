// Every command the README shows is run: here (against a relay started for the purpose, in one shell
// session, in the README's order, so that TOKEN=... carries over), or by the test named beside it in
// ELSEWHERE, or it is one of the few that need an account, a watch, root or a Docker daemon (MANUAL).
// A new command in the README that is in none of these lists fails this test.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRelayProcess, type RelayProcess } from "../helpers/relay-process.ts";
import { ROOT } from "./npm-process";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const DEFAULT_URL = "http://127.0.0.1:8787";

/** Run here: cheap, and checked by their exit status (curl -f fails on any HTTP error). */
const RUN_HERE: RegExp[] = [/^npm run relay -- --help$/, /^curl -fsS /, /^TOKEN=\$\(curl -fsS .*\)$/];

/** Run by another test, named with the reason. */
const ELSEWHERE: { re: RegExp; by: string }[] = [
  { re: /^npm ci$/, by: ".ci/run (the first thing CI does on a fresh clone)" },
  { re: /^npm test$/, by: ".ci/run" },
  { re: /^npm start$/, by: "test/project/start.test.ts (the relay half and its lines) and .ci/run (`npm run build`, then checks build/app.fba)" },
  { re: /^npm run sim -- --relay http:\/\/127\.0\.0\.1:8787$/, by: "test/sim/sim-relay.test.ts (runs the command the relay prints against a started relay)" },
  { re: /^npm run sim$/, by: "test/sim/sim.test.ts (runSim, what the command wraps) and test/sim/sim-relay.test.ts (the command itself)" },
  { re: /^npm run sim -- --loss 0\.3 --kills 5 --out-of-range 14:00-17:00 --seed 7 --json$/, by: "test/sim/sim.test.ts (the same loss, kills and out-of-range runs through runSim)" },
  { re: /^npm run render:face$/, by: "test/project/face-render.test.ts (the same script with --out into a temporary folder)" },
  { re: /^npm run bench:(watch|relay|summaries|link|cloud|scale|retention)( .*)?$/, by: "benchmarks: run on purpose, not by the test suite (their figures depend on the machine)" },
  { re: /^npm run test:hardening$/, by: "npm test runs the same files (test/hardening/) in their short profile; this runs the full one" },
];

/** Need a Fitbit account and a watch, root, or a Docker daemon; what can be checked is checked where named. */
const MANUAL: { re: RegExp; why: string }[] = [
  { re: /^sudo apt-get install libsecret-1-dev$/, why: "root; only for the optional Fitbit CLI" },
  { re: /^npm install @fitbit\/sdk-cli$/, why: "the developer bridge: a Fitbit account and a network" },
  { re: /^npx fitbit$/, why: "interactive log-in to a Fitbit account" },
  { re: /^fitbit\$ build-and-install$/, why: "a watch on the developer bridge" },
  { re: /^docker (build|run) /, why: "a Docker daemon and the network; test/project/deploy.test.ts checks the Dockerfile and runs its CMD and HEALTHCHECK" },
];

interface Command {
  line: string;
  block: number;
}

/** The fenced blocks, in order, with the language their opening fence names ("" when none). */
function fences(text: string): { lang: string; body: string }[] {
  const out: { lang: string; body: string }[] = [];
  let open: { lang: string; lines: string[] } | null = null;
  for (const line of text.split("\n")) {
    const fence = /^```\s*([\w-]*)\s*$/.exec(line);
    if (fence && !open) open = { lang: fence[1], lines: [] };
    else if (fence && open) {
      out.push({ lang: open.lang, body: open.lines.join("\n") });
      open = null;
    } else if (open) open.lines.push(line);
  }
  if (open) throw new Error("README: a fenced block is never closed");
  return out;
}
const SHELL = ["sh", "bash", "shell"];

/** The commands of the fenced sh/bash/shell blocks: comments dropped, `a && b` split, `\` continuations joined. */
function readmeCommands(text: string): Command[] {
  const out: Command[] = [];
  let block = 0;
  for (const f of fences(text)) {
    if (SHELL.indexOf(f.lang) < 0) continue;
    block++;
    for (const raw of f.body.replace(/\\\n\s*/g, " ").split("\n")) {
      const line = raw.replace(/\s+#\s.*$/, "").trim();
      if (!line || line.startsWith("#")) continue;
      for (const part of line.split(/\s+&&\s+/)) out.push({ line: part.trim(), block });
    }
  }
  return out;
}

const classify = (c: string) =>
  RUN_HERE.some((re) => re.test(c)) ? "run" : ELSEWHERE.some((e) => e.re.test(c)) ? "elsewhere" : MANUAL.some((e) => e.re.test(c)) ? "manual" : "unknown";

let relay: RelayProcess | null = null;
let dir = "";
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "wr-readme-"));
  relay = await startRelayProcess({ PORT: "0", DATABASE_URL: "file:" + join(dir, "relay.db") }, 40_000);
}, 60_000);
afterAll(async () => {
  if (relay) {
    relay.child.kill("SIGTERM");
    await relay.exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("README commands", () => {
  const commands = readmeCommands(README);

  it("when the README is read, then it has shell blocks, and every command in them is run here, run by a named test, or listed as needing an account, a watch, root or Docker", () => {
    expect(commands.length).toBeGreaterThanOrEqual(15);
    expect(commands.filter((c) => classify(c.line) === "unknown").map((c) => c.line)).toEqual([]);
    // and a command the lists do not know is caught, however close to a known one
    expect(readmeCommands("```sh\nnpm run relay -- --help --verbose\nnpm run seed && npm test\n```\n").map((c) => classify(c.line))).toEqual(["unknown", "unknown", "elsewhere"]);
  });

  it("when a block is not marked sh, then it holds no command a reader would copy (those would escape this test)", () => {
    const others = fences(README).filter((f) => SHELL.indexOf(f.lang) < 0);
    expect(others.length).toBeGreaterThanOrEqual(3); // the start lines, the Japanese post, the diagram, the layout
    const looksRun = others.flatMap((f) => f.body.split("\n")).filter((l) => /^\s*(\$ |npm |npx |curl |docker |sudo |systemctl )/.test(l));
    expect(looksRun).toEqual([]);
  });

  it("when the commands to run here are run in one shell, in order, against a started relay, then each succeeds", () => {
    const here = commands.filter((c) => classify(c.line) === "run").map((c) => c.line.split(DEFAULT_URL).join(relay!.url));
    expect(here.length).toBeGreaterThanOrEqual(6);
    expect(here).toContain("npm run relay -- --help");
    const script = ["set -euo pipefail", ...here.map((c) => `echo "+ ${c.replace(/["$`\\]/g, "\\$&")}" >&2\n${c}`)].join("\n");
    const r = spawnSync("bash", ["-c", script], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", npm_config_update_notifier: "false" },
    });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toContain("WristRelay relay"); // --help's first line
    expect(r.stdout).toMatch(/"deviceId"/); // GET /v1/me of the device registered with TOKEN=...
  }, 90_000);

  it("when a command is allowed because another test runs it, then that test exists and runs it", () => {
    const files: { [f: string]: RegExp } = {
      "test/sim/sim-relay.test.ts": /simulated day\\s\+\(npm run sim -- --relay/,
      "test/project/face-render.test.ts": /"render:face", "--", "--out"/,
      "test/project/start.test.ts": /"relay"/,
      ".ci/run": /^npm ci\nnpm test\nnpm run build$/m,
    };
    for (const [f, re] of Object.entries(files)) expect(readFileSync(join(ROOT, f), "utf8"), f).toMatch(re);
  });
});
