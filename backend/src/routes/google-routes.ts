// Connecting Google Health: POST /v1/google/link, DELETE /v1/me/google, and the browser side
// (/google/start -> Google's consent page -> /google/callback, which shows what happened).
import type { Express, NextFunction, Request, RequestHandler, Response } from "express";
import type { Deps } from "../domain/deps.ts";
import type { Device } from "../domain/devices.ts";
import {
  createGoogleLinkFlow,
  finishGoogleLinkFlow,
  startGoogleLinkFlow,
  unlinkGoogle,
  type GoogleFlowFailure,
  type GoogleGranted,
  type GoogleLinkResult,
} from "../domain/google-accounts.ts";
import { html, page, type Html } from "../http/html.ts";

type Authed = (fn: (req: Request, res: Response, device: Device) => Promise<unknown>) => RequestHandler[];

const asyncRoute =
  (fn: (req: Request, res: Response) => Promise<unknown>) =>
  (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);

type PageLang = "en-US" | "ja-JP";

interface Text {
  title: string;
  linked: string;
  reads: string;
  parts: Record<keyof GoogleGranted, string>;
  notGranted: (parts: string) => string;
  off: Record<keyof GoogleGranted, string>;
  timeZone: (tz: string) => string;
  failures: Record<GoogleFlowFailure, string>;
  close: string;
  continue: string;
}

export const GOOGLE_PAGE_TEXT: Record<PageLang, Text> = {
  "en-US": {
    title: "Google Health",
    linked: "Google Health is connected.",
    reads: "WristRelay may read:",
    parts: { activity: "activity (steps, distance, calories, floors, active minutes)", sleep: "sleep", settings: "devices, battery and time zone" },
    notGranted: (parts) => `Not allowed: ${parts}.`,
    off: {
      activity: "Activity summaries from Google Health stay off.",
      sleep: "Sleep posts from Google Health stay off.",
      settings: "Battery alerts from Google Health stay off.",
    },
    timeZone: (tz) => `Your time zone is now ${tz}, as in your Google account.`,
    failures: {
      unknown: "This link is not known. Start again from the WristRelay settings.",
      expired: "This link has expired (links last 10 minutes). Start again from the WristRelay settings.",
      replayed: "This link was already used. Start again from the WristRelay settings.",
      denied: "You did not allow WristRelay to read your Google Health data. Nothing was connected.",
      not_configured: "This relay has no Google set up, so Google Health cannot be connected here.",
      exchange_failed: "Google did not confirm the connection. Nothing was connected; please try again.",
      nothing_granted: "You did not tick any of the permissions WristRelay asked for. Nothing was connected.",
    },
    close: "You can close this page.",
    continue: "Continue",
  },
  "ja-JP": {
    title: "Google Health",
    linked: "Google Healthと連携しました。",
    reads: "WristRelayが読み取れるデータ:",
    parts: { activity: "アクティビティ(歩数、距離、カロリー、階数、アクティブな時間)", sleep: "睡眠", settings: "デバイス、電池、タイムゾーン" },
    notGranted: (parts) => `許可されていないデータ: ${parts}。`,
    off: {
      activity: "Google Healthからのアクティビティのまとめはオフのままです。",
      sleep: "Google Healthからの睡眠の投稿はオフのままです。",
      settings: "Google Healthからの電池のお知らせはオフのままです。",
    },
    timeZone: (tz) => `タイムゾーンをGoogleアカウントと同じ${tz}にしました。`,
    failures: {
      unknown: "このリンクは無効です。WristRelayの設定からやり直してください。",
      expired: "このリンクは期限切れです(有効期間は10分)。WristRelayの設定からやり直してください。",
      replayed: "このリンクは使用済みです。WristRelayの設定からやり直してください。",
      denied: "Google Healthのデータの読み取りが許可されなかったため、連携していません。",
      not_configured: "このリレーにはGoogleが設定されていないため、Google Healthと連携できません。",
      exchange_failed: "Googleで連携を確認できませんでした。連携していません。もう一度お試しください。",
      nothing_granted: "WristRelayが求めた権限がどれも選ばれなかったため、連携していません。",
    },
    close: "このページは閉じてかまいません。",
    continue: "続ける",
  },
};

const langOf = (language: string | undefined): PageLang => (language === "ja-JP" ? "ja-JP" : "en-US");

function send(res: Response, status: number, language: string, body: Html) {
  const l = langOf(language);
  res
    .status(status)
    .set("Cache-Control", "no-store")
    .type("html")
    .send(page({ lang: l === "ja-JP" ? "ja" : "en", title: `WristRelay · ${GOOGLE_PAGE_TEXT[l].title}`, body }));
}

const next = (t: Text, returnTo: string | undefined) =>
  returnTo ? html`<p><a class="button" id="continue" href="${returnTo}">${t.continue}</a></p>` : html`<p class="muted">${t.close}</p>`;

function failurePage(res: Response, r: { failure: GoogleFlowFailure; language: string; returnTo?: string }) {
  const t = GOOGLE_PAGE_TEXT[langOf(r.language)];
  const status = r.failure === "not_configured" ? 404 : r.failure === "exchange_failed" ? 502 : 400;
  send(res, status, r.language, html`<h1>${t.title}</h1><p class="error" role="alert" data-failure="${r.failure}">${t.failures[r.failure]}</p>${next(t, r.returnTo)}`);
}

function linkedPage(res: Response, r: Extract<GoogleLinkResult, { ok: true }>) {
  const t = GOOGLE_PAGE_TEXT[langOf(r.language)];
  const keys = (["activity", "sleep", "settings"] as const);
  const yes = keys.filter((k) => r.granted[k]);
  const no = keys.filter((k) => !r.granted[k]);
  const sep = langOf(r.language) === "ja-JP" ? "、" : ", ";
  send(
    res,
    200,
    r.language,
    html`<h1>${t.title}</h1>
<p class="ok" role="status" data-outcome="linked">${t.linked}</p>
<p>${t.reads}</p><ul id="granted">${yes.map((k) => html`<li data-scope="${k}">${t.parts[k]}</li>`)}</ul>
${no.length ? html`<p id="not-granted" class="error">${t.notGranted(no.map((k) => t.parts[k]).join(sep))}</p><ul>${no.map((k) => html`<li data-off="${k}">${t.off[k]}</li>`)}</ul>` : ""}
${r.timeZoneAdopted && r.timeZone ? html`<p id="time-zone">${t.timeZone(r.timeZone)}</p>` : ""}
${next(t, r.returnTo)}`,
  );
}

export function registerGoogleRoutes(app: Express, deps: Deps, o: { authed: Authed; publicUrl: () => string }) {
  const { authed } = o;
  const callbackUrl = () => o.publicUrl() + "/google/callback";
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);

  app.post(
    "/v1/google/link",
    ...authed(async (_req, res, device) => {
      res.json({ url: await createGoogleLinkFlow({ ...deps, publicUrl: o.publicUrl }, device) });
    }),
  );
  app.delete(
    "/v1/me/google",
    // works without a Google client too: forgetting the tokens is always possible
    ...authed(async (_req, res, device) => {
      await unlinkGoogle(deps, device.id);
      res.status(204).end();
    }),
  );
  app.get(
    "/google/start",
    asyncRoute(async (req, res) => {
      const r = await startGoogleLinkFlow(deps, str(req.query.flow) ?? "", callbackUrl());
      if ("url" in r) return res.set("Cache-Control", "no-store").redirect(302, r.url);
      failurePage(res, r);
    }),
  );
  app.get(
    "/google/callback",
    asyncRoute(async (req, res) => {
      const r = await finishGoogleLinkFlow(deps, { state: str(req.query.state), code: str(req.query.code), error: str(req.query.error) }, callbackUrl());
      if (r.ok) return linkedPage(res, r);
      failurePage(res, r);
    }),
  );
}
