// Signed session cookies and CSRF tokens for the relay's browser pages (sign-up, operator page).
//
// The cookie holds a small JSON payload, base64url-encoded, and an HMAC-SHA256 over it with a key
// derived from RELAY_SECRET (HKDF, one key per cookie name), so it cannot be forged or moved between
// cookie names. It carries an expiry; HttpOnly; SameSite=Lax (so that coming back from Google or X
// on a top-level navigation still carries it); Secure when the relay is served over https.
// Every form carries the session's CSRF token, checked in constant time.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import type { Request, Response } from "express";

export interface SessionData {
  /** random per session: the CSRF token of its forms */
  csrf: string;
  /** expiry, epoch seconds */
  exp: number;
  [key: string]: string | number | boolean | undefined;
}

export interface SessionCodecOptions {
  secret: Buffer;
  /** cookie name, e.g. "wr_signup" */
  name: string;
  maxAgeSec: number;
  /** Secure cookie (the relay's public URL is https) */
  secure: boolean;
  path?: string;
  /** default Lax (coming back from Google or X must carry it); Strict for pages nobody links to (the operator's) */
  sameSite?: "Lax" | "Strict";
  now?: () => number;
}

export interface SessionCodec {
  /** the valid, unexpired session of this request, or null */
  read(req: Request): SessionData | null;
  /** the session of this request, or a new one (not yet sent: call write) */
  readOrCreate(req: Request): SessionData;
  /** set the cookie; the expiry is renewed */
  write(res: Response, data: Omit<SessionData, "exp"> & { exp?: number }): void;
  clear(res: Response): void;
  /** true when `token` is this session's CSRF token */
  checkCsrf(session: SessionData | null, token: unknown): boolean;
}

const b64 = (b: Buffer) => b.toString("base64url");

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function createSessionCodec(o: SessionCodecOptions): SessionCodec {
  const key = Buffer.from(hkdfSync("sha256", o.secret, Buffer.alloc(0), `wristrelay session cookie:${o.name}`, 32));
  const now = o.now ?? (() => Date.now());
  const path = o.path ?? "/";
  const sameSite = o.sameSite ?? "Lax";
  const sign = (payload: string) => b64(createHmac("sha256", key).update(payload).digest());

  function read(req: Request): SessionData | null {
    const value = readCookie(req, o.name);
    if (!value || value.length > 4096) return null;
    const dot = value.indexOf(".");
    if (dot <= 0) return null;
    const payload = value.slice(0, dot);
    const mac = Buffer.from(value.slice(dot + 1));
    const want = Buffer.from(sign(payload));
    if (mac.length !== want.length || !timingSafeEqual(mac, want)) return null;
    try {
      const data = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as SessionData;
      if (typeof data !== "object" || data === null || typeof data.csrf !== "string" || typeof data.exp !== "number") return null;
      if (data.exp * 1000 <= now()) return null;
      return data;
    } catch {
      return null;
    }
  }

  const attrs = (maxAge: number) =>
    [`Path=${path}`, "HttpOnly", `SameSite=${sameSite}`, `Max-Age=${maxAge}`, ...(o.secure ? ["Secure"] : [])].join("; ");

  return {
    read,
    readOrCreate(req) {
      return read(req) ?? { csrf: b64(randomBytes(18)), exp: Math.floor(now() / 1000) + o.maxAgeSec };
    },
    write(res, data) {
      const full = { ...data, exp: Math.floor(now() / 1000) + o.maxAgeSec };
      const payload = b64(Buffer.from(JSON.stringify(full), "utf8"));
      res.append("Set-Cookie", `${o.name}=${payload}.${sign(payload)}; ${attrs(o.maxAgeSec)}`);
    },
    clear(res) {
      res.append("Set-Cookie", `${o.name}=; ${attrs(0)}`);
    },
    checkCsrf(session, token) {
      if (!session || typeof token !== "string" || token.length === 0) return false;
      const a = Buffer.from(token);
      const b = Buffer.from(session.csrf);
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}
