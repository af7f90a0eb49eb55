// Turns the face's Fitbit view (resources/index.view, widget.defs, styles.css) into plain SVG a
// browser draws: <arc> becomes a stroked path, CSS classes are resolved the way the watch applies
// them, `_msgid` texts are translated, and the values the app wrote at run time (text, width,
// sweep angle, fill, display) replace the view's placeholders. Pure: no browser, no files.

export interface ViewNode {
  tag: string;
  attrs: { [name: string]: string };
  children: ViewNode[];
  text: string;
}

/** What the app's code wrote into an element (read back from the document it drew into). */
export interface Written {
  text?: string;
  width?: number;
  sweepAngle?: number;
  fill?: string;
  display?: string;
}

// ---- parsing ----

/** A small XML reader for the view's subset: elements, attributes, text, comments. */
export function parseView(xml: string): ViewNode {
  const src = xml.replace(/<!--[\s\S]*?-->/g, "").replace(/<\?xml[\s\S]*?\?>/g, "");
  const root: ViewNode = { tag: "#root", attrs: {}, children: [], text: "" };
  const stack: ViewNode[] = [root];
  const re = /<\/([\w:-]+)\s*>|<([\w:-]+)((?:\s+[\w:-]+\s*=\s*"[^"]*")*)\s*(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) {
    const top = stack[stack.length - 1];
    if (m[1]) {
      if (top.tag !== m[1]) throw new Error(`view: </${m[1]}> closes <${top.tag}>`);
      stack.pop();
    } else if (m[2]) {
      const attrs: ViewNode["attrs"] = {};
      for (const a of m[3].matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]] = decode(a[2]);
      const node: ViewNode = { tag: m[2], attrs, children: [], text: "" };
      top.children.push(node);
      if (!m[4]) stack.push(node);
    } else if (m[5] && m[5].trim()) {
      top.text += decode(m[5].trim());
    }
  }
  if (stack.length !== 1) throw new Error(`view: <${stack[stack.length - 1].tag}> is never closed`);
  return root;
}

function decode(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => ({ lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" })[e]!);
}

export function walk(node: ViewNode, fn: (n: ViewNode) => void): void {
  fn(node);
  for (const c of node.children) walk(c, fn);
}

/** Every id in a view, in document order. */
export function viewIds(root: ViewNode): string[] {
  const ids: string[] = [];
  walk(root, (n) => {
    if (n.attrs.id) ids.push(n.attrs.id);
  });
  return ids;
}

// ---- CSS ----

export interface Rule {
  selector: string;
  specificity: number;
  order: number;
  decls: { [prop: string]: string };
}

export function parseCss(css: string): Rule[] {
  const rules: Rule[] = [];
  const body = css.replace(/\/\*[\s\S]*?\*\//g, "");
  for (const m of body.matchAll(/([^{}]+)\{([^}]*)\}/g)) {
    const decls: Rule["decls"] = {};
    for (const d of m[2].split(";")) {
      const i = d.indexOf(":");
      if (i > 0) decls[d.slice(0, i).trim()] = d.slice(i + 1).trim();
    }
    for (const sel of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      rules.push({ selector: sel, specificity: specificity(sel), order: rules.length, decls });
    }
  }
  return rules;
}

function specificity(sel: string): number {
  const parts = /^([\w-]*)((?:[.#][\w-]+)*)$/.exec(sel);
  if (!parts) return -1; // descendant and other combinators: the face does not use them
  let n = parts[1] ? 1 : 0;
  for (const p of parts[2].match(/[.#][\w-]+/g) ?? []) n += p[0] === "#" ? 100 : 10;
  return n;
}

function matches(sel: string, node: ViewNode): boolean {
  const parts = /^([\w-]*)((?:[.#][\w-]+)*)$/.exec(sel);
  if (!parts) return false;
  if (parts[1] && parts[1] !== node.tag) return false;
  const classes = (node.attrs.class ?? "").split(/\s+/).filter(Boolean);
  for (const p of parts[2].match(/[.#][\w-]+/g) ?? []) {
    if (p[0] === "#" && node.attrs.id !== p.slice(1)) return false;
    if (p[0] === "." && classes.indexOf(p.slice(1)) < 0) return false;
  }
  return true;
}

const INHERITED = ["fill", "font-family", "font-size", "font-weight", "text-anchor", "letter-spacing", "opacity"];

/** The element's own CSS declarations in cascade order (lowest first), then its inline style attribute. */
function cascade(node: ViewNode, rules: Rule[]): { [prop: string]: string } {
  const out: { [prop: string]: string } = {};
  const hits = rules.filter((r) => r.specificity >= 0 && matches(r.selector, node));
  hits.sort((a, b) => a.specificity - b.specificity || a.order - b.order);
  for (const r of hits) Object.assign(out, r.decls);
  for (const d of (node.attrs.style ?? "").split(";")) {
    const i = d.indexOf(":");
    if (i > 0) out[d.slice(0, i).trim()] = d.slice(i + 1).trim();
  }
  return out;
}

// ---- fonts ----

/** Fitbit's system fonts, drawn with what a desktop has: a sans for Latin, a Japanese gothic for kana and kanji. */
export const FONT_STACK = `"Liberation Sans", Arial, "IPAGothic", "IPAPGothic", "Noto Sans CJK JP", sans-serif`;

function font(family: string | undefined): { family: string; weight: string } {
  const f = (family ?? "System-Regular").replace(/["']/g, "");
  const weight = /Bold/i.test(f) ? "bold" : /Light/i.test(f) ? "300" : /Semi/i.test(f) ? "600" : "normal";
  return { family: FONT_STACK, weight };
}

// ---- SVG output ----

export interface RenderInput {
  view: ViewNode;
  /** <defs>/<symbol> sources: widget.defs and anything it imports that we have */
  defs: ViewNode[];
  css: string;
  /** what the app wrote, by element id */
  written: { [id: string]: Written };
  /** "_msgid" in the view's texts */
  translate: (msgid: string) => string;
  /** resources/ files as data: URLs, for <image href> */
  image?: (href: string) => string | undefined;
  size: { width: number; height: number };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const num = (v: string | number | undefined, d = 0) => {
  const n = typeof v === "number" ? v : parseFloat(String(v ?? ""));
  return n === n ? n : d;
};
const px = (v: string | undefined) => (v === undefined ? undefined : String(num(v)));

/** Everything the watch would draw, as one <svg> of the screen's size. */
export function renderSvg(input: RenderInput): string {
  const rules = parseCss(input.css);
  const symbols = new Map<string, ViewNode>();
  for (const d of input.defs) walk(d, (n) => {
    if ((n.tag === "symbol" || n.tag === "svg" || n.tag === "g") && n.attrs.id) symbols.set(n.attrs.id, n);
  });
  for (const n of [input.view]) walk(n, (x) => {
    if (x.tag === "symbol" && x.attrs.id) symbols.set(x.attrs.id, x);
  });
  const { width, height } = input.size;
  const out: string[] = [];
  const outer = input.view.children.find((c) => c.tag === "svg") ?? input.view;
  const rootStyle = cascade(outer, rules);
  const background = rootStyle["viewport-fill"] ?? outer.attrs["viewport-fill"] ?? "black";
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="${esc(background)}"/>`);
  const inherited: { [prop: string]: string } = { fill: "white", "font-family": "System-Regular", "font-size": "30" };
  for (const c of outer.children) out.push(node(c, inherited));
  out.push("</svg>");
  return out.join("\n");

  function node(n: ViewNode, parent: { [prop: string]: string }): string {
    const w = n.attrs.id ? input.written[n.attrs.id] ?? {} : {};
    const own = cascade(n, rules);
    const style: { [prop: string]: string } = {};
    for (const k of INHERITED) if (parent[k] !== undefined) style[k] = parent[k];
    for (const k of Object.keys(n.attrs)) if (INHERITED.indexOf(k) >= 0) style[k] = n.attrs[k];
    Object.assign(style, own);
    if (w.fill) style.fill = w.fill;
    const display = w.display ?? own.display ?? n.attrs.display ?? "inline";
    const visibility = own.visibility ?? n.attrs.visibility ?? "visible";
    if (display === "none" || visibility === "hidden") return "";
    const geo = (name: string) => n.attrs[name] ?? own[name];
    const fill = style.fill ?? "white";
    const opacity = style.opacity !== undefined ? ` opacity="${esc(style.opacity)}"` : "";
    switch (n.tag) {
      case "svg":
      case "g":
      case "section": {
        const x = num(geo("x"));
        const y = num(geo("y"));
        const inner = n.children.map((c) => node(c, style)).join("\n");
        return `<g${x || y ? ` transform="translate(${x} ${y})"` : ""}${opacity}>${inner}</g>`;
      }
      case "rect": {
        const rw = w.width ?? num(geo("width"));
        return `<rect x="${px(geo("x")) ?? 0}" y="${px(geo("y")) ?? 0}" width="${Math.max(0, rw)}" height="${px(geo("height")) ?? 0}" fill="${esc(fill)}"${opacity}/>`;
      }
      case "circle":
        return `<circle cx="${px(geo("cx")) ?? 0}" cy="${px(geo("cy")) ?? 0}" r="${px(geo("r")) ?? 0}" fill="${esc(fill)}"${opacity}/>`;
      case "line":
        return `<line x1="${px(geo("x1")) ?? 0}" y1="${px(geo("y1")) ?? 0}" x2="${px(geo("x2")) ?? 0}" y2="${px(geo("y2")) ?? 0}" stroke="${esc(fill)}" stroke-width="${num(geo("stroke-width"), 1)}"${opacity}/>`;
      case "arc":
        return arc(n, geo, w, fill, opacity);
      case "text": {
        let text = w.text ?? n.text;
        if (w.text === undefined && text.charAt(0) === "_") text = input.translate(text.slice(1));
        const f = font(style["font-family"]);
        const anchor = style["text-anchor"] ?? "start";
        return `<text x="${px(geo("x")) ?? 0}" y="${px(geo("y")) ?? 0}" fill="${esc(fill)}" font-family='${f.family}' font-weight="${f.weight}" font-size="${num(style["font-size"], 30)}" text-anchor="${esc(anchor)}"${opacity}>${esc(text)}</text>`;
      }
      case "image": {
        const href = n.attrs.href ?? "";
        const data = input.image?.(href);
        if (!data) return "";
        return `<image href="${esc(data)}" x="${px(geo("x")) ?? 0}" y="${px(geo("y")) ?? 0}" width="${num(geo("width"))}" height="${num(geo("height"))}"${opacity}/>`;
      }
      case "use": {
        const ref = (n.attrs.href ?? n.attrs["xlink:href"] ?? "").replace(/^#/, "");
        const sym = symbols.get(ref);
        if (!sym) return "";
        const inner = sym.children.map((c) => node(c, style)).join("\n");
        return `<g transform="translate(${num(geo("x"))} ${num(geo("y"))})"${opacity}>${inner}</g>`;
      }
      default:
        return ""; // defs, link, animate and the like draw nothing themselves
    }
  }

  function arc(n: ViewNode, geo: (k: string) => string | undefined, w: Written, color: string, opacity: string): string {
    const x = num(geo("x"));
    const y = num(geo("y"));
    const aw = num(geo("width"));
    const ah = num(geo("height"));
    const thick = num(geo("arc-width"), 1);
    const start = num(geo("start-angle"));
    const sweep = Math.max(-360, Math.min(360, w.sweepAngle ?? num(geo("sweep-angle"))));
    if (!sweep) return "";
    // Fitbit's arc: inside the box, `arc-width` thick, 0 degrees at 12 o'clock, clockwise
    const rx = (aw - thick) / 2;
    const ry = (ah - thick) / 2;
    const cx = x + aw / 2;
    const cy = y + ah / 2;
    if (Math.abs(sweep) >= 360) {
      return `<ellipse cx="${cx}" cy="${cy}" rx="${rx}" ry="${ry}" fill="none" stroke="${esc(color)}" stroke-width="${thick}"${opacity}/>`;
    }
    const point = (deg: number) => {
      const r = ((deg - 90) * Math.PI) / 180;
      return `${(cx + rx * Math.cos(r)).toFixed(3)} ${(cy + ry * Math.sin(r)).toFixed(3)}`;
    };
    const large = Math.abs(sweep) > 180 ? 1 : 0;
    const dir = sweep > 0 ? 1 : 0;
    return `<path d="M ${point(start)} A ${rx} ${ry} 0 ${large} ${dir} ${point(start + sweep)}" fill="none" stroke="${esc(color)}" stroke-width="${thick}"${opacity}/>`;
  }
}
