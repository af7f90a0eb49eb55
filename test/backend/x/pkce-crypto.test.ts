import { createHash, randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { createPkce, createState, isValidVerifier, s256Challenge } from "../../../backend/src/domain/pkce.ts";
import { TokenCryptoError, decryptToken, encryptToken, parseTokenKey } from "../../../backend/src/domain/token-crypto.ts";

describe("pkce", () => {
  test("when a pair is created, then the verifier is 43-128 unreserved chars and the challenge is its S256 hash", () => {
    const { verifier, challenge } = createPkce();
    expect(verifier).toMatch(/^[A-Za-z0-9\-._~]{43,128}$/);
    expect(isValidVerifier(verifier)).toBe(true);
    expect(challenge).toBe(createHash("sha256").update(verifier).digest("base64url"));
    expect(challenge).not.toMatch(/[=+/]/);
  });

  test("when the RFC 7636 appendix B verifier is hashed, then the challenge is the one the RFC gives", () => {
    expect(s256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  test("when pairs and states are created twice, then they differ", () => {
    expect(createPkce().verifier).not.toBe(createPkce().verifier);
    const state = createState();
    expect(state).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(createState()).not.toBe(state);
  });

  test("when a verifier is too short or has other characters, then it is not valid", () => {
    expect(isValidVerifier("a".repeat(42))).toBe(false);
    expect(isValidVerifier("a".repeat(129))).toBe(false);
    expect(isValidVerifier(`${"a".repeat(43)}+`)).toBe(false);
  });
});

describe("token-crypto", () => {
  const key = randomBytes(32);

  test("when a token is encrypted and decrypted with the same key, then it comes back unchanged", () => {
    const blob = encryptToken(key, "access-token-ü-🔑");
    expect(blob).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(blob).not.toContain("access-token");
    expect(decryptToken(key, blob)).toBe("access-token-ü-🔑");
  });

  test("when the same token is encrypted twice, then the blobs differ (fresh iv)", () => {
    expect(encryptToken(key, "t")).not.toBe(encryptToken(key, "t"));
  });

  test("when the owner (aad) matches, then it decrypts; when it does not, then auth_failed", () => {
    const blob = encryptToken(key, "refresh", "device-A");
    expect(decryptToken(key, blob, "device-A")).toBe("refresh");
    expect(() => decryptToken(key, blob, "device-B")).toThrow(expect.objectContaining({ code: "auth_failed" }));
    expect(() => decryptToken(key, blob)).toThrow(TokenCryptoError);
  });

  test("when the key is wrong, then auth_failed", () => {
    const blob = encryptToken(key, "secret");
    expect(() => decryptToken(randomBytes(32), blob)).toThrow(expect.objectContaining({ name: "TokenCryptoError", code: "auth_failed" }));
  });

  test.each([
    ["the ciphertext", 3],
    ["the tag", 2],
    ["the iv", 1],
  ])("when %s is tampered with, then decryption refuses it", (_what, index) => {
    const parts = encryptToken(key, "a token worth stealing").split(".");
    const bytes = Buffer.from(parts[index]!, "base64url");
    bytes[0]! ^= 1;
    parts[index] = bytes.toString("base64url");
    expect(() => decryptToken(key, parts.join("."))).toThrow(expect.objectContaining({ code: "auth_failed" }));
  });

  test.each([
    ["not a blob", "malformed"],
    ["v1.a.b", "malformed"],
    ["v1.@@@.AAAA.AAAA", "malformed"],
    ["v1.AAAA.AAAA.AAAA", "malformed"],
    ["v2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA", "unsupported_version"],
  ])("when the blob is %j, then it is refused as %s", (blob, code) => {
    expect(() => decryptToken(key, blob)).toThrow(expect.objectContaining({ code }));
  });

  test("when the key is not 32 bytes, then bad_key", () => {
    expect(() => encryptToken(randomBytes(16), "t")).toThrow(expect.objectContaining({ code: "bad_key" }));
    expect(() => parseTokenKey(randomBytes(31).toString("base64"))).toThrow(expect.objectContaining({ code: "bad_key" }));
  });

  test("when RELAY_SECRET is base64 or base64url of 32 bytes, then it is the key", () => {
    const raw = Buffer.from(Array.from({ length: 32 }, (_, i) => 250 - i));
    expect(parseTokenKey(raw.toString("base64")).equals(raw)).toBe(true);
    expect(parseTokenKey(raw.toString("base64url")).equals(raw)).toBe(true);
  });
});
