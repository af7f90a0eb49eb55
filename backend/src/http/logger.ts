import pino, { type Logger } from "pino";

/** Paths never written to the log: tokens, codes, phone numbers. */
export const REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-twilio-signature"]',
  "token",
  "code",
  "number",
  "to",
  "*.token",
  "*.code",
  "*.number",
  "*.to",
  "*.To",
  "*.From",
  "*.Body",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: "[redacted]" }, base: { app: "wristrelay-relay" } }, destination);
}
