// Daily posts on X: summaries, their preview, and linking the wearer's X account.
import { createHash } from "node:crypto";
import type { Express, NextFunction, Request, RequestHandler, Response } from "express";
import type { Deps } from "../domain/deps.ts";
import type { Device } from "../domain/devices.ts";
import { previewSummary, recordSummary } from "../domain/summaries.ts";
import { createLinkFlow, finishLinkFlow, startLinkFlow, unlinkX, xClientOf, type FlowFailure } from "../domain/x-accounts.ts";
import { html, page } from "../http/html.ts";
import { Problem } from "../http/problem.ts";
import { PreviewQuery, SummaryBody } from "../http/schemas.ts";
import { parse } from "../http/validate.ts";

type Authed = (fn: (req: Request, res: Response, device: Device) => Promise<unknown>) => RequestHandler[];

const asyncRoute =
  (fn: (req: Request, res: Response) => Promise<unknown>) =>
  (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);

type Lang = "en-US" | "ja-JP";

const PAGES: Record<Lang, { title: string; linked: (name: string) => string; notLinked: string; failures: Record<FlowFailure, string>; back: string; continue: string }> = {
  "en-US": {
    title: "WristRelay: X account",
    linked: (name) => `Linked as @${name}`,
    notLinked: "Your X account was not linked",
    failures: {
      unknown: "This link is not known. Start again from the WristRelay settings.",
      expired: "This link has expired. Start again from the WristRelay settings.",
      replayed: "This link was already used. Start again from the WristRelay settings.",
      denied: "You did not allow WristRelay to post. Nothing was linked.",
      not_configured: "Posting to X is not set up on this relay.",
      exchange_failed: "X did not confirm the link. Please try again.",
    },
    back: "You can close this page.",
    continue: "Continue",
  },
  "ja-JP": {
    title: "WristRelay: Xアカウント",
    linked: (name) => `@${name}として連携しました`,
    notLinked: "Xアカウントは連携されませんでした",
    failures: {
      unknown: "このリンクは無効です。WristRelayの設定からやり直してください。",
      expired: "このリンクは期限切れです。WristRelayの設定からやり直してください。",
      replayed: "このリンクは使用済みです。WristRelayの設定からやり直してください。",
      denied: "投稿が許可されなかったため、連携していません。",
      not_configured: "このリレーではXへの投稿が設定されていません。",
      exchange_failed: "Xで連携を確認できませんでした。もう一度お試しください。",
    },
    back: "このページは閉じてかまいません。",
    continue: "続ける",
  },
};

const langOf = (language: string | undefined): Lang | undefined => (language === "ja-JP" ? "ja-JP" : language === "en-US" ? "en-US" : undefined);

/** Without a known wearer (an unknown or forgotten link), the browser's language; English when it prefers neither. */
const browserLang = (req: Request): Lang => (req.acceptsLanguages("en", "ja") === "ja" ? "ja-JP" : "en-US");

const failureStatus = (failure: FlowFailure) => (failure === "not_configured" ? 404 : failure === "exchange_failed" ? 502 : 400);

/** text, then a Continue link back to where the flow started (the web sign-up), when it says where */
function sendPage(res: Response, status: number, lang: Lang, heading: string, text: string, returnTo?: string) {
  const t = PAGES[lang];
  const next = returnTo ? html`<p><a class="button" id="continue" href="${returnTo}">${t.continue}</a></p>` : "";
  // a result page of one flow: not for caches or the back button to replay
  res
    .status(status)
    .set("Cache-Control", "no-store")
    .type("html")
    .send(page({ lang: lang === "ja-JP" ? "ja" : "en", title: t.title, body: html`<h1>${heading}</h1>${text ? html`<p>${text}</p>` : ""}${next}` }));
}

/**
 * The language of the wearer a link flow belongs to, found by its flow id (/x/start) or its state
 * (/x/callback); both are stored as SHA-256 hex, as x-accounts.ts keeps them.
 */
async function flowLanguage(deps: Deps, by: "flow_hash" | "state_hash", value: string | undefined): Promise<Lang | undefined> {
  if (!value) return undefined;
  const row = await deps.store.db
    .selectFrom("x_link_flows")
    .innerJoin("devices", "devices.id", "x_link_flows.device_id")
    .select("devices.language")
    .where(`x_link_flows.${by}`, "=", createHash("sha256").update(value).digest("hex"))
    .executeTakeFirst();
  return langOf(row?.language);
}

/** authedJson: the token is checked before the JSON body is read (app.ts) */
export function registerXRoutes(app: Express, deps: Deps, o: { authed: Authed; authedJson: Authed; publicUrl: () => string }) {
  const { authed, authedJson } = o;
  const callbackUrl = () => o.publicUrl() + "/x/callback";
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);

  app.post(
    "/v1/summaries",
    ...authedJson(async (req, res, device) => {
      res.status(202).json(await recordSummary(deps, device, parse(SummaryBody, req.body)));
    }),
  );
  app.get(
    "/v1/summaries/preview",
    ...authed(async (req, res, device) => {
      const { date } = parse(PreviewQuery, req.query);
      res.json(await previewSummary(deps, device, date));
    }),
  );
  app.post(
    "/v1/x/link",
    ...authed(async (_req, res, device) => {
      if (!xClientOf(deps)) throw new Problem(409, "x_not_configured", "X is not set up on this relay.");
      const flow = await createLinkFlow(deps, device);
      res.json({ url: `${o.publicUrl()}/x/start?flow=${encodeURIComponent(flow)}` });
    }),
  );
  app.delete(
    "/v1/me/x",
    ...authed(async (_req, res, device) => {
      await unlinkX(deps, device.id);
      res.status(204).end();
    }),
  );
  app.get(
    "/x/start",
    asyncRoute(async (req, res) => {
      const flow = str(req.query.flow);
      const r = await startLinkFlow(deps, flow ?? "", callbackUrl());
      if ("url" in r) return res.set("Cache-Control", "no-store").redirect(302, r.url);
      const lang = (r.failure === "not_configured" ? undefined : await flowLanguage(deps, "flow_hash", flow)) ?? browserLang(req);
      sendPage(res, failureStatus(r.failure), lang, PAGES[lang].notLinked, PAGES[lang].failures[r.failure], r.returnTo);
    }),
  );
  app.get(
    "/x/callback",
    asyncRoute(async (req, res) => {
      const state = str(req.query.state);
      const r = await finishLinkFlow(deps, { state, code: str(req.query.code), error: str(req.query.error) }, callbackUrl());
      // the wearer's language; where the link is not known (nor whose it is), the browser's
      const known = r.ok || (r.failure !== "unknown" && r.failure !== "not_configured");
      const lang = (known ? langOf(r.language) : r.failure === "unknown" ? await flowLanguage(deps, "state_hash", state) : undefined) ?? browserLang(req);
      // with somewhere to go back to, Continue replaces "you can close this page"
      if (r.ok) return sendPage(res, 200, lang, PAGES[lang].linked(r.username), r.returnTo ? "" : PAGES[lang].back, r.returnTo);
      sendPage(res, failureStatus(r.failure), lang, PAGES[lang].notLinked, PAGES[lang].failures[r.failure], r.returnTo);
    }),
  );
}
