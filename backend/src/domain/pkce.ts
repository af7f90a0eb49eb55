// PKCE (RFC 7636, S256) and the OAuth `state`, for linking X (and any other OAuth 2.0 provider).
import { createHash, randomBytes } from "node:crypto";

export interface Pkce {
  /** 43-128 chars of [A-Za-z0-9-._~]; kept by the relay until the callback */
  verifier: string;
  /** BASE64URL(SHA256(verifier)), sent in the authorize URL with code_challenge_method=S256 */
  challenge: string;
}

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** A fresh verifier (32 random bytes, 43 base64url chars) and its S256 challenge. */
export function createPkce(): Pkce {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: s256Challenge(verifier) };
}

/** The S256 challenge of a verifier. */
export function s256Challenge(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

/** True when the string is a verifier RFC 7636 allows. */
export function isValidVerifier(verifier: string): boolean {
  return VERIFIER.test(verifier);
}

/** An unguessable `state` (24 random bytes, 32 base64url chars) tying the callback to the link request. */
export function createState(): string {
  return randomBytes(24).toString("base64url");
}
