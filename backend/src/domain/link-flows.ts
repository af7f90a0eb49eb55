// The start of an OAuth link flow (X or Google), kept the same way for both: a random flow id the
// wearer's browser carries to /x/start or /google/start, stored only as its SHA-256, with where to
// send the wearer afterwards. The PKCE verifier and the state are added when the flow starts.
import { createHash, randomBytes } from "node:crypto";
import { Problem } from "../http/problem.ts";
import type { Db } from "../store/open-store.ts";

export const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** A path on this relay ("/", "/settings?x=1"); anything that could lead elsewhere is refused. */
export function isRelayPath(p: string): boolean {
  return /^\/(?![/\\])[^\s\\]*$/.test(p) && p.length <= 512;
}

/** Stores a new flow for `deviceId`, valid `ttlMs`, and drops anyone's flows that ended a while ago; returns the flow id. */
export async function openLinkFlow(
  db: Db,
  table: "x_link_flows" | "google_link_flows",
  o: { deviceId: string; returnTo?: string; ttlMs: number; now: Date },
): Promise<string> {
  if (o.returnTo !== undefined && !isRelayPath(o.returnTo)) throw new Problem(400, "invalid_return_to", "returnTo must be a path on this relay, such as /.");
  const flow = randomBytes(24).toString("base64url");
  await db
    .insertInto(table)
    .values({
      flow_hash: sha(flow),
      device_id: o.deviceId,
      state_hash: null,
      verifier: null,
      return_to: o.returnTo ?? null,
      expires_at: new Date(o.now.getTime() + o.ttlMs).toISOString(),
      used_at: null,
      created_at: o.now.toISOString(),
    })
    .execute();
  await db.deleteFrom(table).where("expires_at", "<", new Date(o.now.getTime() - o.ttlMs).toISOString()).execute();
  return flow;
}
