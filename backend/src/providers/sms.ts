// The contract every SMS adapter (outbox, twilio, sns) fulfils. The delivery worker depends on this
// only; each adapter maps its provider's answers onto SendError kinds.

export interface SmsMessage {
  /** E.164 number */
  to: string;
  body: string;
  /** our delivery id, for logs and idempotency on the provider's side where supported */
  ref: string;
  /** where the provider should post delivery receipts, if it supports them */
  statusCallback?: string;
}

export interface SmsSent {
  /** the provider's message id (Twilio SM..., SNS MessageId, outbox id) */
  providerId: string;
  /** the provider's status at hand-off, if it says one (e.g. Twilio "queued") */
  status?: string;
}

/**
 * Why a send failed, as the worker needs to know it:
 * - transient: retry with backoff (5xx, timeouts, connection errors)
 * - rate_limited: retry no sooner than retryAfterMs (429)
 * - permanent: dead-letter with the reason (invalid or unroutable number, opted out, ...)
 */
export type SendErrorKind = "transient" | "rate_limited" | "permanent";

export class SendError extends Error {
  readonly kind: SendErrorKind;
  /** provider error code as a string, e.g. "21610" */
  readonly code?: string;
  readonly retryAfterMs?: number;
  /** true when the number opted out at the provider (e.g. Twilio 21610) */
  readonly optedOut: boolean;
  constructor(kind: SendErrorKind, message: string, opts: { code?: string; retryAfterMs?: number; optedOut?: boolean } = {}) {
    super(message);
    this.name = "SendError";
    this.kind = kind;
    this.code = opts.code;
    this.retryAfterMs = opts.retryAfterMs;
    this.optedOut = opts.optedOut ?? false;
  }
}

export interface SmsProvider {
  readonly name: "outbox" | "twilio" | "sns";
  /** Sends one SMS; throws SendError on failure. Must not log the number or the body in full. */
  send(msg: SmsMessage, opts?: { signal?: AbortSignal }): Promise<SmsSent>;
  /**
   * Asks the provider whether a message it may already have accepted went out: messages to `to`
   * with exactly `body`, sent at or after `since`; returns their ids, oldest first. The worker calls
   * it before sending a delivery again whose earlier attempt has no known outcome (its process died
   * mid-send, or the call timed out). Throws SendError when the provider cannot be asked. Adapters
   * whose provider has no such lookup (SNS) leave it out, and the send is simply repeated.
   */
  findSent?(q: { to: string; body: string; since: Date }, opts?: { signal?: AbortSignal }): Promise<string[]>;
  /** A cheap check for the operator page and metrics; never sends a message. */
  health?(): Promise<{ ok: boolean; detail?: string }>;
}
