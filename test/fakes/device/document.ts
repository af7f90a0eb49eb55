// Fake "document": the elements with an id in resources/index.view, so a missing id fails the way
// it would on the watch (getElementById returns null). Every property write is counted.
// Test API: __el(id), __writeCount(), __reset().
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface FakeElement {
  id: string;
  type: string;
  text: string;
  width: number;
  sweepAngle: number;
  class: string;
  style: { fill: string; display: string; visibility: string };
}

const VIEW = join(__dirname, "..", "..", "..", "resources", "index.view");
let elements = new Map<string, FakeElement>();
let writes = 0;

function makeElement(type: string, id: string, attrs: string, body: string): FakeElement {
  const attr = (name: string): string | undefined => {
    const m = new RegExp("\\s" + name + '="([^"]*)"').exec(attrs);
    return m ? m[1] : undefined;
  };
  const values: { [k: string]: any } = {
    text: body,
    width: Number(attr("width") || 0),
    sweepAngle: Number(attr("sweep-angle") || 0),
    class: attr("class") || "",
  };
  const style: { [k: string]: string } = { fill: "", display: attr("display") || "inline", visibility: "visible" };
  const el: any = { id, type };
  for (const k of Object.keys(values)) {
    Object.defineProperty(el, k, {
      enumerable: true,
      get: () => values[k],
      set: (v) => {
        writes++;
        values[k] = v;
      },
    });
  }
  el.style = {};
  for (const k of Object.keys(style)) {
    Object.defineProperty(el.style, k, {
      enumerable: true,
      get: () => style[k],
      set: (v) => {
        writes++;
        style[k] = v;
      },
    });
  }
  return el as FakeElement;
}

function parse(): Map<string, FakeElement> {
  const xml = readFileSync(VIEW, "utf-8").replace(/<!--[\s\S]*?-->/g, "");
  const out = new Map<string, FakeElement>();
  const re = /<([a-z]+)(\s[^>]*?)(\/>|>([^<]*)<\/\1>|>)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) {
    const id = /\sid="([^"]+)"/.exec(m[2]);
    if (!id) continue;
    if (out.has(id[1])) throw new Error("duplicate id in index.view: " + id[1]);
    out.set(id[1], makeElement(m[1], id[1], m[2], (m[4] || "").trim()));
  }
  return out;
}

elements = parse();

const document = {
  getElementById(id: string): FakeElement | null {
    return elements.get(id) || null;
  },
};
export default document;

export function __el(id: string): FakeElement {
  const e = elements.get(id);
  if (!e) throw new Error("no element #" + id + " in index.view");
  return e;
}
export function __ids(): string[] {
  return Array.from(elements.keys());
}
export function __writeCount(): number {
  return writes;
}
export function __reset(): void {
  elements = parse();
  writes = 0;
}
