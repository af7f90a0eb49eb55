// Runs an npm script (`npm run relay`, `npm run sim -- ...`, or an `npx` command) as a newcomer would,
// in its own process group so that stop() also stops whatever npm started under it.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(__dirname, "..", "..");

export interface NpmProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to the whole group, SIGKILL after `graceMs` */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runNpm(args: string[], o: { cwd?: string; env?: Record<string, string>; command?: "npm" | "npx" } = {}): NpmProcess {
  const child = spawn(o.command ?? "npm", args, {
    cwd: o.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "warn", npm_config_update_notifier: "false", ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      /* already gone */
    }
  };
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(graceMs = 15_000) {
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      const r = await exited;
      clearTimeout(timer);
      signal("SIGKILL"); // anything left in the group
      return r;
    },
  };
}

/** Waits until stdout matches `re` (or the process exits, or time runs out). */
export async function waitForOutput(p: NpmProcess, re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const m = re.exec(p.stdout());
    if (m) return m;
    if (p.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${re} in the output:\n${p.stdout()}\n${p.stderr()}`);
}
