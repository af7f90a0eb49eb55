// Server-rendered pages: a tagged template that escapes every interpolation, and one page layout.
// Pages work without JavaScript; they are small enough to read on a phone screen.

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** Markup that is already safe (built by `html` or `raw`). */
export class Html {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

/** Trusted markup: only for literals written in this code base, never for input. */
export const raw = (s: string) => new Html(s);

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(v: Part): string {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join("");
  return escapeHtml(String(v));
}

/** html`<p>${text}</p>`: strings are escaped, Html values and arrays of them are inserted as they are. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

const STYLE = `
:root{color-scheme:light dark;--fg:#111;--bg:#fff;--muted:#666;--accent:#0a7c6e;--err:#b00020;--line:#ddd}
@media (prefers-color-scheme:dark){:root{--fg:#eee;--bg:#111;--muted:#aaa;--accent:#3cc8b4;--err:#ff6b81;--line:#333}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans JP",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:40rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
section{border-top:1px solid var(--line);padding:.5rem 0 1rem}label{display:block;margin:.5rem 0 .25rem}
input,select,button{font:inherit;padding:.5rem .6rem;border:1px solid var(--line);border-radius:.4rem;background:var(--bg);color:var(--fg);max-width:100%}
input[type=checkbox]{width:auto}button,.button{background:var(--accent);color:#fff;border:0;cursor:pointer;display:inline-block;text-decoration:none;padding:.55rem 1rem;border-radius:.4rem}
.muted{color:var(--muted)}.error{color:var(--err)}.ok{color:var(--accent)}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
nav{display:flex;gap:1rem;justify-content:space-between;align-items:center}code{font-size:.9em}
`;

export interface PageOptions {
  lang: "en" | "ja";
  title: string;
  body: Html;
  /** extra head markup (trusted) */
  head?: Html;
}

export function page(o: PageOptions): string {
  return html`<!doctype html>
<html lang="${o.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${o.title}</title>
<style>${raw(STYLE)}</style>
${o.head}
</head>
<body><main>${o.body}</main></body>
</html>`.value;
}
