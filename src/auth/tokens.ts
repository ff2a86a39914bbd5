// API tokens: 32 random bytes as 64 lowercase hex characters. Only their SHA-256 digest is stored.

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;
const AUTHORIZATION_PATTERN = /^\s*(token|bearer)\s+(\S+)\s*$/i;

export function newToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
}

const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
export const USER_AGENT_MAX = 256;

/** A token's session id: 16 random bytes of its own (base64url), unrelated to the token. */
export function newSessionId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
}

export function isSessionId(value: string): boolean {
  return SESSION_ID_PATTERN.test(value);
}

/** A User-Agent header as stored: at most 256 characters, null when there is none. */
export function userAgentOf(header: string | null | undefined): string | null {
  if (!header) return null;
  if (header.length <= USER_AGENT_MAX) return header;
  return Array.from(header).slice(0, USER_AGENT_MAX).join("");
}

/** The SHA-256 digest of a token (into `into` when given: the hot path allocates nothing). */
export function tokenDigest(token: string, into: Uint8Array = new Uint8Array(32)): Uint8Array {
  return Bun.SHA256.hash(token, into) as Uint8Array;
}

/** A digest's first 128 bits as four 32-bit words: the token index's key (it keeps 112 of them). */
export function digestWords(digest: Uint8Array): Uint32Array {
  const words = new Uint32Array(4);
  new Uint8Array(words.buffer).set(digest.subarray(0, 16));
  return words;
}

export type Credentials =
  | { kind: "none" } // no header, or another scheme (Basic …): not our business
  | { kind: "malformed" }
  | { kind: "token"; token: string };

const FAST_PREFIX = "Token ";

/** `Token <key>` or `Bearer <key>`, the scheme in any case. */
export function readAuthorization(header: string | null): Credentials {
  if (header === null || header.trim() === "") return { kind: "none" };
  // The common form, checked without the general pattern: "Token " and 64 hex characters.
  if (header.length === FAST_PREFIX.length + 64 && header.startsWith(FAST_PREFIX)) {
    const token = header.slice(FAST_PREFIX.length);
    if (TOKEN_PATTERN.test(token)) return { kind: "token", token };
  }
  const token = AUTHORIZATION_PATTERN.exec(header)?.[2];
  if (token === undefined) return /^\s*(token|bearer)\b/i.test(header) ? { kind: "malformed" } : { kind: "none" };
  return TOKEN_PATTERN.test(token) ? { kind: "token", token } : { kind: "malformed" };
}
