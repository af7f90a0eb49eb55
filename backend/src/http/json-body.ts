// A lean reader for the common JSON request in front of express.json(): when the request is plainly
// `Content-Type: application/json` (optionally `; charset=utf-8`), not encoded, and has a
// Content-Length within the limit, the body is read and parsed here with the same rules as
// body-parser's strict JSON parser (BOM stripped, empty body -> {}, top level must be an object or
// array, a parse failure is its `entity.parse.failed` 400). Other JSON types (see jsonContentType),
// charsets, compressed or chunked bodies and oversized ones go to body-parser untouched, with all its
// answers; a body of any other declared type is a 415 before anything is read.
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { Problem } from "./problem.ts";

const PLAIN_JSON = new Set(["application/json", "application/json; charset=utf-8", "application/json;charset=utf-8"]);
const DIGITS = /^\d{1,9}$/;

export function fastJson(fallback: RequestHandler, limitBytes: number): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const h = req.headers;
    const type = h["content-type"];
    const len = h["content-length"];
    if (
      typeof type !== "string" ||
      !PLAIN_JSON.has(type.toLowerCase()) ||
      (h["content-encoding"] !== undefined && h["content-encoding"].toLowerCase() !== "identity") ||
      h["transfer-encoding"] !== undefined ||
      typeof len !== "string" ||
      !DIGITS.test(len) ||
      Number(len) > limitBytes ||
      (req.complete && !req.readable)
    ) {
      return slowPath(fallback, req, res, next);
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (err: unknown) => {
      if (settled) return;
      settled = true;
      req.removeListener("data", onData);
      req.removeListener("end", onEnd);
      req.removeListener("aborted", onAborted);
      req.removeListener("error", onError);
      next(err);
    };
    const onData = (c: Buffer) => {
      received += c.length;
      chunks.push(c);
    };
    const onEnd = () => {
      if (received !== Number(len)) return finish(readError(400, "request size did not match content length", "request.size.invalid"));
      let text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received)).toString("utf8");
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      try {
        req.body = parseStrict(text);
      } catch (err) {
        return finish(Object.assign(err as Error, { status: 400, statusCode: 400, expose: true, type: "entity.parse.failed", body: text }));
      }
      finish(undefined);
    };
    const onAborted = () => finish(readError(400, "request aborted", "request.aborted"));
    const onError = (err: unknown) => finish(Object.assign(readError(400, (err as Error)?.message ?? "request error", "request.error")));
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("aborted", onAborted);
    req.once("error", onError);
  };
}

/**
 * JSON by its Content-Type: application/json and application/*+json; also none and text/plain, as
 * fetch labels a string body text/plain (the API authenticates by a bearer header, not cookies, so
 * accepting a "simple" cross-site type opens nothing).
 */
export function jsonContentType(header: string | undefined): boolean {
  if (header === undefined) return true;
  const semi = header.indexOf(";");
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  return type === "" || type === "application/json" || type === "text/plain" || (type.startsWith("application/") && type.endsWith("+json"));
}

function slowPath(fallback: RequestHandler, req: Request, res: Response, next: NextFunction) {
  const h = req.headers;
  const hasBody = h["transfer-encoding"] !== undefined || h["content-length"] !== undefined;
  if (hasBody && !jsonContentType(h["content-type"])) {
    return next(new Problem(415, "unsupported_media_type", "Send the body as application/json (UTF-8)."));
  }
  fallback(req, res, next);
}

function readError(status: number, message: string, type: string) {
  return Object.assign(new Error(message), { status, statusCode: status, expose: true, type });
}

/** body-parser's strict mode: "" -> {}, and only an object or an array at the top level */
function parseStrict(text: string): unknown {
  if (text.length === 0) return {};
  const first = text[0] === "{" || text[0] === "[" ? text[0] : /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d]|$)/.exec(text)?.[1];
  if (first !== "{" && first !== "[") throw new SyntaxError(`Unexpected token ${first ?? "end of input"} in JSON (strict: an object or an array)`);
  return JSON.parse(text);
}
