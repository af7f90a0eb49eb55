// AWS SNS direct-to-phone SMS adapter (@aws-sdk/client-sns, Publish with PhoneNumber). The SDK's
// own retries are off: the delivery worker retries according to the SendError kind.
import { PublishCommand, SNSClient, type MessageAttributeValue } from "@aws-sdk/client-sns";
import { SendError, type SmsMessage, type SmsProvider, type SmsSent } from "./sms.ts";

export interface SnsSmsOptions {
  region: string;
  /** e.g. a local fake in tests; default: the region's SNS endpoint */
  endpoint?: string;
  /** default: the SDK's credential chain (environment, profile, instance role) */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** the whole call (default 10 s) */
  timeoutMs?: number;
  /** AWS.SNS.SMS.SenderID: 3-11 letters/digits with at least one letter (not honoured in the US) */
  senderId?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** SNS throttles per second and sends no Retry-After: wait a little, not a minute */
const THROTTLE_RETRY_MS = 5_000;
const RATE_LIMITED = new Set(["Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "KMSThrottling", "RequestLimitExceeded"]);
const OPTED_OUT = new Set(["OptedOut", "OptedOutException"]);
const NETWORK = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"]);

export function createSnsSms(opts: SnsSmsOptions): SmsProvider {
  if (!opts.region) throw new Error("sns: region is required");
  if (opts.senderId !== undefined && !/^(?=.*[A-Za-z])[A-Za-z0-9]{3,11}$/.test(opts.senderId))
    throw new Error("sns: senderId must be 3-11 letters or digits with at least one letter");
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const client = new SNSClient({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    maxAttempts: 1,
    requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs },
  });
  const attributes: Record<string, MessageAttributeValue> = {
    "AWS.SNS.SMS.SMSType": { DataType: "String", StringValue: "Transactional" },
    ...(opts.senderId ? { "AWS.SNS.SMS.SenderID": { DataType: "String", StringValue: opts.senderId } } : {}),
  };

  return {
    name: "sns",
    async send(msg: SmsMessage, sendOpts?: { signal?: AbortSignal }): Promise<SmsSent> {
      const deadline = AbortSignal.timeout(timeoutMs);
      const signal = sendOpts?.signal ? AbortSignal.any([sendOpts.signal, deadline]) : deadline;
      let onAbort = (): void => {};
      // the race answers within timeoutMs even if a layer below ignores the signal
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new Error("aborted"));
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      });
      aborted.catch(() => {});
      try {
        const out = await Promise.race([
          client.send(new PublishCommand({ PhoneNumber: msg.to, Message: msg.body, MessageAttributes: attributes }), { abortSignal: signal }),
          aborted,
        ]);
        if (!out.MessageId) throw new SendError("transient", "sns: answer without a MessageId", { code: "bad_response" });
        return { providerId: out.MessageId };
      } catch (err) {
        if (err instanceof SendError) throw err;
        if (deadline.aborted && !sendOpts?.signal?.aborted) throw new SendError("transient", `sns: no answer within ${timeoutMs} ms`, { code: "timeout" });
        if (sendOpts?.signal?.aborted) throw new SendError("transient", "sns: send aborted", { code: "aborted" });
        throw toSendError(err, timeoutMs);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
}

function toSendError(err: unknown, timeoutMs: number): SendError {
  // `Code` is the error code on the wire (InvalidParameter); `name` is the SDK's class for it (InvalidParameterException)
  const e = err as { name?: string; Code?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.Code ?? e?.name ?? "Error";
  const status = e?.$metadata?.httpStatusCode;
  const detail = `sns: ${name}${status ? ` (HTTP ${status})` : ""}: ${redact(e?.message ?? "")}`;
  if (RATE_LIMITED.has(name) || RATE_LIMITED.has(e?.name ?? "") || status === 429) return new SendError("rate_limited", detail, { code: name, retryAfterMs: THROTTLE_RETRY_MS });
  if (e?.name === "TimeoutError" || name === "RequestTimeout" || e?.code === "ETIMEDOUT") return new SendError("transient", `sns: no answer within ${timeoutMs} ms`, { code: "timeout" });
  if (status !== undefined && status >= 500) return new SendError("transient", detail, { code: name });
  if (OPTED_OUT.has(name) || OPTED_OUT.has(e?.name ?? "")) return new SendError("permanent", detail, { code: name, optedOut: true });
  // a service answer in the 4xx range: InvalidParameter, InvalidParameterValue, AuthorizationError, ...
  if (status !== undefined && status >= 400) return new SendError("permanent", detail, { code: name });
  if (status !== undefined && status < 300) return new SendError("transient", "sns: unreadable answer", { code: "bad_response" });
  if (e?.code && NETWORK.has(e.code)) return new SendError("transient", `sns: ${e.code}`, { code: e.code });
  // no HTTP answer at all (connection refused, reset, unreadable reply): try again later
  return new SendError("transient", detail, { code: e?.code ?? name });
}

/** SNS messages may quote the number: keep it out of logs. */
function redact(text: string): string {
  return text.replace(/\+?\d[\d\s().-]{5,}\d/g, "[number]").slice(0, 300);
}
