// helmet's headers, worked out once: helmet() with a fixed configuration sets the same headers on
// every response, so they are captured at start-up from one dry run and replayed per request with a
// plain loop (instead of a dozen chained middlewares rebuilding the same values each time).
import type { NextFunction, Request, RequestHandler, Response } from "express";
import helmet from "helmet";

/**
 * helmet's defaults, minus what only makes sense over TLS when PUBLIC_URL is not https: the CSP's
 * upgrade-insecure-requests makes a browser fetch /static/signup.js and post the forms over https,
 * which a relay served as http://192.0.2.2:8080 on a LAN does not speak, and HSTS would pin the host
 * to https for a year. Both are sent when PUBLIC_URL is https (TLS at the relay or at its proxy).
 */
export function securityHeaders(https: boolean): RequestHandler {
  return staticHeaders(
    helmet({
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: https ? [] : null } },
      strictTransportSecurity: https,
    }),
  );
}

export function staticHeaders(middleware: RequestHandler): RequestHandler {
  const set: [string, string | number | readonly string[]][] = [];
  const removed: string[] = [];
  const probe = {
    locals: {},
    setHeader(name: string, value: string | number | readonly string[]) {
      set.push([name, value]);
      return probe;
    },
    removeHeader(name: string) {
      removed.push(name);
    },
    getHeader: () => undefined,
  };
  let finished = false;
  middleware({ method: "GET", url: "/", headers: {} } as Request, probe as unknown as Response, ((err?: unknown) => {
    if (err) throw err;
    finished = true;
  }) as NextFunction);
  // a configuration that answers or depends on the request (e.g. a per-request CSP nonce) cannot be replayed
  if (!finished) throw new Error("staticHeaders: the middleware did not call next() synchronously");
  return (_req: Request, res: Response, next: NextFunction) => {
    for (let i = 0; i < removed.length; i++) res.removeHeader(removed[i]);
    for (let i = 0; i < set.length; i++) res.setHeader(set[i][0], set[i][1]);
    next();
  };
}
