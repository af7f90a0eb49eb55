// Runs the relay as a child process with a given environment: `node --import tsx backend/src/main.ts`,
// what `npx tsx backend/src/main.ts` does, but in ONE process: the tsx CLI forks a second node, so a
// SIGKILL sent to it would leave the real relay running as an orphan.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

export interface RelayProcess {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runRelayProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "backend/src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Starts the relay and waits for its one "listening on" line. */
export async function startRelayProcess(env: Record<string, string>, timeoutMs = 20_000): Promise<RelayProcess> {
  const p = runRelayProcess(env);
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const m = /listening on (http:\/\/\S+)/.exec(p.stdout());
    if (m) return { ...p, url: m[1] };
    if (p.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  p.child.kill("SIGKILL");
  throw new Error(`relay did not start:\n${p.stdout()}\n${p.stderr()}`);
}

/** Sends a signal (default SIGKILL: no chance to finish anything) and waits for the process to be gone. */
export async function killRelayProcess(p: RelayProcess, signal: NodeJS.Signals = "SIGKILL") {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.exited;
}
