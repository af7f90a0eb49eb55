// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the tests of the
// relay's web pages. Screenshots go to test/artifacts/ (kept by CI as artifacts, ignored by git).
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS_DIR = resolve(import.meta.dirname, "..", "artifacts");

/** Flags that keep Chromium off the (closed) network and quiet on a headless root machine. */
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export interface Launched {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Launched> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: the page tests need Debian's chromium (apt-get install chromium fonts-ipafont-gothic, as .ci/run does), or CHROMIUM_PATH set to another build.`);
  }
  // playwright gives every launch a new, empty profile of its own
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, headless: true });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
    },
  };
}

/** Where a screenshot named `name` (e.g. "signup-done.png") is written. */
export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}
