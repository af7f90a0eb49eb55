// A tiny stand-in for the AWS SNS query API on 127.0.0.1, port 0: POST / with a form body
// Action=Publish&PhoneNumber=...&Message=...&MessageAttributes.entry.N..., XML answers.
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { randomUUID } from "node:crypto";

/** Test values only */
export const FAKE_AWS_CREDENTIALS = { accessKeyId: "fake-access-key-id", secretAccessKey: "fake-secret-access-key" };

export interface PublishedSms {
  messageId: string;
  phoneNumber: string;
  message: string;
  /** MessageAttributes by name, e.g. { "AWS.SNS.SMS.SMSType": "Transactional" } */
  attributes: Record<string, string>;
  /** the form fields as received */
  params: Record<string, string>;
}

export type SnsFailure =
  /** an SNS error document, e.g. { status: 400, code: "Throttling" } or { status: 400, code: "InvalidParameter" } */
  | { status: number; code: string; message?: string }
  | { status: 500 | 503 }
  /** hold the request this long before answering normally */
  | { timeoutMs: number }
  /** 200 with a body that is not XML */
  | { malformed: true };

export interface FakeSns {
  readonly url: string;
  readonly published: PublishedSms[];
  readonly requests: number;
  /** requests that were not a well-formed Publish (wrong method, path, action, missing fields, unsigned) */
  readonly problems: string[];
  failNext(n: number, failure: SnsFailure): void;
  close(): Promise<void>;
}

const NS = "http://sns.amazonaws.com/doc/2010-03-31/";

export async function startFakeSns(): Promise<FakeSns> {
  const published: PublishedSms[] = [];
  const problems: string[] = [];
  const failures: SnsFailure[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let requests = 0;

  const server = createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
      const xml = (status: number, body: string): void => {
        if (res.destroyed) return;
        res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": randomUUID() });
        res.end(body);
      };
      const error = (status: number, code: string, message: string): void =>
        xml(status, `<ErrorResponse xmlns="${NS}"><Error><Type>${status >= 500 ? "Receiver" : "Sender"}</Type><Code>${code}</Code><Message>${escape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);

      const handle = (failure: SnsFailure | undefined): void => {
        if (req.method !== "POST" || (req.url ?? "/").split("?")[0] !== "/") problems.push(`${req.method} ${req.url}: not POST /`);
        if (!/^AWS4-HMAC-SHA256 Credential=/.test(req.headers.authorization ?? "")) problems.push("request not signed with SigV4");
        if (failure && "malformed" in failure) return xml(200, "<PublishResponse><PublishResult><MessageId>");
        if (failure && "code" in failure) return error(failure.status, failure.code, failure.message ?? `${failure.code} (injected by the test)`);
        if (failure && "status" in failure) return error(failure.status, "InternalError", "Internal Error");
        if (params.Action !== "Publish") {
          problems.push(`unsupported Action ${params.Action}`);
          return error(400, "InvalidAction", `The action ${params.Action} is not valid for this endpoint.`);
        }
        if (!params.PhoneNumber && !params.TopicArn && !params.TargetArn) {
          problems.push("Publish without PhoneNumber");
          return error(400, "InvalidParameter", "Invalid parameter: PhoneNumber Reason: no value");
        }
        if (!params.Message) {
          problems.push("Publish without Message");
          return error(400, "ValidationError", "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null");
        }
        if (!/^\+[1-9]\d{1,14}$/.test(params.PhoneNumber ?? "")) return error(400, "InvalidParameter", "Invalid parameter: PhoneNumber Reason: not E.164");
        const attributes: Record<string, string> = {};
        for (let i = 1; params[`MessageAttributes.entry.${i}.Name`] !== undefined; i++) {
          attributes[params[`MessageAttributes.entry.${i}.Name`]!] = params[`MessageAttributes.entry.${i}.Value.StringValue`] ?? "";
        }
        const messageId = randomUUID();
        published.push({ messageId, phoneNumber: params.PhoneNumber!, message: params.Message, attributes, params });
        xml(200, `<PublishResponse xmlns="${NS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`);
      };

      const failure = failures.shift();
      if (failure && "timeoutMs" in failure) {
        const t = setTimeout(() => {
          timers.delete(t);
          handle(undefined);
        }, failure.timeoutMs);
        timers.add(t);
      } else handle(failure);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    published,
    get requests() {
      return requests;
    },
    problems,
    failNext(n, failure) {
      for (let i = 0; i < n; i++) failures.push(failure);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
