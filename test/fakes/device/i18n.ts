// Fake "i18n": gettext over app/i18n/*.po with the device's fallback (locale, then en-US, then the
// msgid). Test API: __setLocale, __missing (msgids asked for but absent), __reset.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const PO_DIR = join(__dirname, "..", "..", "..", "app", "i18n");

/** msgid -> msgstr of one .po file (single-line entries, as ours are). */
export function parsePo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /^msgid "((?:[^"\\]|\\.)*)"\s*\nmsgstr "((?:[^"\\]|\\.)*)"/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) if (m[1] !== "") out.set(JSON.parse('"' + m[1] + '"'), JSON.parse('"' + m[2] + '"'));
  return out;
}

const tables = new Map<string, Map<string, string>>();
for (const f of readdirSync(PO_DIR)) {
  if (f.endsWith(".po")) tables.set(f.replace(/\.po$/, ""), parsePo(readFileSync(join(PO_DIR, f), "utf-8")));
}

let locale = "en-US";
const missing = new Set<string>();

export function gettext(msgid: string): string {
  const own = tables.get(locale);
  if (own && own.has(msgid)) return own.get(msgid)!;
  const en = tables.get("en-US");
  if (en && en.has(msgid)) return en.get(msgid)!;
  missing.add(msgid);
  return msgid;
}

export function __setLocale(tag: string): void {
  locale = tag;
}
export function __missing(): string[] {
  return Array.from(missing);
}
export function __reset(): void {
  locale = "en-US";
  missing.clear();
}
