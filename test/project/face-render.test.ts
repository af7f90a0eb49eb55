// The README's pictures of the face: drawn from the real resources by `npm run render:face`.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseView, renderSvg, viewIds } from "../../scripts/face-view";
import { ROOT, runNpm } from "./npm-process";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const pngSize = (buf: Buffer) => ({ width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) });
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");

describe("pictures of the face", () => {
  it("when `npm run render:face -- --out DIR` runs, then DIR holds a 336x336 PNG per target (atlas, vulcan) and language (en, ja), and the languages differ", async () => {
    const out = mkdtempSync(join(tmpdir(), "wr-faces-"));
    dirs.push(out);
    const p = runNpm(["run", "--silent", "render:face", "--", "--out", out]);
    const { code } = await p.exited;
    expect(code, p.stderr()).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toEqual(["face-atlas-en.png", "face-atlas-ja.png", "face-vulcan-en.png", "face-vulcan-ja.png"]);
    const pngs = files.map((f) => readFileSync(join(out, f)));
    for (const png of pngs) {
      expect(png.subarray(1, 4).toString()).toBe("PNG");
      expect(pngSize(png)).toEqual({ width: 336, height: 336 });
      expect(png.length).toBeGreaterThan(8_000); // a drawn face, not a black square
      expect(png.length).toBeLessThan(120_000); // small enough to keep in the repository
    }
    expect(pngs[0].equals(pngs[1])).toBe(false);
  }, 90_000);

  it("when the README shows the face, then the pictures it links exist in docs/ at the screen's size", () => {
    const linked = [...read("README.md").matchAll(/(?:\(|src=")docs\/(face-[\w-]+\.png)[)"]/g)].map((m) => m[1]);
    expect(linked.length).toBeGreaterThanOrEqual(2);
    for (const f of linked) expect(pngSize(readFileSync(join(ROOT, "docs", f)))).toEqual({ width: 336, height: 336 });
  });

  it("when the app's ui.ts looks up elements, then every id it names exists in resources/index.view", () => {
    const ids = new Set(viewIds(parseView(read("resources/index.view"))));
    const used = [...read("app/ui.ts").matchAll(/\b(?:el|text|width|shown)\("([\w-]+)"\)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThanOrEqual(15);
    expect(used.filter((id) => !ids.has(id))).toEqual([]);
  });

  it("when the app shows the charging line, then the view's `_charging` text is drawn translated, and hidden elements are not drawn", () => {
    const view = parseView(read("resources/index.view"));
    const base = { view, defs: [], css: read("resources/styles.css"), size: { width: 336, height: 336 } };
    const ja = (id: string) => ({ charging: "充電中", no_phone: "スマホ未接続" })[id] ?? id;
    const hidden = renderSvg({ ...base, written: {}, translate: ja });
    expect(hidden).not.toContain("充電中");
    expect(hidden).toContain("スマホ未接続"); // link-text's `_no_phone` before the app writes it
    const shown = renderSvg({ ...base, written: { "bat-state": { display: "inline" }, "bat-bar": { width: 26, fill: "#3fa9f5" } }, translate: ja });
    expect(shown).toMatch(/<text [^>]*>充電中<\/text>/);
    expect(shown).toMatch(/<rect x="120" y="32" width="26" height="14" fill="#3fa9f5"\/>/);
  });

  it("when the steps arc sweeps 90 degrees, then it is drawn from 12 o'clock to 3 o'clock on the ring's middle line", () => {
    const view = parseView(read("resources/index.view"));
    const svg = renderSvg({ view, defs: [], css: read("resources/styles.css"), size: { width: 336, height: 336 }, written: { "steps-arc": { sweepAngle: 90 } }, translate: (s) => s });
    // box 4..332, 6 wide: centre 168, radius 161
    expect(svg).toContain('<path d="M 168.000 7.000 A 161 161 0 0 1 329.000 168.000" fill="none" stroke="#00c878" stroke-width="6"/>');
  });

  it("when a view uses a symbol from widget.defs and an image, then the symbol's elements are drawn where the <use> puts them, with the image inlined", () => {
    const view = parseView('<svg><use id="b" href="#badge" x="10" y="20"><set href="#label" attribute="text-buffer" to="x"/></use><image href="icon.png" x="1" y="2" width="3" height="4"/></svg>');
    const defs = [parseView('<svg><defs><symbol id="badge"><rect class="dot" x="0" y="0" width="5" height="5"/></symbol></defs></svg>')];
    const svg = renderSvg({ view, defs, css: ".dot { fill: #ff0000; }", size: { width: 336, height: 336 }, written: {}, translate: (x) => x, image: (href) => (href === "icon.png" ? "data:image/png;base64,AAAA" : undefined) });
    expect(svg).toContain('<g transform="translate(10 20)"><rect x="0" y="0" width="5" height="5" fill="#ff0000"/></g>');
    expect(svg).toContain('<image href="data:image/png;base64,AAAA" x="1" y="2" width="3" height="4"/>');
  });
});
