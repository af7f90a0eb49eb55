// Reads settings/i18n/*.po into a translator, as the page's gettext would.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export function loadPo(lang: string): Map<string, string> {
  const text = readFileSync(join(__dirname, "..", "..", "settings", "i18n", lang + ".po"), "utf-8");
  const out = new Map<string, string>();
  const re = /^msgid "((?:[^"\\]|\\.)*)"\s*\nmsgstr "((?:[^"\\]|\\.)*)"/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) if (m[1] !== "") out.set(JSON.parse('"' + m[1] + '"'), JSON.parse('"' + m[2] + '"'));
  return out;
}

export function translator(lang: string): (id: string) => string {
  const table = loadPo(lang);
  return (id) => (table.has(id) ? table.get(id)! : id);
}
