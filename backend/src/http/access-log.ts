// The access log and the request counter in one middleware, kept cheap for the hot path:
// a request id (X-Request-Id: the caller's when it is 1-64 of [A-Za-z0-9._-], else a new UUID) on every
// answer and in every line logged for the request, and ONE log line per request in the
// shape pino-http wrote ({reqId, req: {id, method, url}, res: {statusCode}, responseTime},
// "request completed"), at info for 2xx/3xx, warn for 4xx, error for 5xx. Nothing is built for a line
// whose level is disabled, and the per-request child logger (req.log) is made only when asked for.
import { randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "pino";
// type only: its declarations of req.id and req.log, which this middleware provides
import type {} from "pino-http";
import type { HttpCounter } from "./metrics.ts";

const GIVEN_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface AccessLogOptions {
  logger: Logger;
  counter: HttpCounter;
  /** answered and counted, but no access line (probes and scrapes) */
  quiet?: (url: string) => boolean;
}

const ROOT = Symbol("wristrelay.rootLogger");
const CHILD = Symbol("wristrelay.reqLogger");
type LoggedRequest = Request & { [ROOT]?: Logger; [CHILD]?: Logger };
const withLazyLog = new WeakSet<object>();

/**
 * req.log, the request's child logger ({reqId}), is made on first use: most requests never log
 * anything but the access line. The accessor lives on the request prototype (Express's app.request),
 * installed once, so no request object gets a per-request accessor property.
 */
function lazyLog(req: Request) {
  const proto = Object.getPrototypeOf(req) as object;
  if (withLazyLog.has(proto)) return;
  Object.defineProperty(proto, "log", {
    configurable: true,
    get(this: LoggedRequest) {
      return (this[CHILD] ??= this[ROOT]!.child({ reqId: this.id }));
    },
    set(this: LoggedRequest, v: Logger) {
      this[CHILD] = v;
    },
  });
  withLazyLog.add(proto);
}

export function accessLog(o: AccessLogOptions) {
  const { logger, counter, quiet } = o;
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.headers["x-request-id"];
    const id = typeof given === "string" && GIVEN_ID.test(given) ? given : randomUUID();
    res.setHeader("x-request-id", id);
    req.id = id;
    (req as LoggedRequest)[ROOT] = logger;
    lazyLog(req);
    const start = Date.now();
    const logged = !quiet?.(req.url);
    let done = false;
    const onFinish = () => {
      counter.inc(req.method, (req.route?.path as string | undefined) ?? "unmatched", res.statusCode, (Date.now() - start) / 1000);
      onDone();
    };
    const onDone = () => {
      if (done) return;
      done = true;
      res.removeListener("finish", onFinish);
      res.removeListener("close", onDone);
      if (logged) writeLine(logger, req, res, id, Date.now() - start);
    };
    res.once("finish", onFinish);
    res.once("close", onDone);
    next();
  };
}

function writeLine(logger: Logger, req: Request, res: Response, id: string, responseTime: number) {
  const status = res.statusCode;
  const level = status >= 500 ? "error" : status >= 400 ? "warn" : "info";
  if (!logger.isLevelEnabled(level)) return;
  const url = req.originalUrl ?? req.url ?? "";
  const q = url.indexOf("?");
  const line: Record<string, unknown> = {
    reqId: id,
    req: { id, method: req.method, url: q === -1 ? url : url.slice(0, q) },
    res: { statusCode: status },
  };
  if (status >= 500) {
    line.err = res.err ?? new Error(`failed with status code ${status}`);
    line.responseTime = responseTime;
    logger[level](line, "request errored");
    return;
  }
  line.responseTime = responseTime;
  logger[level](line, !req.readableAborted && res.writableEnded ? "request completed" : "request aborted");
}
