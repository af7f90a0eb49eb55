// Tokens at rest (X, Google): AES-256-GCM under the relay's 32-byte key (RELAY_SECRET), as one
// compact string "v1.<iv>.<tag>.<ciphertext>" (base64url parts). The optional AAD binds a blob to
// its owner (e.g. the device id), so a blob copied to another row does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export type TokenCryptoErrorCode = "bad_key" | "malformed" | "unsupported_version" | "auth_failed";

export class TokenCryptoError extends Error {
  readonly code: TokenCryptoErrorCode;
  constructor(code: TokenCryptoErrorCode, message: string) {
    super(message);
    this.name = "TokenCryptoError";
    this.code = code;
  }
}

/** Decodes RELAY_SECRET (standard or url-safe base64) into the 32-byte key; throws bad_key otherwise. */
export function parseTokenKey(secret: string): Buffer {
  const key = Buffer.from(secret.trim(), "base64");
  checkKey(key);
  return key;
}

export function encryptToken(key: Buffer, plaintext: string, aad?: string): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  if (aad !== undefined) cipher.setAAD(Buffer.from(aad, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), ciphertext].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
}

/** Throws TokenCryptoError: malformed / unsupported_version, or auth_failed on a wrong key, AAD or any tampering. */
export function decryptToken(key: Buffer, blob: string, aad?: string): string {
  checkKey(key);
  const parts = typeof blob === "string" ? blob.split(".") : [];
  if (parts.length !== 4) throw new TokenCryptoError("malformed", "token blob: expected 4 dot-separated parts");
  const [version, ivText, tagText, ctText] = parts as [string, string, string, string];
  if (version !== VERSION) throw new TokenCryptoError("unsupported_version", `token blob: unknown version ${JSON.stringify(version.slice(0, 8))}`);
  const b64url = /^[A-Za-z0-9_-]*$/;
  if (![ivText, tagText, ctText].every((p) => b64url.test(p))) throw new TokenCryptoError("malformed", "token blob: parts must be base64url");
  const iv = Buffer.from(ivText, "base64url");
  const tag = Buffer.from(tagText, "base64url");
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new TokenCryptoError("malformed", "token blob: bad iv or tag length");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    if (aad !== undefined) decipher.setAAD(Buffer.from(aad, "utf8"));
    return Buffer.concat([decipher.update(Buffer.from(ctText, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new TokenCryptoError("auth_failed", "token blob: authentication failed (wrong key, wrong owner or tampered)");
  }
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new TokenCryptoError("bad_key", `token key must be ${KEY_BYTES} bytes`);
}
