// The dev stand-in for X's consent page (X_PROVIDER=outbox): /x/start sends the wearer here instead
// of to X; Approve and Deny redirect to /x/callback exactly as X would, so the relay's own flow (state,
// PKCE, encrypted tokens, the result page) is the one that runs. Served wherever /dev/outbox is.
import { createHash } from "node:crypto";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { Deps } from "../domain/deps.ts";
import { Problem } from "../http/problem.ts";
import { issueOutboxCode, OUTBOX_AUTHORIZE_PATH, OUTBOX_CLIENT_ID, outboxAccount, type OutboxAccount } from "../providers/x-outbox.ts";

const asyncRoute =
  (fn: (req: Request, res: Response) => Promise<unknown>) =>
  (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const str = (v: unknown) => (typeof v === "string" ? v : "");
const PARAMS = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"] as const;
type Params = Record<(typeof PARAMS)[number], string>;

export function registerDevX(app: Express, deps: Deps, o: { publicUrl: () => string }) {
  // the same gate as /dev/outbox's X part (dev-outbox.ts)
  const on = () => deps.x?.name === "outbox";
  const form = express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 });

  function send(res: Response, status: number, body: string) {
    res
      .status(status)
      .set("Cache-Control", "no-store")
      .type("html")
      .send(`<!doctype html><html lang="en"><meta charset="utf-8"><title>WristRelay: link X (outbox)</title>${body}</html>`);
  }

  /** What X would refuse before showing consent; the account the wearer's flow belongs to otherwise. */
  async function check(p: Params): Promise<{ account: OutboxAccount } | { error: string }> {
    if (p.response_type !== "code" || p.client_id !== OUTBOX_CLIENT_ID) return { error: "response_type must be code and client_id outbox." };
    if (p.redirect_uri !== o.publicUrl() + "/x/callback") return { error: "redirect_uri is not this relay's /x/callback." };
    if (p.code_challenge_method !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(p.code_challenge)) return { error: "an S256 code_challenge is required." };
    if (!p.state) return { error: "state is required." };
    const flow = await deps.store.db
      .selectFrom("x_link_flows")
      .select("device_id")
      .where("state_hash", "=", createHash("sha256").update(p.state).digest("hex"))
      .executeTakeFirst();
    if (!flow) return { error: "this link is not known. Start again from the WristRelay settings." };
    return { account: outboxAccount(deps.config.secret, flow.device_id) };
  }

  const paramsOf = (src: Record<string, unknown> | undefined) => Object.fromEntries(PARAMS.map((k) => [k, str(src?.[k])])) as Params;
  const refuse = (res: Response, error: string) => send(res, 400, `<h1>Not linked</h1><p>This request cannot be approved: ${esc(error)}</p>`);

  app.get(
    OUTBOX_AUTHORIZE_PATH,
    asyncRoute(async (req, res) => {
      if (!on()) throw new Problem(404, "not_found", "No such endpoint.");
      const p = paramsOf(req.query);
      const c = await check(p);
      if ("error" in c) return refuse(res, c.error);
      const hidden = PARAMS.map((k) => `<input type="hidden" name="${k}" value="${esc(p[k])}">`).join("");
      send(
        res,
        200,
        `<h1>Link X (outbox)</h1>` +
          `<p>This relay runs with X_PROVIDER=outbox: nothing is posted to X. This page stands in for X's consent page, so linking can be tried without an X account.</p>` +
          `<p>Approve links the stand-in account <b>@${esc(c.account.username)}</b> (scopes: ${esc(p.scope)}). Daily posts are recorded on <a href="/dev/outbox">/dev/outbox</a>, linked or not.</p>` +
          `<form method="post" action="${OUTBOX_AUTHORIZE_PATH}">${hidden}` +
          `<button type="submit" name="decision" value="approve">Approve</button> <button type="submit" name="decision" value="deny">Deny</button></form>`,
      );
    }),
  );
  app.post(
    OUTBOX_AUTHORIZE_PATH,
    form,
    asyncRoute(async (req, res) => {
      if (!on()) throw new Problem(404, "not_found", "No such endpoint.");
      const body = req.body as Record<string, unknown> | undefined;
      const p = paramsOf(body);
      const c = await check(p);
      if ("error" in c) return refuse(res, c.error);
      const back = new URL(p.redirect_uri);
      if (str(body?.decision) === "approve") {
        const code = issueOutboxCode({ key: deps.config.secret, now: () => deps.clock.now().getTime() }, { account: c.account, codeChallenge: p.code_challenge, redirectUri: p.redirect_uri });
        back.search = new URLSearchParams({ code, state: p.state }).toString();
      } else back.search = new URLSearchParams({ error: "access_denied", state: p.state }).toString();
      res.set("Cache-Control", "no-store").redirect(303, back.toString());
    }),
  );
}
