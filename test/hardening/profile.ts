// The hardening suite's two profiles: `npm test` runs the short one on every change; `npm run
// test:hardening` (HARDENING=full) runs the full one that the published figures come from.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const FULL = process.env.HARDENING === "full";

/** `short` in the everyday run, `full` in npm run test:hardening. */
export function scale<T>(short: T, full: T): T {
  return FULL ? full : short;
}

export const FIGURES_DIR = resolve(import.meta.dirname, "..", "artifacts", "hardening");

/** Records a figures table (printed, and kept as JSON in test/artifacts/hardening/<name>.json). */
export function reportFigures(name: string, figures: Record<string, number | string | boolean>): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  const profile = FULL ? "full" : "short";
  writeFileSync(join(FIGURES_DIR, `${name}.json`), JSON.stringify({ name, profile, ...figures }, null, 2) + "\n");
  const rows = Object.entries(figures).map(([k, v]) => `  ${k.padEnd(40)} ${v}`);
  process.stdout.write(`\n[hardening:${profile}] ${name}\n${rows.join("\n")}\n`);
}
