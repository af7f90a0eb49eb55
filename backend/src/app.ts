// createApp(deps): middleware, routes and the one error handler. No listen: main.ts and the tests do that.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import express, { type NextFunction, type Request, type Response } from "express";
import twilio from "twilio";
import { publicUrl as defaultPublicUrl } from "./config.ts";
import { recordBattery, recordHeartbeat } from "./domain/battery.ts";
import type { Deps } from "./domain/deps.ts";
import { authenticate, eraseDevice, meView, registerDevice, updateMe, type Device } from "./domain/devices.ts";
import { confirmVerification, removePhone, startVerification } from "./domain/phone-verification.ts";
import { handleInbound, handleStatus } from "./domain/twilio-inbound.ts";
import { accessLog } from "./http/access-log.ts";
import { fastJson } from "./http/json-body.ts";
import { createHttpCounter, renderMetrics } from "./http/metrics.ts";
import { Problem, problemBody } from "./http/problem.ts";
import { BatteryBody, DeliveriesQuery, HeartbeatBody, MePatch, PhoneBody, RegisterBody, VerifyBody } from "./http/schemas.ts";
import { securityHeaders } from "./http/security-headers.ts";
import { parse } from "./http/validate.ts";
import { registerDevOutbox } from "./routes/dev-outbox.ts";
import { registerDevX } from "./routes/dev-x.ts";
import { registerXRoutes } from "./routes/x-routes.ts";
import { registerAdmin } from "./routes/admin.ts";
import { registerGoogleRoutes } from "./routes/google-routes.ts";
import { registerWebSignup } from "./routes/web-signup.ts";

export const BODY_LIMIT = "16kb";
const BODY_LIMIT_BYTES = 16 * 1024; // BODY_LIMIT in bytes, as body-parser reads "16kb"
export const OPENAPI_PATH = join(import.meta.dirname ?? __dirname, "..", "openapi.json");

export interface AppDeps extends Deps {
  /** the base URL Twilio signs (PUBLIC_URL + path); defaults to PUBLIC_URL or http://HOST:PORT */
  publicUrl?: () => string;
}

const asyncRoute =
  (fn: (req: Request, res: Response) => Promise<unknown>) =>
  (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);

export function createApp(deps: AppDeps) {
  const { config, store, clock } = deps;
  const app = express();
  const httpCounter = createHttpCounter();
  const openapi = readFileSync(OPENAPI_PATH, "utf8");
  const publicUrl = deps.publicUrl ?? (() => defaultPublicUrl(config));

  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("trust proxy", config.trustProxy);
  app.set("query parser", "simple");

  // request id, one access line per request and the request counter (http/access-log.ts)
  app.use(accessLog({ logger: deps.log, counter: httpCounter, quiet: (url) => url === "/healthz" || url === "/metrics" }));
  // the scheme is PUBLIC_URL's (unset: http://HOST:PORT), fixed at start-up like the rest of the config
  app.use(securityHeaders(/^https:/i.test(publicUrl())));

  // plain JSON bodies are read by a lean path; everything else by body-parser (http/json-body.ts), which
  // parses whatever gets past fastJson's content-type gate (none, text/plain, application/*+json)
  const json = fastJson(express.json({ limit: BODY_LIMIT, strict: true, type: () => true }), BODY_LIMIT_BYTES);
  const form = express.urlencoded({ extended: false, limit: BODY_LIMIT, parameterLimit: 100 });

  type AuthedHandler = (req: Request, res: Response, device: Device) => Promise<unknown>;
  const authorize = (req: Request, res: Response, next: NextFunction) => {
    authenticate(deps, req.headers.authorization).then(
      (device) => {
        res.locals.device = device;
        next();
      },
      (err: unknown) => {
        // RFC 6750 3: a 401 names the scheme; invalid_token once a bearer token was sent and refused
        if (err instanceof Problem && err.status === 401)
          res.setHeader("WWW-Authenticate", /^\s*bearer\s+\S/i.test(req.headers.authorization ?? "") ? 'Bearer error="invalid_token"' : "Bearer");
        next(err);
      },
    );
  };
  const authed = (fn: AuthedHandler) => [authorize, asyncRoute((req, res) => fn(req, res, res.locals.device as Device))];
  // the token before the body: without a valid one the answer is 401 whatever was sent, and nothing is parsed
  const authedJson = (fn: AuthedHandler) => [authorize, json, asyncRoute((req, res) => fn(req, res, res.locals.device as Device))];

  // --- operations ---
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get(
    "/readyz",
    asyncRoute(async (_req, res) => {
      try {
        await store.ping();
      } catch {
        throw new Problem(503, "not_ready", "The database is not reachable.");
      }
      res.json({ status: "ready" });
    }),
  );
  app.get(
    "/metrics",
    asyncRoute(async (_req, res) => {
      res.type("text/plain; version=0.0.4").send(await renderMetrics({ store, http: httpCounter, now: clock.now(), config }));
    }),
  );
  app.get("/openapi.json", (_req, res) => {
    res.type("application/json").send(openapi);
  });

  // --- devices and the wearer ---
  app.post(
    "/v1/devices",
    json,
    asyncRoute(async (req, res) => {
      const body = parse(RegisterBody, req.body);
      res.status(201).json(await registerDevice(deps, req.ip ?? "unknown", body));
    }),
  );
  app.get("/v1/me", ...authed(async (_req, res, device) => res.json(await meView(deps, device))));
  app.patch(
    "/v1/me",
    ...authedJson(async (req, res, device) => {
      const patch = parse(MePatch, req.body);
      res.json(await meView(deps, await updateMe(deps, device, patch)));
    }),
  );
  app.delete(
    "/v1/me",
    ...authed(async (_req, res, device) => {
      await eraseDevice(deps, device);
      res.status(204).end();
    }),
  );
  app.put(
    "/v1/me/phone",
    ...authedJson(async (req, res, device) => {
      const body = parse(PhoneBody, req.body);
      const phone = await startVerification(deps, device, body);
      res.status(phone.verified ? 200 : 202).json(phone); // 200: the number was already confirmed, nothing sent
    }),
  );
  app.post(
    "/v1/me/phone/verify",
    ...authedJson(async (req, res, device) => {
      const { code } = parse(VerifyBody, req.body);
      res.json(await confirmVerification(deps, device, code));
    }),
  );
  app.delete(
    "/v1/me/phone",
    ...authed(async (_req, res, device) => {
      await removePhone(deps, device);
      res.status(204).end();
    }),
  );

  // --- events ---
  app.post(
    "/v1/battery",
    ...authedJson(async (req, res, device) => {
      const ev = parse(BatteryBody, req.body);
      res.status(202).json(await recordBattery(deps, device, ev));
    }),
  );
  app.post(
    "/v1/heartbeat",
    ...authedJson(async (req, res, device) => {
      await recordHeartbeat(deps, device, parse(HeartbeatBody, req.body));
      res.status(204).end();
    }),
  );
  app.get(
    "/v1/deliveries",
    ...authed(async (req, res, device) => {
      const { limit } = parse(DeliveriesQuery, req.query);
      const rows = await store.db
        .selectFrom("deliveries")
        .select(["id", "channel", "kind", "status", "created_at", "sent_at", "error", "event_id"])
        .where("device_id", "=", device.id)
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(limit)
        .execute();
      res.json(
        rows.map((r) => ({
          id: r.id,
          channel: r.channel,
          kind: r.kind,
          status: r.status,
          createdAt: r.created_at,
          ...(r.sent_at ? { sentAt: r.sent_at } : {}),
          ...(r.error ? { error: r.error } : {}),
          ...(r.event_id ? { eventId: r.event_id } : {}),
        })),
      );
    }),
  );

  // --- Twilio webhooks (signed) ---
  const twilioOnly = (req: Request, _res: Response, next: NextFunction) => {
    // without Twilio's auth token no signature can be checked, so every webhook is unsigned as far as we know
    if (config.sms.provider !== "twilio" || !config.sms.twilio) return next(new Problem(403, "forbidden", "SMS_PROVIDER is not twilio: no X-Twilio-Signature can be checked."));
    const sig = req.headers["x-twilio-signature"];
    const params = (req.body ?? {}) as Record<string, string>;
    const ok = typeof sig === "string" && twilio.validateRequest(config.sms.twilio.authToken, sig, publicUrl() + req.originalUrl, params);
    if (!ok) return next(new Problem(403, "forbidden", "Missing or wrong X-Twilio-Signature."));
    req.body = params; // a signed request without a form body (other content type) carries no fields
    next();
  };
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  app.post(
    "/webhooks/twilio/inbound",
    form,
    twilioOnly,
    asyncRoute(async (req, res) => {
      const twiml = await handleInbound(deps, str(req.body.From), str(req.body.Body), str(req.body.MessageSid) || str(req.body.SmsSid) || undefined);
      res.type("text/xml").send(`<?xml version="1.0" encoding="UTF-8"?>${twiml}`);
    }),
  );
  app.post(
    "/webhooks/twilio/status",
    form,
    twilioOnly,
    asyncRoute(async (req, res) => {
      await handleStatus(deps, str(req.body.MessageSid), str(req.body.MessageStatus), str(req.body.ErrorCode) || undefined);
      res.status(204).end();
    }),
  );

  // --- daily posts on X, and the dev outbox (SMS and X) ---
  registerXRoutes(app, deps, { authed, authedJson, publicUrl });
  registerGoogleRoutes(app, deps, { authed, publicUrl });
  registerDevOutbox(app, deps);
  registerDevX(app, deps, { publicUrl });
  // the web sign-up (GET / and its forms) for wearers without the clock face
  registerWebSignup(app, deps);

  registerAdmin(app, deps, { publicUrl });

  // a known path with another method is 405 with Allow (OPTIONS: 204 with Allow); only unknown paths are 404
  const allowFor = allowedMethods(app);
  app.use((req, res, next) => {
    const allow = allowFor(req.path);
    if (!allow) return next(new Problem(404, "not_found", "No such endpoint."));
    // OPTIONS asks exactly this (RFC 9110 9.3.7); no route answers it, so every known path does here
    if (req.method === "OPTIONS") return res.setHeader("Allow", `${allow}, OPTIONS`).status(204).end();
    res.setHeader("Allow", allow);
    next(new Problem(405, "method_not_allowed", `${req.method} is not allowed on ${req.path}; use ${allow}.`));
  });

  // The one error handler: problem+json, never a stack trace to the client.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let p: Problem;
    if (err instanceof Problem) p = err;
    else {
      const e = err as { type?: string; status?: number; message?: string };
      if (e?.type === "entity.parse.failed") p = new Problem(400, "invalid_json", "The body is not valid JSON.");
      else if (e?.type === "entity.too.large") p = new Problem(413, "payload_too_large", `Bodies are limited to ${BODY_LIMIT}.`);
      else if (e?.type === "encoding.unsupported" || e?.type === "charset.unsupported")
        p = new Problem(415, "unsupported_media_type", "Send UTF-8 JSON.");
      else if (typeof e?.status === "number" && e.status >= 400 && e.status < 500)
        p = new Problem(e.status, "invalid_request", "The request could not be read.");
      else if (isStoreUnavailable(err)) {
        // the database is down or restarting: the client keeps its event and retries (readiness says the same)
        req.log?.warn({ code: (err as { code?: string }).code }, "database unavailable");
        p = new Problem(503, "unavailable", "The relay's database is not reachable right now; try again shortly.", { retryAfterSec: 5 });
      } else {
        req.log?.error({ err }, "unhandled error");
        p = new Problem(500, "internal", "Something went wrong on the relay; it has been logged.");
      }
    }
    if (res.headersSent) return;
    if (p.extra.retryAfterSec !== undefined) res.setHeader("Retry-After", String(p.extra.retryAfterSec));
    res.status(p.status).type("application/problem+json").send(JSON.stringify(problemBody(p, req.path)));
  });

  return app;
}

/**
 * The methods each registered route path answers, as an Allow header value (HEAD with GET, as Express
 * serves it); read once from the router after every route is in, so it follows the routes by itself.
 */
function allowedMethods(app: express.Express): (path: string) => string | undefined {
  const byPath = new Map<string, Set<string>>();
  const stack = (app as unknown as { router: { stack: { route?: { path: unknown; methods: Record<string, boolean> } }[] } }).router.stack;
  for (const layer of stack) {
    const route = layer.route;
    // plain paths and :params only (all this app uses); anything fancier is left to 404
    if (!route || typeof route.path !== "string" || /[*?(){}]/.test(route.path)) continue;
    const methods = byPath.get(route.path) ?? new Set<string>();
    for (const m of Object.keys(route.methods)) if (m !== "_all") methods.add(m.toUpperCase());
    if (methods.has("GET")) methods.add("HEAD");
    byPath.set(route.path, methods);
  }
  // Express matches case-insensitively with an optional trailing slash; so does this
  const table = [...byPath].map(([path, methods]) => ({
    re: new RegExp(`^${path.split(/(:\w+)/).map((part) => (part.startsWith(":") ? "[^/]+" : part.replace(/[.+^$|[\]\\]/g, "\\$&"))).join("")}/?$`, "i"),
    methods,
  }));
  return (path) => {
    const found = new Set<string>();
    for (const t of table) if (t.re.test(path)) for (const m of t.methods) found.add(m);
    return found.size ? [...found].join(", ") : undefined;
  };
}

/** Errors that mean "the database cannot be reached now" rather than a fault in the request or the code. */
export function isStoreUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  const code = typeof e.code === "string" ? e.code : "";
  // PostgreSQL: connection exceptions (08xxx), shutting down / cannot connect now (57P01-57P03), too many
  // connections (53300), the database gone (3D000); sockets refused or reset
  if (/^08/.test(code) || /^57P0[123]$/.test(code) || code === "53300" || code === "3D000") return true;
  if (["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "SQLITE_BUSY", "SQLITE_CANTOPEN"].includes(code)) return true;
  const msg = typeof e.message === "string" ? e.message : "";
  return /Connection terminated|connection timeout|Client has encountered a connection error|The database connection is not open/i.test(msg);
}
