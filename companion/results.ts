// Turns what the relay answered about a battery event into what the face shows (ResultKind).
import { ResultKind } from "../common/protocol";

const BY_REASON: { pattern: RegExp; kind: ResultKind }[] = [
  { pattern: /opt(ed)?_?out|stop/i, kind: "opted_out" },
  { pattern: /unverified|not_verified/i, kind: "unverified" },
  { pattern: /no_phone|phone_missing|no_number/i, kind: "no_phone" },
  { pattern: /sms_off|disabled|sms_disabled/i, kind: "sms_off" },
  { pattern: /quiet/i, kind: "quiet" },
  { pattern: /cap|budget|limit/i, kind: "capped" },
];

/** The relay's `{ action, reason }` for POST /v1/battery as a ResultKind. */
export function resultOfBatteryAnswer(answer: unknown): ResultKind {
  const a = (answer || {}) as { action?: unknown; reason?: unknown };
  if (a.action === "sms") return typeof a.reason === "string" && /quiet/i.test(a.reason) ? "quiet" : "sms_queued";
  if (typeof a.reason === "string") {
    for (let i = 0; i < BY_REASON.length; i++) if (BY_REASON[i].pattern.test(a.reason)) return BY_REASON[i].kind;
  }
  return "none";
}

/** A permanent refusal (problem `code`) as a ResultKind. */
export function resultOfRefusal(code: string): ResultKind {
  for (let i = 0; i < BY_REASON.length; i++) if (BY_REASON[i].pattern.test(code)) return BY_REASON[i].kind;
  return "sms_failed";
}

/**
 * A delivery's status from GET /v1/deliveries as what the face shows; null while still on its way.
 * "none" for a held alert the relay cancelled (the watch went on its charger, a newer alert replaced
 * it, SMS was turned off): nothing to show, and the newer event reports its own fate.
 */
export function smsFate(status: unknown): ResultKind | null {
  if (status === "sent" || status === "delivered") return "sms_sent";
  if (status === "cancelled") return "none";
  if (status === "dead" || status === "failed" || status === "undelivered") return "sms_failed";
  return null;
}
