// Daily posts on X: summaries, their preview, and linking the wearer's X account.
import type { Express, NextFunction, Request, RequestHandler, Response } from "express";
import type { Deps } from "../domain/deps.ts";
import type { Device } from "../domain/devices.ts";
import { previewSummary, recordSummary } from "../domain/summaries.ts";
import { createLinkFlow, finishLinkFlow, startLinkFlow, unlinkX, xClientOf, type FlowFailure } from "../domain/x-accounts.ts";
import { Problem } from "../http/problem.ts";
import { PreviewQuery, SummaryBody } from "../http/schemas.ts";
import { parse } from "../http/validate.ts";

type Authed = (fn: (req: Request, res: Response, device: Device) => Promise<unknown>) => RequestHandler[];

const asyncRoute =
  (fn: (req: Request, res: Response) => Promise<unknown>) =>
  (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const PAGES: Record<"en-US" | "ja-JP", { linked: (name: string) => string; failures: Record<FlowFailure, string>; back: string }> = {
  "en-US": {
    linked: (name) => `Linked as @${name}`,
    failures: {
      unknown: "This link is not known. Start again from the WristRelay settings.",
      expired: "This link has expired. Start again from the WristRelay settings.",
      replayed: "This link was already used. Start again from the WristRelay settings.",
      denied: "You did not allow WristRelay to post. Nothing was linked.",
      not_configured: "Posting to X is not set up on this relay.",
      exchange_failed: "X did not confirm the link. Please try again.",
    },
    back: "You can close this page.",
  },
  "ja-JP": {
    linked: (name) => `@${name}として連携しました`,
    failures: {
      unknown: "このリンクは無効です。WristRelayの設定からやり直してください。",
      expired: "このリンクは期限切れです。WristRelayの設定からやり直してください。",
      replayed: "このリンクは使用済みです。WristRelayの設定からやり直してください。",
      denied: "投稿が許可されなかったため、連携していません。",
      not_configured: "このリレーではXへの投稿が設定されていません。",
      exchange_failed: "Xで連携を確認できませんでした。もう一度お試しください。",
    },
    back: "このページは閉じてかまいません。",
  },
};

function page(res: Response, status: number, language: string, heading: string, text: string) {
  const lang = language === "ja-JP" ? "ja" : "en";
  res
    .status(status)
    .type("html")
    .send(`<!doctype html><html lang="${lang}"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>WristRelay</title><h1>${esc(heading)}</h1><p>${esc(text)}</p></html>`);
}

export function registerXRoutes(app: Express, deps: Deps, o: { authed: Authed; json: RequestHandler; publicUrl: () => string }) {
  const { authed, json } = o;
  const callbackUrl = () => o.publicUrl() + "/x/callback";
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);

  app.post(
    "/v1/summaries",
    json,
    ...authed(async (req, res, device) => {
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
      if (!xClientOf(deps)) throw new Problem(409, "x_not_configured", "X_PROVIDER=outbox: posts are recorded on /dev/outbox for every wearer; there is nothing to link.");
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
      const r = await startLinkFlow(deps, str(req.query.flow) ?? "", callbackUrl());
      if ("url" in r) return res.redirect(302, r.url);
      const t = PAGES["en-US"];
      page(res, r.failure === "not_configured" ? 404 : 400, "en-US", "WristRelay", t.failures[r.failure]);
    }),
  );
  app.get(
    "/x/callback",
    asyncRoute(async (req, res) => {
      const r = await finishLinkFlow(deps, { state: str(req.query.state), code: str(req.query.code), error: str(req.query.error) }, callbackUrl());
      const t = PAGES[r.language === "ja-JP" ? "ja-JP" : "en-US"];
      if (r.ok) return page(res, 200, r.language, t.linked(r.username), t.back);
      page(res, r.failure === "not_configured" ? 404 : r.failure === "exchange_failed" ? 502 : 400, r.language, "WristRelay", t.failures[r.failure]);
    }),
  );
}
