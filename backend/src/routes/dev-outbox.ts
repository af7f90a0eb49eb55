// The dev outbox: what would have been sent (SMS_PROVIDER=outbox and/or X_PROVIDER=outbox), SMS and X posts side by side.
// It shows verification codes, so with NODE_ENV=production (a staging relay on the outbox, say) it is
// the operator's only: `Authorization: Bearer <ADMIN_TOKEN>`, and off (404) without ADMIN_TOKEN.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Express, NextFunction, Request, Response } from "express";
import type { Deps } from "../domain/deps.ts";
import { maskPhone } from "../domain/phone.ts";
import { Problem } from "../http/problem.ts";
import type { OutboxSms } from "../providers/outbox.ts";

const asyncRoute =
  (fn: (req: Request, res: Response) => Promise<unknown>) =>
  (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);

interface Row {
  id: string;
  ref: string;
  channel: "sms" | "x";
  to: string;
  body: string;
  createdAt: string;
}

export function registerDevOutbox(app: Express, deps: Deps) {
  const smsOutbox = () =>
    deps.config.sms.provider === "outbox" && deps.sms.name === "outbox" && "list" in deps.sms ? (deps.sms as OutboxSms) : undefined;
  const xOutbox = () => deps.x?.name === "outbox";

  const digest = (t: string) => createHash("sha256").update(t).digest();
  function allowed(req: Request) {
    if (deps.config.env !== "production") return;
    const want = deps.config.admin.token;
    if (!want) throw new Problem(404, "not_found", "No such endpoint.");
    const auth = req.headers.authorization;
    const given = typeof auth === "string" && /^bearer /i.test(auth) ? auth.slice(7).trim() : "";
    if (!given || !timingSafeEqual(digest(given), digest(want))) throw new Problem(401, "unauthorized", "In production the outbox is the operator's: send Authorization: Bearer <ADMIN_TOKEN>.");
  }

  async function rows(req: Request): Promise<Row[]> {
    const sms = smsOutbox();
    if (!sms && !xOutbox()) throw new Problem(404, "not_found", "No such endpoint.");
    allowed(req);
    const out: Row[] = sms ? (await sms.list()).map((r) => ({ id: r.id, ref: r.ref, channel: "sms" as const, to: maskPhone(r.to), body: r.body, createdAt: r.createdAt })) : [];
    if (xOutbox()) {
      const posts = await deps.store.db.selectFrom("x_outbox_posts").selectAll().orderBy("created_at", "desc").orderBy("id", "desc").limit(200).execute();
      out.push(...posts.map((p) => ({ id: p.id, ref: p.id, channel: "x" as const, to: "@outbox", body: p.text, createdAt: p.created_at })));
    }
    return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  app.get(
    "/dev/outbox.json",
    asyncRoute(async (req, res) => {
      res.json(await rows(req));
    }),
  );
  app.get(
    "/dev/outbox",
    asyncRoute(async (req, res) => {
      const all = await rows(req);
      const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      const table = (list: Row[]) =>
        `<table><thead><tr><th>when</th><th>to</th><th>text</th></tr></thead><tbody>${
          list.map((r) => `<tr><td>${esc(r.createdAt)}</td><td>${esc(r.to)}</td><td style="white-space:pre-wrap">${esc(r.body)}</td></tr>`).join("") ||
          '<tr><td colspan="3">nothing yet</td></tr>'
        }</tbody></table>`;
      res.type("html").send(
        `<!doctype html><html lang="en"><meta charset="utf-8"><title>WristRelay outbox</title>` +
          `<h1>SMS outbox</h1><p>SMS_PROVIDER=outbox: these messages were recorded, not sent.</p>${table(all.filter((r) => r.channel === "sms"))}` +
          `<h1>X posts</h1><p>X_PROVIDER=outbox: these posts were recorded, not posted (every wearer with posts on counts as linked).</p>${table(all.filter((r) => r.channel === "x"))}</html>`,
      );
    }),
  );
}
