// The operator's side of the relay: /admin (a dashboard for a browser) and /admin/api/* (JSON for
// scripts). Off (404) unless ADMIN_TOKEN is set. A browser signs in with the token once and holds a
// signed, HttpOnly, SameSite=Strict session cookie (12 h, path /admin); scripts send
// `Authorization: Bearer <ADMIN_TOKEN>`. Tokens are compared in constant time; wrong ones are
// limited per client address. Every form posts its session's CSRF token.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { publicUrl as defaultPublicUrl } from "../config.ts";
import type { Deps } from "../domain/deps.ts";
import { budgetCounter, readCounter } from "../domain/limits.ts";
import { maskPhone } from "../domain/phone.ts";
import { xBudgetCounter } from "../domain/x-delivery.ts";
import { queueState } from "../http/metrics.ts";
import { Problem } from "../http/problem.ts";
import { createSessionCodec, type SessionData } from "../http/session.ts";
import { dashboardPage, loginPage, messagePage, type DashboardNotice } from "./admin-view.ts";

export const ADMIN_COOKIE = "wr_admin";
export const ADMIN_SESSION_SEC = 12 * 3600;
/** wrong tokens allowed per client address and window */
export const WRONG_TOKENS_MAX = 10;
export const WRONG_TOKENS_WINDOW_MS = 15 * 60_000;
const DEAD_SHOWN = 50;

export interface DeadLetter {
  id: string;
  channel: "sms" | "x";
  kind: string;
  /** masked number (SMS), null for X */
  to: string | null;
  deviceId: string | null;
  attempts: number;
  reason: string | null;
  /** false: Retry cannot help (a confirmation code) */
  retryable: boolean;
  createdAt: string;
  failedAt: string;
}

export interface ProviderHealth {
  channel: "sms" | "x" | "google";
  label: string;
  provider: string;
  configured: boolean;
  /** false: records what it would send (outbox) */
  sends: boolean;
  /** outcomes are recorded in the deliveries table (SMS, X) */
  tracked: boolean;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastFailureReason: string | null;
}

export interface AdminSummary {
  generatedAt: string;
  wearers: { total: number; verifiedPhone: number; xLinked: number; googleLinked?: number; /** connected (any status) against GOOGLE_USER_CAP */ googleCap?: { used: number; cap: number } };
  deliveriesLast24h: { channel: string; status: string; count: number }[];
  queue: { depth: number; oldestDueAgeSeconds: number };
  deadLetters: { total: number; latest: DeadLetter[] };
  budgets: { sms: { used: number; limit: number }; x: { used: number; limit: number } };
  providers: ProviderHealth[];
}

/** Provider messages may quote a number: only its last two digits are kept. */
export function scrubReason(reason: string | null): string | null {
  if (!reason) return reason;
  return reason.replace(/\+?\d(?:[\s().-]?\d){6,}/g, (m) => `•••${m.replace(/\D/g, "").slice(-2)}`).slice(0, 300);
}

const SUCCESS = ["sent", "delivered"];
const FAILURE = ["dead", "queued", "failed", "undelivered"];

async function providerHealth(deps: Deps): Promise<ProviderHealth[]> {
  const { db } = deps.store;
  const latest = async (channel: "sms" | "x", statuses: string[], failed: boolean) => {
    // one short index walk per status ((status, next_attempt_at)), the newest kept
    const rows = await Promise.all(
      statuses.map((status) => {
        let q = db
          .selectFrom("deliveries")
          .select(["updated_at", "sent_at", "error"])
          .where("status", "=", status)
          .where("channel", "=", channel)
          .orderBy("next_attempt_at", "desc")
          .limit(1);
        if (failed) q = q.where("error", "is not", null);
        return q.executeTakeFirst();
      }),
    );
    const found = rows.filter((r) => r !== undefined);
    const at = (r: (typeof found)[number]) => (failed ? r.updated_at : (r.sent_at ?? r.updated_at));
    return found.sort((a, b) => (at(a) < at(b) ? 1 : -1)).map((r) => ({ at: at(r), error: r.error }))[0];
  };
  const tracked = async (channel: "sms" | "x") => {
    const [ok, bad] = await Promise.all([latest(channel, SUCCESS, false), latest(channel, FAILURE, true)]);
    return { lastSuccessAt: ok?.at ?? null, lastFailureAt: bad?.at ?? null, lastFailureReason: scrubReason(bad?.error ?? null) };
  };
  const { config } = deps;
  const [sms, x] = await Promise.all([tracked("sms"), tracked("x")]);
  return [
    { channel: "sms", label: "SMS", provider: config.sms.provider, configured: true, sends: config.sms.provider !== "outbox", tracked: true, ...sms },
    { channel: "x", label: "X", provider: config.x.provider, configured: true, sends: config.x.provider !== "outbox", tracked: true, ...x },
    {
      channel: "google",
      label: "Google Health",
      provider: "google-health",
      configured: config.google.client !== undefined,
      sends: config.google.client !== undefined,
      tracked: false,
      lastSuccessAt: null,
      lastFailureAt: null,
      lastFailureReason: null,
    },
  ];
}

/** Everything the dashboard shows, as of the relay's clock. */
export async function adminSummary(deps: Deps): Promise<AdminSummary> {
  const { db } = deps.store;
  const now = deps.clock.now();
  const since = new Date(now.getTime() - 86_400_000).toISOString();
  const [wearers, xLinked, googleLinked, googleAll, last24h, queue, deadRows, smsUsed, xUsed, providers] = await Promise.all([
    db
      .selectFrom("devices")
      .select([(eb) => eb.fn.countAll().as("total"), (eb) => eb.fn.sum<number | string | null>("phone_verified").as("verified")])
      .executeTakeFirstOrThrow(),
    db.selectFrom("x_accounts").select((eb) => eb.fn.countAll().as("n")).where("status", "=", "linked").executeTakeFirstOrThrow(),
    db.selectFrom("google_accounts").select((eb) => eb.fn.countAll().as("n")).where("status", "=", "linked").executeTakeFirstOrThrow(),
    db.selectFrom("google_accounts").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow(),
    db
      .selectFrom("deliveries")
      .select(["channel", "status", (eb) => eb.fn.countAll().as("n")])
      .where("created_at", ">=", since)
      .groupBy(["channel", "status"])
      .execute(),
    queueState(db, now),
    db
      .selectFrom("deliveries")
      .select(["id", "channel", "kind", "to_number", "device_id", "attempts", "error", "created_at", "updated_at"])
      .where("status", "=", "dead")
      .orderBy("next_attempt_at", "desc")
      .orderBy("id", "desc")
      .limit(DEAD_SHOWN)
      .execute(),
    readCounter(db, budgetCounter(now)),
    readCounter(db, xBudgetCounter(now)),
    providerHealth(deps),
  ]);
  return {
    generatedAt: now.toISOString(),
    wearers: {
      total: Number(wearers.total),
      verifiedPhone: Number(wearers.verified ?? 0),
      xLinked: Number(xLinked.n),
      googleLinked: Number(googleLinked.n),
      ...(deps.config.google.userCap > 0 ? { googleCap: { used: Number(googleAll.n), cap: deps.config.google.userCap } } : {}),
    },
    deliveriesLast24h: last24h
      .map((r) => ({ channel: r.channel, status: r.status, count: Number(r.n) }))
      .sort((a, b) => (a.channel + a.status < b.channel + b.status ? -1 : 1)),
    queue: { depth: queue.depth, oldestDueAgeSeconds: queue.oldestDueAgeSeconds },
    deadLetters: {
      total: queue.dead,
      latest: deadRows
        .map((d) => ({
          id: d.id,
          channel: d.channel,
          kind: d.kind,
          to: d.to_number ? maskPhone(d.to_number) : null,
          deviceId: d.device_id,
          attempts: Number(d.attempts),
          reason: scrubReason(d.error),
          retryable: !NOT_RETRYABLE_KINDS.includes(d.kind),
          createdAt: d.created_at,
          failedAt: d.updated_at,
        }))
        .sort((a, b) => (a.failedAt < b.failedAt ? 1 : a.failedAt > b.failedAt ? -1 : 0)),
    },
    budgets: {
      sms: { used: smsUsed, limit: deps.config.sms.dailyBudget },
      x: { used: xUsed, limit: deps.config.x.dailyBudget },
    },
    providers,
  };
}

/** Kinds a retry cannot help: a confirmation code's text is scrubbed once it is no longer queued (the wearer asks a new code). */
export const NOT_RETRYABLE_KINDS = ["verification"];

/** A dead delivery goes back to the queue, due now, attempts reset. Only dead ones. */
export async function retryDeadLetter(deps: Deps, id: string): Promise<"queued" | "not_found" | "not_dead" | "not_retryable"> {
  const { db } = deps.store;
  const now = deps.clock.now().toISOString();
  const r = await db
    .updateTable("deliveries")
    .set({ status: "queued", attempts: 0, next_attempt_at: now, claimed_until: null, claimed_by: null, error: null, updated_at: now })
    .where("id", "=", id)
    .where("status", "=", "dead")
    .where("kind", "not in", NOT_RETRYABLE_KINDS)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) {
    const row = await db.selectFrom("deliveries").select(["status", "kind"]).where("id", "=", id).executeTakeFirst();
    if (!row) return "not_found";
    return row.status === "dead" ? "not_retryable" : "not_dead";
  }
  deps.log.info({ delivery: id }, "dead letter queued again by the operator");
  deps.onEnqueue?.();
  return "queued";
}

const asyncRoute =
  (fn: (req: Request, res: Response) => Promise<unknown>) =>
  (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

export function registerAdmin(app: Express, deps: Deps, o: { publicUrl?: () => string } = {}) {
  const { config, clock } = deps;
  const token = () => config.admin.token;
  const publicUrl = o.publicUrl ?? (() => defaultPublicUrl(config));
  const sessions = createSessionCodec({
    secret: config.secret,
    name: ADMIN_COOKIE,
    maxAgeSec: ADMIN_SESSION_SEC,
    secure: publicUrl().startsWith("https:"),
    path: "/admin",
    sameSite: "Strict",
    now: () => clock.now().getTime(),
  });
  const form = express.urlencoded({ extended: false, limit: "4kb", parameterLimit: 10 });
  // a session is tied to the token it was opened with: changing ADMIN_TOKEN ends every session
  const tokenTag = () => createHmac("sha256", config.secret).update("admin session:" + (token() ?? "")).digest("base64url").slice(0, 22);

  function tokenMatches(given: unknown): boolean {
    const want = token();
    if (!want || typeof given !== "string" || given.length === 0 || given.length > 1024) return false;
    return timingSafeEqual(digest(given), digest(want));
  }

  // Addresses that used up their wrong tries, until when (ms). The window itself lives in the shared
  // limiter; this remembers the answer so that the right token is refused too while an address is
  // locked out (otherwise guessing would go on, only the wrong guesses being told apart).
  const lockedUntil = new Map<string, number>();
  const address = (req: Request) => req.ip ?? "unknown";
  function lockedFor(req: Request): number | null {
    const until = lockedUntil.get(address(req));
    if (until === undefined) return null;
    const left = until - clock.now().getTime();
    if (left <= 0) {
      lockedUntil.delete(address(req));
      return null;
    }
    return Math.ceil(left / 1000);
  }
  /** records a wrong token; the seconds to wait when the address is now over its limit */
  async function wrongToken(req: Request): Promise<number | null> {
    const wait = await deps.limiter.take(`admin:${address(req)}`, WRONG_TOKENS_MAX, WRONG_TOKENS_WINDOW_MS);
    deps.log.warn({ ip: address(req), limited: wait !== null }, "operator: wrong token");
    if (wait !== null) {
      if (lockedUntil.size >= 10_000) lockedUntil.delete(lockedUntil.keys().next().value!);
      lockedUntil.set(address(req), clock.now().getTime() + wait * 1000);
    }
    return wait;
  }
  const limited = (wait: number) =>
    new Problem(429, "rate_limited", `Too many wrong operator tokens from this address; try again in ${wait} s.`, { retryAfterSec: wait });

  /** Bearer: checked here (a wrong one counts against the address). Otherwise the session cookie. */
  async function operator(req: Request): Promise<{ via: "bearer" } | { via: "session"; session: SessionData } | null> {
    const auth = req.headers.authorization;
    if (typeof auth === "string" && /^bearer /i.test(auth)) {
      const wait = lockedFor(req);
      if (wait !== null) throw limited(wait);
      if (tokenMatches(auth.slice(7).trim())) return { via: "bearer" };
      const w = await wrongToken(req);
      if (w !== null) throw limited(w);
      throw new Problem(401, "unauthorized", "Wrong operator token.");
    }
    const session = sessions.read(req);
    if (session && session.admin === true && session.tk === tokenTag()) return { via: "session", session };
    return null;
  }

  // ADMIN_TOKEN unset: the operator side does not exist
  app.use("/admin", (req: Request, res: Response, next: NextFunction) => {
    if (!token()) return next(new Problem(404, "not_found", "No such endpoint."));
    res.setHeader("Cache-Control", "no-store");
    next();
  });

  const sendPage = (res: Response, status: number, body: string) => res.status(status).type("html").send(body);
  /** browser routes answer with a page, not problem+json */
  const pageError = (res: Response, err: unknown) => {
    if (!(err instanceof Problem)) throw err;
    if (err.extra.retryAfterSec !== undefined) res.setHeader("Retry-After", String(err.extra.retryAfterSec));
    if (err.status === 401) return sendPage(res, 401, loginPage({ error: "That token is not right." }));
    if (err.status === 429) return sendPage(res, 429, loginPage({ error: `Too many wrong tokens from this address. Try again in ${Math.ceil(err.extra.retryAfterSec! / 60)} min.` }));
    return sendPage(res, err.status, messagePage("Not possible", err.detail));
  };

  app.get(
    "/admin",
    asyncRoute(async (req, res) => {
      let who;
      try {
        who = await operator(req);
      } catch (err) {
        return pageError(res, err);
      }
      if (!who) return sendPage(res, 401, loginPage({}));
      const csrf = who.via === "session" ? who.session.csrf : "";
      const summary = await adminSummary(deps);
      let notice: DashboardNotice | undefined;
      const retried = typeof req.query.retried === "string" ? req.query.retried : undefined;
      if (retried && /^[A-Za-z0-9_-]{1,64}$/.test(retried)) {
        const row = await deps.store.db.selectFrom("deliveries").select(["status", "kind", "channel"]).where("id", "=", retried).executeTakeFirst();
        if (row) notice = { kind: "ok", text: `Retried ${row.channel === "sms" ? "SMS" : "X"} ${row.kind} ${retried}: now ${row.status}.` };
      }
      sendPage(res, 200, dashboardPage(summary, { csrf, notice }));
    }),
  );

  app.post(
    "/admin/login",
    form,
    asyncRoute(async (req, res) => {
      const wait = lockedFor(req);
      if (wait !== null) return pageError(res, limited(wait));
      const given = (req.body as Record<string, unknown> | undefined)?.token;
      if (!tokenMatches(given)) {
        const w = await wrongToken(req);
        return pageError(res, w !== null ? limited(w) : new Problem(401, "unauthorized", "Wrong operator token."));
      }
      sessions.write(res, { csrf: randomBytes(18).toString("base64url"), admin: true, tk: tokenTag() });
      deps.log.info({ ip: address(req) }, "operator signed in");
      res.redirect(303, "/admin");
    }),
  );

  /** a signed-in browser posting its session's CSRF token */
  function browserSession(req: Request, res: Response): SessionData | null {
    const session = sessions.read(req);
    if (!session || session.admin !== true || session.tk !== tokenTag()) {
      sendPage(res, 401, loginPage({ error: "Your operator session has ended. Sign in again." }));
      return null;
    }
    if (!sessions.checkCsrf(session, (req.body as Record<string, unknown> | undefined)?.csrf)) {
      sendPage(res, 403, messagePage("Form expired", "This form is out of date. Reload the operator page and try again."));
      return null;
    }
    return session;
  }

  app.post(
    "/admin/logout",
    form,
    asyncRoute(async (req, res) => {
      if (!browserSession(req, res)) return;
      sessions.clear(res);
      res.redirect(303, "/admin");
    }),
  );

  app.post(
    "/admin/deliveries/:id/retry",
    form,
    asyncRoute(async (req, res) => {
      if (!browserSession(req, res)) return;
      const id = String(req.params.id);
      const result = await retryDeadLetter(deps, id);
      if (result === "not_found") return sendPage(res, 404, messagePage("Not found", "There is no such delivery (it may have been pruned)."));
      if (result === "not_dead") return sendPage(res, 409, messagePage("Not a dead letter", "Only dead letters can be retried; this one is queued, on its way or sent."));
      if (result === "not_retryable") return sendPage(res, 409, messagePage("Not retryable", "A confirmation code is not sent again: the wearer asks for a new one."));
      res.redirect(303, `/admin?retried=${encodeURIComponent(id)}#dead`);
    }),
  );

  /** JSON routes: problem+json on every error */
  const api = async (req: Request, bearerOnly: boolean) => {
    const who = await operator(req);
    if (!who || (bearerOnly && who.via !== "bearer")) throw new Problem(401, "unauthorized", "Send Authorization: Bearer <ADMIN_TOKEN>.");
  };

  app.get(
    "/admin/api/summary",
    asyncRoute(async (req, res) => {
      await api(req, false);
      res.json(await adminSummary(deps));
    }),
  );

  app.post(
    "/admin/api/deliveries/:id/retry",
    asyncRoute(async (req, res) => {
      await api(req, true);
      const id = String(req.params.id);
      const result = await retryDeadLetter(deps, id);
      if (result === "not_found") throw new Problem(404, "not_found", "There is no such delivery.");
      if (result === "not_dead") throw new Problem(409, "not_dead", "Only dead letters can be retried.");
      if (result === "not_retryable") throw new Problem(409, "not_retryable", "A confirmation code is not sent again: the wearer asks for a new one.");
      res.json({ id, status: "queued" });
    }),
  );
}
