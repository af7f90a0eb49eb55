import { randomBytes } from "node:crypto";

let seq = 0;
/** Sortable by creation (time, then a per-process sequence), unique across processes by the random tail. */
export function newId(prefix: string, now: Date): string {
  seq = (seq + 1) % 0xffffff;
  return `${prefix}_${now.getTime().toString(36).padStart(9, "0")}${seq.toString(36).padStart(5, "0")}${randomBytes(6).toString("base64url")}`;
}
