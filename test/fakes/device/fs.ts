// Fake "fs": an in-memory private folder that survives app restarts (only __reset wipes it).
// "cbor" and "json" files hold a deep copy, as a real write/read round trip would.
// Test API: __reset, __files, __raw, __corrupt, __writeCount.
type Stored = { kind: "data"; json: string } | { kind: "text"; text: string } | { kind: "bin"; bytes: Uint8Array } | { kind: "bad" };

const files = new Map<string, Stored>();
let writes = 0;

function enoent(name: string): Error {
  const e = new Error("ENOENT: no such file " + name) as Error & { code?: string };
  e.code = "ENOENT";
  return e;
}

export function existsSync(name: string): boolean {
  return files.has(name);
}

export function writeFileSync(name: string, data: unknown, encoding?: "ascii" | "utf-8" | "cbor" | "json"): void {
  writes++;
  if (encoding === "cbor" || encoding === "json") {
    const json = JSON.stringify(data === undefined ? null : data);
    files.set(name, { kind: "data", json });
  } else if (encoding === "ascii" || encoding === "utf-8") {
    files.set(name, { kind: "text", text: String(data) });
  } else if (data instanceof ArrayBuffer) {
    files.set(name, { kind: "bin", bytes: new Uint8Array(data.slice(0)) });
  } else if (ArrayBuffer.isView(data)) {
    files.set(name, { kind: "bin", bytes: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
  } else {
    throw new TypeError("writeFileSync: data must be an ArrayBuffer or a view without an encoding");
  }
}

export function readFileSync(name: string, encoding?: "ascii" | "utf-8" | "cbor" | "json"): any {
  const f = files.get(name);
  if (!f) throw enoent(name);
  if (f.kind === "bad") throw new Error("Invalid file contents: " + name);
  if (encoding === "cbor" || encoding === "json") {
    if (f.kind !== "data") throw new Error("Not a " + encoding + " file: " + name);
    return JSON.parse(f.json);
  }
  if (encoding === "ascii" || encoding === "utf-8") {
    if (f.kind === "text") return f.text;
    if (f.kind === "data") return f.json;
    return Buffer.from(f.bytes).toString("utf-8");
  }
  const bytes = f.kind === "bin" ? f.bytes : new TextEncoder().encode(f.kind === "text" ? f.text : f.json);
  return bytes.slice().buffer;
}

export function unlinkSync(name: string): void {
  if (!files.delete(name)) throw enoent(name);
}

export function renameSync(from: string, to: string): void {
  const f = files.get(from);
  if (!f) throw enoent(from);
  files.delete(from);
  files.set(to, f);
}

export function statSync(name: string): { size: number; mtime: Date } {
  const f = files.get(name);
  if (!f) throw enoent(name);
  const size = f.kind === "data" ? f.json.length : f.kind === "text" ? f.text.length : f.kind === "bin" ? f.bytes.length : 0;
  return { size, mtime: new Date(0) };
}

export function listDirSync(_path: string): { next(): { done: boolean; value: string | undefined } } {
  const names = Array.from(files.keys());
  let i = 0;
  return {
    next() {
      return i < names.length ? { done: false, value: names[i++] } : { done: true, value: undefined };
    },
  };
}

export function __reset(): void {
  files.clear();
  writes = 0;
}
export function __files(): string[] {
  return Array.from(files.keys()).sort();
}
/** What a cbor/json file holds, parsed; undefined when absent. */
export function __raw(name: string): any {
  const f = files.get(name);
  return f && f.kind === "data" ? JSON.parse(f.json) : undefined;
}
/** Makes a file unreadable, like a write cut short by a reboot. */
export function __corrupt(name: string): void {
  files.set(name, { kind: "bad" });
}
export function __writeCount(): number {
  return writes;
}
