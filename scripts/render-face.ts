// npm run render:face [-- --out DIR]
// Pictures of the clock face for the README, drawn from the real resources: the app's own view code
// (app/face.ts builds the values, app/ui.ts writes them into the elements of resources/index.view,
// through the same fake "document" the tests use), translated from app/i18n/*.po, then turned into
// SVG (scripts/face-view.ts) and photographed by headless Chromium. One PNG per target and language:
// DIR/face-<target>-<lang>.png, 336x336 like the screens of Versa 3 (atlas) and Sense (vulcan).
import "../sim/host-modules"; // must come first: "document" and "i18n" resolve to the device fakes

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import faceDocument from "document";
import { __setLocale } from "i18n";
import { buildFaceView, type FaceInputs } from "../app/face";
import { t } from "../app/text";
import { createUi } from "../app/ui";
import type { WatchSettings } from "../common/protocol";
import { launchChromium } from "../test/helpers/browser";
import { parseView, renderSvg, viewIds, type ViewNode, type Written } from "./face-view";

const ROOT = resolve(__dirname, "..");
const RESOURCES = join(ROOT, "resources");

/** The screens: both 336x336 with rounded corners (the pictures are clipped the same way). */
export const TARGETS = { atlas: { name: "Versa 3", width: 336, height: 336, corner: 68 }, vulcan: { name: "Sense", width: 336, height: 336, corner: 68 } };
export const LANGS = { "en-US": "en", "ja-JP": "ja" } as const;
type Lang = keyof typeof LANGS;

/** A morning a little before ten past ten: what the face shows, as the watch would compute it. */
export function sampleInputs(lang: Lang): FaceInputs {
  const settings: WatchSettings = { thr: [20, 10], u: "km", lang, h24: lang === "ja-JP" };
  return {
    now: new Date(2026, 10, 21, 10, 9), // local time: Sat 21 Nov 2026, 10:09
    settings,
    lvl: 64,
    chg: false,
    left: 38 * 60 + 20, // 1 day 14 h
    activity: {
      steps: 7412,
      distance: 5320,
      calories: 1843,
      floors: 6,
      azm: 14,
      goals: { steps: 10000, distance: 8050, calories: 2600, floors: 10, azm: 22 },
    },
    linkOpen: true,
    result: { k: "sms_sent", at: Math.floor(new Date(2026, 10, 20, 21, 3).getTime() / 1000) },
  };
}

interface FakeEl {
  text: string;
  width: number;
  sweepAngle: number;
  style: { fill: string; display: string };
}

/** Draws the sample into the fake document with the app's own ui.ts; returns what each element holds and the ids the app looked up. */
function drawWithApp(lang: Lang, ids: string[]): { written: { [id: string]: Written }; used: string[] } {
  __setLocale(lang);
  const doc = faceDocument as unknown as { getElementById(id: string): FakeEl | null };
  const used: string[] = [];
  const original = doc.getElementById;
  doc.getElementById = (id: string) => {
    used.push(id);
    return original.call(doc, id);
  };
  try {
    const ui = createUi();
    ui.draw(buildFaceView(sampleInputs(lang), t));
  } finally {
    doc.getElementById = original;
  }
  const written: { [id: string]: Written } = {};
  for (const id of ids) {
    const e = original.call(doc, id);
    if (!e) continue;
    written[id] = { text: e.text, width: e.width, sweepAngle: e.sweepAngle, fill: e.style.fill || undefined, display: e.style.display };
  }
  return { written, used };
}

function imageAsDataUrl(href: string): string | undefined {
  const file = join(RESOURCES, href.replace(/^\/+/, ""));
  if (!file.startsWith(RESOURCES) || !existsSync(file)) return undefined;
  const type = extname(file) === ".png" ? "image/png" : extname(file) === ".jpg" ? "image/jpeg" : "application/octet-stream";
  return `data:${type};base64,${readFileSync(file).toString("base64")}`;
}

/** The resources a target builds with: resources/<target>/ overrides resources/ file by file, as the SDK does. */
function resource(target: string, name: string): string {
  const own = join(RESOURCES, target, name);
  return readFileSync(existsSync(own) ? own : join(RESOURCES, name), "utf8");
}

function hasJapaneseFont(): boolean {
  try {
    return execFileSync("fc-list", [":lang=ja", "family"], { encoding: "utf8" }).trim().length > 0;
  } catch {
    return true; // no fontconfig to ask (macOS, Windows): their system fonts cover Japanese
  }
}

export async function renderFaces(outDir: string): Promise<{ file: string; width: number; height: number; bytes: number }[]> {
  mkdirSync(outDir, { recursive: true });
  const browser = await launchChromium();
  const made: { file: string; width: number; height: number; bytes: number }[] = [];
  try {
    for (const [target, screen] of Object.entries(TARGETS)) {
      const view = parseView(resource(target, "index.view"));
      const defs: ViewNode[] = [parseView(resource(target, "widget.defs"))];
      const css = resource(target, "styles.css");
      const ids = viewIds(view);
      for (const lang of Object.keys(LANGS) as Lang[]) {
        const { written, used } = drawWithApp(lang, ids);
        const missing = used.filter((id) => ids.indexOf(id) < 0);
        if (missing.length) throw new Error(`app/ui.ts sets elements that ${target}'s index.view lacks: ${missing.join(", ")}`);
        const svg = renderSvg({ view, defs, css, written, translate: t, image: imageAsDataUrl, size: screen });
        const page = await browser.browser.newPage({ viewport: { width: screen.width, height: screen.height }, deviceScaleFactor: 1 });
        await page.setContent(
          `<!doctype html><html lang="${lang}"><meta charset="utf-8"><style>html,body{margin:0;background:transparent}` +
            `.screen{width:${screen.width}px;height:${screen.height}px;border-radius:${screen.corner}px;overflow:hidden}</style>` +
            `<div class="screen">${svg}</div></html>`,
        );
        await page.evaluate("document.fonts.ready.then(() => true)");
        const file = join(outDir, `face-${target}-${LANGS[lang]}.png`);
        const png = await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: screen.width, height: screen.height } });
        await page.close();
        writeFileSync(file, png);
        made.push({ file, width: png.readUInt32BE(16), height: png.readUInt32BE(20), bytes: png.length });
      }
    }
  } finally {
    await browser.close();
  }
  return made;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf("--out");
  const outDir = resolve(i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : join(ROOT, "docs"));
  if (!hasJapaneseFont()) process.stderr.write("warning: no Japanese font installed (Debian/Ubuntu: apt-get install fonts-ipafont-gothic): the ja pictures will show boxes\n");
  for (const m of await renderFaces(outDir)) console.log(`${m.file}  ${m.width}x${m.height}  ${m.bytes} bytes`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
