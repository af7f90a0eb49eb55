// The only user of "fs": small CBOR files in the app's private folder.
import { existsSync, readFileSync, writeFileSync } from "fs";

export function loadFile(name: string): unknown {
  try {
    return existsSync(name) ? readFileSync(name, "cbor") : undefined;
  } catch (e) {
    return undefined; // corrupt or half-written: start afresh rather than crash the face
  }
}

export function saveFile(name: string, value: unknown): void {
  try {
    writeFileSync(name, value, "cbor");
  } catch (e) {
    // storage full: keep running; the data lives on in memory until the next write
  }
}

