// X_PROVIDER=outbox: a local stand-in for X's side of linking (consent, token exchange with PKCE,
// @name, refresh, revoke), so the relay's own link flow can be walked without an X app. The consent
// page is the relay's /dev/x/authorize (routes/dev-x.ts); posts still go to the outbox (x.ts).
//
// Stateless on purpose: codes and tokens are sealed with the relay's key (AES-256-GCM, one AAD per
// kind), so any relay process of a deployment can check them. A code is not remembered once used:
// the relay's callback takes each state once, which is what stops a replay here.
import { createHmac, timingSafeEqual } from "node:crypto";
import { decryptToken, encryptToken } from "../domain/token-crypto.ts";
import { isValidVerifier, s256Challenge } from "../domain/pkce.ts";
import { SendError } from "./sms.ts";
import { X_SCOPES, xAuthorizeUrl, type XClient, type XTokens } from "./x.ts";

/** The client id the outbox authorize URL carries (there is no X app). */
export const OUTBOX_CLIENT_ID = "outbox";
/** Where the outbox sends the wearer to approve, under PUBLIC_URL. */
export const OUTBOX_AUTHORIZE_PATH = "/dev/x/authorize";

const CODE_MS = 2 * 60_000;
const ACCESS_MS = 2 * 3_600_000; // as X's

/** Linking without X: the calls the link flow, refresh and unlink make; posting is the outbox's. */
export interface OutboxXClient extends Omit<XClient, "name" | "postTweet"> {
  readonly name: "outbox";
}

export interface OutboxAccount {
  id: string;
  username: string;
}

interface Sealed {
  /** X user id and @name */
  id: string;
  u: string;
  /** epoch ms; none on refresh tokens */
  exp?: number;
  /** codes: the S256 challenge the consent page received, and the redirect URI it sent the wearer to */
  c?: string;
  r?: string;
}

/** The wearer's stand-in X account: the same for a device every time, telling nothing about it. */
export function outboxAccount(key: Buffer, deviceId: string): OutboxAccount {
  const h = createHmac("sha256", key).update(`x-outbox:${deviceId}`).digest("hex");
  return { id: String(BigInt("0x" + h.slice(0, 15))), username: `outbox_${h.slice(15, 21)}` };
}

const seal = (key: Buffer, kind: string, v: Sealed) => encryptToken(key, JSON.stringify(v), `x-outbox:${kind}`);

function unseal(key: Buffer, kind: string, blob: string): Sealed | undefined {
  try {
    const v = JSON.parse(decryptToken(key, blob, `x-outbox:${kind}`)) as Sealed;
    return typeof v.id === "string" && typeof v.u === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The consent page's half: a code for an approved request, bound to its challenge and redirect URI. */
export function issueOutboxCode(o: { key: Buffer; now: () => number }, p: { account: OutboxAccount; codeChallenge: string; redirectUri: string }): string {
  return seal(o.key, "code", { id: p.account.id, u: p.account.username, c: p.codeChallenge, r: p.redirectUri, exp: o.now() + CODE_MS });
}

/** Failures are SendError with the codes the real client uses (invalid_grant, unauthorized, ...). */
export function createOutboxXClient(o: { key: Buffer; authorizeUrl: string; now?: () => number }): OutboxXClient {
  const now = o.now ?? Date.now;
  const refused = (what: string, code: string) => new SendError("permanent", `x outbox ${what}: refused`, { code });
  const tokens = (s: Sealed): XTokens & { refreshToken: string } => {
    const expiresAt = now() + ACCESS_MS;
    return {
      accessToken: seal(o.key, "access", { id: s.id, u: s.u, exp: expiresAt }),
      refreshToken: seal(o.key, "refresh", { id: s.id, u: s.u }),
      expiresAt,
      scope: [...X_SCOPES],
    };
  };
  return {
    name: "outbox",

    authorizeUrl: (flow) => xAuthorizeUrl(o.authorizeUrl, OUTBOX_CLIENT_ID, flow),

    async exchangeCode({ code, codeVerifier, redirectUri }) {
      const s = unseal(o.key, "code", code);
      const ok = s && s.exp !== undefined && s.exp > now() && s.r === redirectUri && s.c !== undefined && isValidVerifier(codeVerifier) && same(s256Challenge(codeVerifier), s.c);
      if (!ok) throw refused("exchangeCode", "invalid_grant");
      return tokens(s);
    },

    async refresh(refreshToken) {
      const s = unseal(o.key, "refresh", refreshToken);
      if (!s) throw refused("refresh", "invalid_grant");
      return tokens(s);
    },

    async me(accessToken) {
      const s = unseal(o.key, "access", accessToken);
      if (!s || s.exp === undefined || s.exp <= now()) throw refused("me", "unauthorized");
      return { id: s.id, username: s.u };
    },

    // nothing is kept to forget: the relay deleting its copy is the whole of it
    async revoke(token, tokenTypeHint) {
      if (!unseal(o.key, tokenTypeHint === "refresh_token" ? "refresh" : "access", token)) throw refused("revoke", "invalid_request");
    },
  };
}
