// Small in-test SMS providers with behaviour: record calls, fail N times, answer 429, refuse for good.
import { SendError, type SmsMessage, type SmsProvider, type SmsSent } from "../../backend/src/providers/sms.ts";

export interface RecordingSms extends SmsProvider {
  calls: (SmsMessage & { at: number })[];
  /** queue failures for the next sends, in order */
  failNext(...errors: SendError[]): void;
  delayMs: number;
}

export function createRecordingSms(opts: { delayMs?: number } = {}): RecordingSms {
  const pending: SendError[] = [];
  let n = 0;
  const sms: RecordingSms = {
    name: "outbox",
    calls: [],
    delayMs: opts.delayMs ?? 0,
    failNext(...errors) {
      pending.push(...errors);
    },
    async send(msg): Promise<SmsSent> {
      if (sms.delayMs) await new Promise((r) => setTimeout(r, sms.delayMs));
      const err = pending.shift();
      sms.calls.push({ ...msg, at: Date.now() });
      if (err) throw err;
      return { providerId: `SM${String(++n).padStart(32, "0")}`, status: "queued" };
    },
  };
  return sms;
}

export const transient = () => new SendError("transient", "503 from provider", { code: "503" });
export const rateLimited = (ms: number) => new SendError("rate_limited", "429", { code: "429", retryAfterMs: ms });
export const permanent = (code = "21211") => new SendError("permanent", "invalid To", { code });
export const optedOut = () => new SendError("permanent", "unsubscribed", { code: "21610", optedOut: true });
