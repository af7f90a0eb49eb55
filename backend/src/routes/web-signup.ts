// The web sign-up (GET /) for wearers without the clock face: connect Google Health, confirm a mobile
// number, choose alerts and posts, link X, delete everything. Server-rendered, works without
// JavaScript; /static/signup.js only fills the time zone from the browser. Google and X are left
// for in the same tab; their result pages lead back here (returnTo "/").
//
// The wearer is a devices row (model "web") made on the first form post; its id lives in a signed,
// HttpOnly session cookie and its bearer token is thrown away. Every form carries the session's
// CSRF token and answers 303 back to / with a message kept in the session (post/redirect/get).
// Leaving for Google or X is always a plain link to a relay URL that redirects: CSP form-action
// 'self' stops a form submission from being redirected to another site.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { DEFAULTS, THRESHOLD_CHOICES } from "../../../common/settings.ts";
import type { Deps } from "../domain/deps.ts";
import { eraseDevice, meView, registerDevice, updateMe, type Device } from "../domain/devices.ts";
import { checkGoogleUserCap, createGoogleLinkFlow, googleClientOf, type googleView } from "../domain/google-accounts.ts";
import { confirmVerification, MAX_CODE_TRIES, removePhone, startVerification } from "../domain/phone-verification.ts";
import { isValidTimeZone } from "../domain/preferences.ts";
import { createLinkFlow, unlinkX, xClientOf } from "../domain/x-accounts.ts";
import { html, page, raw, type Html } from "../http/html.ts";
import { Problem } from "../http/problem.ts";
import { MePatch, PhoneBody, VerifyBody } from "../http/schemas.ts";
import { createSessionCodec, type SessionData } from "../http/session.ts";
import { TEXT, type MessageArgs, type MessageKey, type PageLang, type PageText } from "./web-signup-text.ts";

export const SIGNUP_COOKIE = "wr_signup";
/** the cookie is the web wearer's only key to their record: long-lived, renewed on every visit */
export const SIGNUP_SESSION_DAYS = 180;

const SCRIPT_PATH = join(import.meta.dirname ?? __dirname, "..", "..", "static", "signup.js");

type Section = "google" | "phone" | "x" | "prefs" | "erase";
interface Flash extends MessageArgs {
  kind: "ok" | "error";
  key: MessageKey;
  section: Section;
}

interface Ctx {
  req: Request;
  s: SessionData;
  lang: PageLang;
  device: Device | null;
  body: Record<string, unknown>;
  flash(kind: Flash["kind"], key: MessageKey, args?: MessageArgs): void;
}

const one = (v: unknown): string => (typeof v === "string" ? v : Array.isArray(v) && typeof v[0] === "string" ? v[0] : "");
const all = (v: unknown): string[] => (typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

const isLang = (v: unknown): v is PageLang => v === "en" || v === "ja";

/** the first of en/ja in Accept-Language by preference (q), English when neither is there */
export function acceptLanguage(header: string | undefined): PageLang {
  if (!header) return "en";
  const tags = header
    .split(",")
    .slice(0, 20)
    .map((part, i) => {
      const [tag, ...params] = part.trim().toLowerCase().split(";");
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find(Boolean);
      return { tag: tag!.trim(), q: q ? Number(q[1]) : 1, i };
    })
    .filter((t) => t.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const t of tags) {
    if (t.tag === "ja" || t.tag.startsWith("ja-")) return "ja";
    if (t.tag === "en" || t.tag.startsWith("en-")) return "en";
  }
  return "en";
}

const deviceLanguage = (lang: PageLang) => (lang === "ja" ? "ja-JP" : "en-US");

function readFlash(s: SessionData): Flash[] {
  if (typeof s.flash !== "string") return [];
  try {
    const list = JSON.parse(s.flash) as Flash[];
    return Array.isArray(list) ? list.filter((f) => f && typeof f.key === "string" && f.key in TEXT.en.messages) : [];
  } catch {
    return [];
  }
}

const STYLE = raw(`<style>
nav{margin-top:.25rem}nav h1{margin:.5rem 0}.intro{margin-top:0}
.flash{padding:.5rem .75rem;border-radius:.4rem;border:1px solid currentColor;margin:.5rem 0}
.status{font-weight:600}form{margin:.75rem 0}fieldset{border:0;padding:0;margin:.75rem 0}legend{font-weight:600;padding:0}
.choices{display:flex;flex-wrap:wrap;gap:.25rem 1.25rem}.check{display:flex;gap:.5rem;align-items:center;margin:.4rem 0}
.row{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}.row label{margin-top:0}
input[type=tel],input[type=text],input[inputmode=numeric]{width:100%}select{max-width:100%}
button.secondary,.button.secondary{background:transparent;color:var(--accent);border:1px solid var(--accent)}
button.danger{background:var(--err)}details{margin:.5rem 0}summary{cursor:pointer;color:var(--accent)}small{display:block}
</style>
<script src="/static/signup.js" defer></script>
<link rel="icon" href="data:,">`);

export function registerWebSignup(app: Express, deps: Deps) {
  const { config, store } = deps;
  const sessions = createSessionCodec({
    secret: config.secret,
    name: SIGNUP_COOKIE,
    maxAgeSec: SIGNUP_SESSION_DAYS * 86_400,
    secure: (config.publicUrl ?? "").startsWith("https:"),
    now: () => deps.clock.now().getTime(),
  });
  const urlencoded = express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 100 });
  const googleOn = () => !!googleClientOf(deps);
  let script: string | undefined;

  const asyncRoute =
    (fn: (req: Request, res: Response) => Promise<unknown>) =>
    (req: Request, res: Response, next: NextFunction) =>
      fn(req, res).catch(next);

  async function loadDevice(id: unknown): Promise<Device | null> {
    if (typeof id !== "string" || id.length === 0 || id.length > 64) return null;
    return (await store.db.selectFrom("devices").selectAll().where("id", "=", id).executeTakeFirst()) ?? null;
  }

  const langOf = (req: Request, s: SessionData | null): PageLang => (s && isLang(s.lang) ? s.lang : acceptLanguage(req.headers["accept-language"]));

  function send(res: Response, status: number, lang: PageLang, title: string, body: Html) {
    res.status(status).type("html").set("Cache-Control", "no-store").send(page({ lang, title, body, head: STYLE }));
  }

  function sendNotice(res: Response, status: number, lang: PageLang, which: "forbidden" | "error") {
    const t = TEXT[lang][which];
    send(res, status, lang, t.heading, html`<h1>${t.heading}</h1><p>${t.text}</p><p><a class="button" href="/">${t.back}</a></p>`);
  }

  /** the form parser, answering a readable page instead of problem+json when the body cannot be read */
  const readForm = (req: Request, res: Response, next: NextFunction) =>
    urlencoded(req, res, (err?: unknown) => {
      if (!err) return next();
      const status = (err as { status?: number }).status;
      sendNotice(res, typeof status === "number" && status >= 400 && status < 500 ? status : 400, langOf(req, sessions.read(req)), "error");
    });

  /** the wearer of this session, made now when there is none yet (the first form post) */
  async function ensureDevice(ctx: Ctx, timezone?: string): Promise<Device> {
    if (ctx.device) return ctx.device;
    const fromBrowser = one(ctx.body.tz).trim();
    const guessed = fromBrowser.length <= 64 && isValidTimeZone(fromBrowser) && fromBrowser !== "" ? fromBrowser : undefined;
    const tz = timezone ?? guessed ?? "UTC";
    let deviceId: string;
    try {
      // the bearer token is not needed: the session cookie is this wearer's key
      ({ deviceId } = await registerDevice(deps, ctx.req.ip ?? "unknown", { timezone: tz, language: deviceLanguage(ctx.lang), model: "web" }));
    } catch (err) {
      if (err instanceof Problem && err.code === "rate_limited") throw new Problem(429, "registration_limited", err.detail, err.extra);
      throw err;
    }
    ctx.s.device = deviceId;
    ctx.device = await loadDevice(deviceId);
    if (!ctx.device) throw new Error("the new wearer record is missing");
    return ctx.device;
  }

  function messageFor(p: Problem): { key: MessageKey; args: MessageArgs } {
    switch (p.code) {
      case "invalid_phone":
      case "number_type_not_allowed":
      case "opted_out":
      case "sms_unavailable":
      case "no_code_pending":
      case "too_many_attempts":
      case "code_expired":
      case "google_not_configured":
      case "google_user_cap":
      case "x_not_configured":
        return { key: p.code, args: {} };
      case "country_not_allowed":
        return { key: p.code, args: { v: config.sms.countries.join(", ") } };
      case "rate_limited":
      case "registration_limited":
        return { key: p.code, args: { n: p.extra.retryAfterSec } };
      default:
        return { key: "failed", args: {} };
    }
  }

  /** A form post: CSRF first, then the action; domain refusals become messages; 303 back to the page. */
  function post(path: string, section: Section, action: (ctx: Ctx) => Promise<void>) {
    app.post(
      path,
      readForm,
      asyncRoute(async (req, res) => {
        const s = sessions.read(req);
        const body = (req.body && typeof req.body === "object" ? req.body : {}) as Record<string, unknown>;
        if (!s || !sessions.checkCsrf(s, body._csrf)) return sendNotice(res, 403, langOf(req, s), "forbidden");
        const flashes = readFlash(s);
        const ctx: Ctx = {
          req,
          s,
          lang: langOf(req, s),
          device: await loadDevice(s.device),
          body,
          flash: (kind, key, args = {}) => {
            flashes.push({ kind, key, section, ...args });
          },
        };
        if (!ctx.device) delete s.device;
        try {
          await action(ctx);
        } catch (err) {
          if (!(err instanceof Problem)) {
            req.log.error({ err }, "web sign-up: unexpected error");
            sessions.write(res, s); // keep a wearer made before the failure
            return sendNotice(res, 500, ctx.lang, "error");
          }
          const m = messageFor(err);
          ctx.flash("error", m.key, m.args);
        }
        if (flashes.length) s.flash = JSON.stringify(flashes.slice(-8));
        else delete s.flash;
        sessions.write(res, s);
        res.set("Cache-Control", "no-store").redirect(303, `/#${section}`);
      }),
    );
  }

  // --- the page ---
  app.get(
    "/",
    asyncRoute(async (req, res) => {
      const had = sessions.read(req);
      const s = had ?? sessions.readOrCreate(req);
      const asked = one(req.query.lang);
      if (isLang(asked)) s.lang = asked;
      const lang = langOf(req, s);
      const flashes = readFlash(s);
      delete s.flash;
      const device = await loadDevice(s.device);
      if (!device) delete s.device;
      const me = device ? await meView(deps, device) : null;
      // (linking Google also takes the account's time zone for a web wearer: domain/google-accounts.ts)
      const google = googleOn() && me ? me.google : undefined;
      const erased = !had?.device && one(req.query.done) === "erased";
      sessions.write(res, s);
      const t = TEXT[lang];
      send(res, 200, lang, t.title, renderPage(t, lang, { csrf: s.csrf, device, me, google, flashes, erased }));
    }),
  );

  app.get("/static/signup.js", (_req, res) => {
    script ??= readFileSync(SCRIPT_PATH, "utf8");
    res.type("text/javascript").set("Cache-Control", "public, max-age=3600").send(script);
  });

  // --- leaving for Google or X: plain links, so the redirect is not a form submission's ---
  app.get(
    "/signup/google",
    asyncRoute(async (req, res) => {
      const s = sessions.read(req);
      const device = await loadDevice(s?.device);
      if (!googleOn() || !device) return res.set("Cache-Control", "no-store").redirect(303, "/#google");
      res.set("Cache-Control", "no-store").redirect(302, await createGoogleLinkFlow(deps, device, { returnTo: "/" }));
    }),
  );
  app.get(
    "/signup/x",
    asyncRoute(async (req, res) => {
      const s = sessions.read(req);
      const device = await loadDevice(s?.device);
      if (!xClientOf(deps) || !device) return res.set("Cache-Control", "no-store").redirect(303, "/#x");
      // same tab: the result page's Continue comes back here, which then shows X linked
      const flow = await createLinkFlow(deps, device, { returnTo: "/" });
      res.set("Cache-Control", "no-store").redirect(302, `/x/start?flow=${encodeURIComponent(flow)}`);
    }),
  );

  // --- the forms ---
  post("/signup/google", "google", async (ctx) => {
    if (!googleOn()) throw new Problem(409, "google_not_configured", "Google Health is not set up on this relay.");
    await checkGoogleUserCap(deps, await ensureDevice(ctx));
    ctx.flash("ok", "google_continue");
  });

  post("/signup/phone", "phone", async (ctx) => {
    // "send a new code" posts again=1 and no number: the number waiting for confirmation
    const again = one(ctx.body.again) === "1" && ctx.device?.phone_number && ctx.device.phone_verified !== 1;
    const input = again ? { number: ctx.device!.phone_number! } : { number: one(ctx.body.number).trim(), country: one(ctx.body.country) || undefined };
    const parsed = PhoneBody.safeParse(input);
    if (!parsed.success) throw new Problem(422, "invalid_phone", "not a phone number");
    const device = await ensureDevice(ctx);
    const r = await startVerification(deps, device, parsed.data);
    ctx.flash("ok", r.verified ? "phone_verified" : "code_sent", { v: r.masked });
  });

  post("/signup/code", "phone", async (ctx) => {
    const parsed = VerifyBody.safeParse({ code: one(ctx.body.code) });
    if (!parsed.success) return ctx.flash("error", "code_format");
    if (!ctx.device) throw new Problem(409, "no_code_pending", "no wearer yet");
    try {
      const r = await confirmVerification(deps, ctx.device, parsed.data.code);
      ctx.flash("ok", "phone_verified", { v: r.masked });
    } catch (err) {
      if (!(err instanceof Problem) || err.code !== "code_mismatch") throw err;
      const row = await store.db.selectFrom("codes").select("attempts").where("device_id", "=", ctx.device.id).executeTakeFirst();
      ctx.flash("error", "code_mismatch", { n: row ? Math.max(0, MAX_CODE_TRIES - row.attempts) : 0 });
    }
  });

  post("/signup/phone/remove", "phone", async (ctx) => {
    if (!ctx.device) return;
    await removePhone(deps, ctx.device);
    ctx.flash("ok", "phone_removed");
  });

  post("/signup/preferences", "prefs", async (ctx) => {
    const b = ctx.body;
    // the field as typed (or filled by the script), else the browser's guess; neither: unchanged
    const timezone = one(b.timezone).trim() || one(b.tz).trim() || undefined;
    const patch = {
      timezone,
      language: one(b.language),
      preferences: {
        lowBattery: all(b.lowBattery).map((v) => (/^\d{1,3}$/.test(v) ? Number(v) : NaN)),
        quietHours: one(b.quiet) === "on" ? { start: one(b.quietStart), end: one(b.quietEnd) } : null,
        summaryTime: one(b.summaryTime),
        postActivity: one(b.postActivity) === "on",
        postSleep: one(b.postSleep) === "on",
        sms: one(b.sms) === "on",
      },
    };
    const parsed = MePatch.safeParse(patch);
    if (!parsed.success) {
      const keys = new Set<MessageKey>();
      for (const issue of parsed.error.issues) {
        const [top, field] = issue.path;
        if (top === "timezone") keys.add("timezone_invalid");
        else if (top === "language") keys.add("language_invalid");
        else if (field === "lowBattery") keys.add("thresholds_invalid");
        else if (field === "quietHours") keys.add("quiet_hours_invalid");
        else if (field === "summaryTime") keys.add("summary_time_invalid");
        else keys.add("failed");
      }
      for (const key of keys) ctx.flash("error", key, key === "timezone_invalid" ? { v: (timezone ?? "").slice(0, 64) } : {});
      return;
    }
    const device = await ensureDevice(ctx, parsed.data.timezone);
    const before = device.language;
    await updateMe(deps, device, parsed.data);
    // the page follows the language chosen for texts and posts
    if (parsed.data.language && parsed.data.language !== before) ctx.s.lang = parsed.data.language === "ja-JP" ? "ja" : "en";
    ctx.flash("ok", "saved");
  });

  post("/signup/x", "x", async (ctx) => {
    if (!xClientOf(deps)) throw new Problem(409, "x_not_configured", "X is not set up on this relay.");
    await ensureDevice(ctx);
    ctx.flash("ok", "x_continue");
  });

  post("/signup/x/unlink", "x", async (ctx) => {
    if (!ctx.device) return;
    await unlinkX(deps, ctx.device.id);
    ctx.flash("ok", "x_unlinked");
  });

  app.post(
    "/signup/erase",
    readForm,
    asyncRoute(async (req, res) => {
      const s = sessions.read(req);
      const body = (req.body && typeof req.body === "object" ? req.body : {}) as Record<string, unknown>;
      if (!s || !sessions.checkCsrf(s, body._csrf)) return sendNotice(res, 403, langOf(req, s), "forbidden");
      if (one(body.confirm) !== "on") {
        s.flash = JSON.stringify([...readFlash(s), { kind: "error", key: "erase_confirm", section: "erase" } satisfies Flash]);
        sessions.write(res, s);
        return res.set("Cache-Control", "no-store").redirect(303, "/#erase");
      }
      const device = await loadDevice(s.device);
      if (device) await eraseDevice(deps, device);
      sessions.clear(res);
      res.set("Cache-Control", "no-store").redirect(303, `/?done=erased${isLang(s.lang) ? `&lang=${s.lang}` : ""}`);
    }),
  );

  // --- rendering ---
  interface View {
    csrf: string;
    device: Device | null;
    me: Awaited<ReturnType<typeof meView>> | null;
    google: Awaited<ReturnType<typeof googleView>> | undefined;
    flashes: Flash[];
    erased: boolean;
  }

  function renderPage(t: PageText, lang: PageLang, v: View): Html {
    const form = (action: string, inner: Html | Html[], attrs?: Html) =>
      html`<form method="post" action="${action}"${attrs}><input type="hidden" name="_csrf" value="${v.csrf}"><input type="hidden" name="tz" value="">${inner}</form>`;
    const flashes = (section: Section) =>
      v.flashes
        .filter((f) => f.section === section)
        .map((f) =>
          f.kind === "ok"
            ? html`<p class="flash ok" role="status">${t.messages[f.key](f)}</p>`
            : html`<p class="flash error" role="alert">${t.messages[f.key](f)}</p>`,
        );
    const prefs = v.me?.preferences;
    const regions = new Intl.DisplayNames([lang], { type: "region" });
    const countries = config.sms.countries;
    const defaultCountry = countries.includes(lang === "ja" ? "JP" : "US") ? (lang === "ja" ? "JP" : "US") : countries[0];

    // 1. Google Health
    let googleBody: Html;
    if (!googleOn()) googleBody = html`<p class="muted">${t.google.notConfigured}</p>`;
    else if (v.google?.linked && v.google.status !== "broken") {
      const g = v.google.granted;
      const scopes = g ? (["activity", "sleep", "settings"] as const).filter((k) => g[k]).map((k) => t.google.scopes[k]) : [];
      googleBody = html`<p class="status ok">✓ ${t.google.connected}</p>${scopes.length ? html`<p class="muted">${t.google.granted} ${scopes.join(t.google.separator)}</p>` : ""}`;
    } else {
      const broken = v.google?.status === "broken";
      googleBody = html`<p>${broken ? html`<span class="error">${t.google.broken}</span>` : t.google.why}</p>${
        v.device
          ? html`<p><a class="button" href="/signup/google">${broken ? t.google.reconnect : v.flashes.some((f) => f.key === "google_continue") ? t.google.continueTo : t.google.connect}</a></p>`
          : form("/signup/google", html`<button type="submit">${t.google.connect}</button>`)
      }`;
    }

    // 2. the mobile number
    const numberForm = (label: string) =>
      form(
        "/signup/phone",
        html`<label for="number">${t.phone.number}</label><input id="number" name="number" type="tel" autocomplete="tel" maxlength="32" required>
<small class="muted">${t.phone.numberHint}</small>
<label for="country">${t.phone.country}</label><select id="country" name="country">${countries.map(
          (c) => html`<option value="${c}"${c === defaultCountry ? raw(" selected") : ""}>${regions.of(c) ?? c} (${c})</option>`,
        )}</select>
<p><button type="submit">${label}</button></p>`,
      );
    const phone = v.me?.phone;
    let phoneBody: Html;
    if (!phone) phoneBody = html`<p>${t.phone.why}</p>${numberForm(t.phone.send)}`;
    else if (!phone.verified)
      phoneBody = html`<p class="status">${t.phone.pending(phone.masked)}</p>
${form("/signup/code", html`<label for="code">${t.phone.code}</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="16" required><p><button type="submit">${t.phone.confirm}</button></p>`)}
${form("/signup/phone", html`<input type="hidden" name="again" value="1"><button type="submit" class="secondary">${t.phone.resend}</button>`)}
<details><summary>${t.phone.change}</summary>${numberForm(t.phone.send)}</details>
${form("/signup/phone/remove", html`<button type="submit" class="secondary">${t.phone.remove}</button>`)}`;
    else
      phoneBody = html`<p class="status ok">✓ ${t.phone.verified(phone.masked)}</p>${phone.optedOut ? html`<p class="error">${t.phone.optedOut}</p>` : ""}
<details><summary>${t.phone.change}</summary>${numberForm(t.phone.send)}</details>
${form("/signup/phone/remove", html`<button type="submit" class="secondary">${t.phone.remove}</button>`)}`;

    // 3. X
    const x = v.me?.x;
    let xBody: Html;
    const xClient = xClientOf(deps);
    // X_PROVIDER=outbox: linking is offered as with X (against the relay's stand-in consent page), said plainly
    const outboxNote = xClient?.name === "x" ? raw("") : html`<p class="muted">${t.x.outbox}</p>`;
    if (!xClient) xBody = html`<p class="muted">${t.messages.x_not_configured({})}</p>`;
    else if (x?.linked && x.username)
      xBody = html`${outboxNote}<p class="status ok">✓ ${t.x.linked(x.username)}</p>${form("/signup/x/unlink", html`<button type="submit" class="secondary">${t.x.unlink}</button>`)}`;
    else {
      const status = x?.status === "expired" && x.username ? html`<p class="error">${t.x.expired(x.username)}</p>` : html`<p>${t.x.notLinked}</p>`;
      xBody = v.device
        ? html`${outboxNote}${status}<p><a class="button" href="/signup/x">${t.x.link}</a></p><small class="muted">${t.x.linkNote}</small>`
        : html`${outboxNote}${status}${form("/signup/x", html`<button type="submit">${t.x.link}</button>`)}`;
    }

    // 4. alerts and posts
    const thresholds = prefs?.lowBattery ?? DEFAULTS.thresholds;
    const choices = [...new Set([...THRESHOLD_CHOICES, ...thresholds])].sort((a, b) => b - a);
    const quiet = prefs ? prefs.quietHours : DEFAULTS.quietHours;
    const check = (name: string, on: boolean, label: string) =>
      html`<label class="check"><input type="checkbox" name="${name}"${on ? raw(" checked") : ""}> ${label}</label>`;
    const language = v.device?.language ?? deviceLanguage(lang);
    const prefsBody = form(
      "/signup/preferences",
      html`<fieldset><legend>${t.prefs.alerts}</legend>
${check("sms", prefs?.sms ?? DEFAULTS.sms, t.prefs.sms)}
<p>${t.prefs.thresholds}<small class="muted">${t.prefs.thresholdsHint}</small></p>
<div class="choices">${choices.map(
        (c) => html`<label class="check"><input type="checkbox" name="lowBattery" value="${c}"${thresholds.includes(c) ? raw(" checked") : ""}> ${c}%</label>`,
      )}</div>
${check("quiet", !!quiet, t.prefs.quiet)}
<div class="row"><div><label for="quietStart">${t.prefs.quietFrom}</label><input id="quietStart" name="quietStart" type="time" value="${quiet?.start ?? DEFAULTS.quietStart}"></div>
<div><label for="quietEnd">${t.prefs.quietTo}</label><input id="quietEnd" name="quietEnd" type="time" value="${quiet?.end ?? DEFAULTS.quietEnd}"></div></div>
</fieldset>
<fieldset><legend>${t.prefs.posts}</legend>
${check("postActivity", prefs?.postActivity ?? DEFAULTS.postActivity, t.prefs.postActivity)}
${check("postSleep", prefs?.postSleep ?? DEFAULTS.postSleep, t.prefs.postSleep)}
<label for="summaryTime">${t.prefs.summaryTime}</label><input id="summaryTime" name="summaryTime" type="time" value="${prefs?.summaryTime ?? DEFAULTS.summaryTime}">
</fieldset>
<fieldset>
<label for="language">${t.prefs.language}</label><select id="language" name="language">${(["en-US", "ja-JP"] as const).map(
        (l) => html`<option value="${l}"${l === language ? raw(" selected") : ""}>${t.languages[l]}</option>`,
      )}</select>
<label for="timezone">${t.prefs.timezone}</label><input id="timezone" name="timezone" type="text" maxlength="64" autocomplete="off" spellcheck="false" data-tz-fill value="${v.device?.timezone ?? ""}">
<small class="muted">${t.prefs.timezoneHint}</small>
</fieldset>
<p><button type="submit">${t.prefs.save}</button></p>`,
    );

    // erasing
    const eraseBody = v.device
      ? html`<section id="erase"><h2>${t.erase.heading}</h2>${flashes("erase")}<p class="muted">${t.erase.why}</p>${form(
          "/signup/erase",
          html`<label class="check"><input type="checkbox" name="confirm" required> ${t.erase.confirm}</label><p><button type="submit" class="danger">${t.erase.button}</button></p>`,
        )}</section>`
      : "";

    return html`<nav><h1>WristRelay</h1><a href="/?lang=${t.switchTo.lang}" hreflang="${t.switchTo.lang}" lang="${t.switchTo.lang}">${t.switchTo.label}</a></nav>
<p class="intro">${t.intro}</p>
${v.erased ? html`<p class="flash ok" role="status">${t.messages.erased({})}</p>` : ""}
${v.device ? "" : html`<p class="muted">${t.notSignedUp}</p>`}
<section id="google"><h2>${t.google.heading}</h2>${flashes("google")}${googleBody}</section>
<section id="phone"><h2>${t.phone.heading}</h2>${flashes("phone")}${phoneBody}</section>
<section id="x"><h2>${t.x.heading}</h2>${flashes("x")}${xBody}</section>
<section id="prefs"><h2>${t.prefs.heading}</h2>${flashes("prefs")}${prefsBody}</section>
${eraseBody}`;
  }
}

