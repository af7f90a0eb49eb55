// npm run bench:watch — size of the device JS per target and what the face sends in a simulated day,
// against a baseline that sends every battery change. Builds first when build/app.fba is missing.
import { execSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { runWatchDay } from "../test/helpers/watch-day";

const ROOT = join(__dirname, "..");
const FBA = join(ROOT, "build", "app.fba");
const JS_LIMIT = 20 * 1024;
const MSG_LIMIT = 12;
const BYTES_LIMIT = 2 * 1024;

/** Reads a zip's central directory: name -> contents (stored or deflated entries). */
function unzip(buf: Buffer): Map<string, Buffer> {
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error("not a zip file");
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString("utf-8", p + 46, p + 46 + nameLen);
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(dataAt, dataAt + size);
    out.set(name, method === 0 ? Buffer.from(raw) : inflateRawSync(raw));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function deviceJsSizes(): { target: string; bytes: number }[] {
  if (!existsSync(FBA)) {
    console.log("build/app.fba missing: running the build first");
    execSync("npx fitbit-build", { cwd: ROOT, stdio: "inherit" });
  }
  const out: { target: string; bytes: number }[] = [];
  for (const [name, data] of unzip(readFileSync(FBA))) {
    const m = /^device-(\w+)\.zip$/.exec(name);
    if (!m) continue;
    let bytes = 0;
    for (const [inner, js] of unzip(data)) if (/^app\/.*\.js$/.test(inner)) bytes += js.length;
    out.push({ target: m[1], bytes });
  }
  return out;
}

function pad(s: string | number, n: number): string {
  const t = String(s);
  return t.length >= n ? t : t + " ".repeat(n - t.length);
}

const sizes = deviceJsSizes();
const face = runWatchDay();
const naive = runWatchDay({ naive: true });

const rows: [string, string, string, string][] = [["figure", "value", "target", "ok"]];
for (const s of sizes) rows.push([`device JS ${s.target} (minified)`, `${(s.bytes / 1024).toFixed(1)} KB (${s.bytes} B)`, "<= 20 KB", s.bytes <= JS_LIMIT ? "yes" : "NO"]);
rows.push(["messages to phone / day", String(face.messages), `<= ${MSG_LIMIT}`, face.messages <= MSG_LIMIT ? "yes" : "NO"]);
rows.push(["bytes to phone / day", `${face.bytes} B`, "<= 2 KB", face.bytes <= BYTES_LIMIT ? "yes" : "NO"]);
rows.push(["baseline messages / day", String(naive.messages), "(every battery change)", ""]);
rows.push(["baseline bytes / day", `${naive.bytes} B`, "", ""]);
rows.push(["battery changes in the day", String(face.batteryChanges), "", ""]);
rows.push(["messages vs baseline", `${((100 * face.messages) / naive.messages).toFixed(1)} %`, "", ""]);
rows.push(["bytes vs baseline", `${((100 * face.bytes) / naive.bytes).toFixed(1)} %`, "", ""]);
const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)) + 2);
for (const r of rows) console.log(r.map((c, i) => pad(c, widths[i])).join("").trimEnd());
console.log("sent:", face.sent.map((s) => (s.data.t === "bat" ? `bat:${s.data.why}` : s.data.t)).join(", "));

const figures = {
  deviceJsBytes: Object.fromEntries(sizes.map((s) => [s.target, s.bytes])),
  jsLimitBytes: JS_LIMIT,
  messages: face.messages,
  bytes: face.bytes,
  baselineMessages: naive.messages,
  baselineBytes: naive.bytes,
  batteryChanges: face.batteryChanges,
  messageRatio: Number((face.messages / naive.messages).toFixed(4)),
  byteRatio: Number((face.bytes / naive.bytes).toFixed(4)),
  ok: sizes.every((s) => s.bytes <= JS_LIMIT) && face.messages <= MSG_LIMIT && face.bytes <= BYTES_LIMIT,
};
console.log(JSON.stringify(figures));
