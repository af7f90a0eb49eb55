import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePo, PO_DIR } from "i18n";
import { ResultKind } from "../../common/protocol";

const ROOT = join(__dirname, "..", "..");

function files(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...files(p, ext));
    else if (ext.test(f)) out.push(p);
  }
  return out;
}

/** msgids the code and the views ask for, including the families built from a prefix. */
function usedMsgids(): Set<string> {
  const used = new Set<string>();
  for (const f of [...files(join(ROOT, "app"), /\.ts$/), ...files(join(ROOT, "common"), /\.ts$/)]) {
    const src = readFileSync(f, "utf-8");
    for (const m of src.matchAll(/\bt\(\s*"([^"]+)"\s*\)|gettext\(\s*"([^"]+)"\s*\)/g)) used.add(m[1] || m[2]);
    for (const m of src.matchAll(/\bt\([^()]*\?\s*"([^"]+)"\s*:\s*"([^"]+)"\s*\)/g)) {
      used.add(m[1]);
      used.add(m[2]);
    }
  }
  for (const f of files(join(ROOT, "resources"), /\.(view|defs|gui)$/)) {
    for (const m of readFileSync(f, "utf-8").matchAll(/>\s*_([A-Za-z0-9_]+)\s*</g)) used.add(m[1]);
  }
  for (let i = 0; i < 7; i++) used.add("wd" + i);
  for (let i = 1; i <= 12; i++) used.add("mo" + i);
  const kinds: ResultKind[] = ["sms_queued", "sms_sent", "sms_failed", "unverified", "opted_out", "no_phone", "sms_off", "quiet", "capped", "none", "relay_down"];
  for (const k of kinds) used.add("res_" + k);
  return used;
}

const catalogs = readdirSync(PO_DIR)
  .filter((f) => f.endsWith(".po"))
  .map((f) => ({ name: f, table: parsePo(readFileSync(join(PO_DIR, f), "utf-8")) }));

describe("translations of the face", () => {
  it("when the catalogs are listed, then English and Japanese are there", () => {
    expect(catalogs.map((c) => c.name).sort()).toEqual(["en-US.po", "ja-JP.po"]);
  });

  it("when the code and views are scanned, then every msgid they use is in every catalog", () => {
    const used = usedMsgids();
    expect(used.size).toBeGreaterThan(30);
    for (const c of catalogs) {
      const missing = [...used].filter((id) => !c.table.has(id));
      expect(missing, c.name).toEqual([]);
    }
  });

  it("when the catalogs are compared, then they hold the same msgids and no empty text", () => {
    const [a, b] = catalogs;
    expect([...a.table.keys()].sort()).toEqual([...b.table.keys()].sort());
    for (const c of catalogs) for (const [id, s] of c.table) expect(s.trim(), `${c.name} ${id}`).not.toBe("");
  });

  it("when a template has placeholders, then the translation keeps the same ones", () => {
    const [a, b] = catalogs;
    const ph = (s: string) => (s.match(/\{\w+\}/g) || []).sort().join();
    for (const [id, s] of a.table) expect(ph(b.table.get(id) || ""), id).toBe(ph(s));
  });
});
