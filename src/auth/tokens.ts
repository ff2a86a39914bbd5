// API tokens: 32 random bytes as 64 lowercase hex characters. Only their SHA-256 digest is stored.

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;
const AUTHORIZATION_PATTERN = /^\s*(token|bearer)\s+(\S+)\s*$/i;

export function newToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
}

export function tokenDigest(token: string): Buffer {
  return new Bun.CryptoHasher("sha256").update(token).digest() as Buffer;
}

export type Credentials =
  | { kind: "none" } // no header, or another scheme (Basic …): not our business
  | { kind: "malformed" }
  | { kind: "token"; token: string };

/** `Token <key>` or `Bearer <key>`, the scheme in any case. */
export function readAuthorization(header: string | null): Credentials {
  if (header === null || header.trim() === "") return { kind: "none" };
  const match = AUTHORIZATION_PATTERN.exec(header);
  if (!match) return /^\s*(token|bearer)\b/i.test(header) ? { kind: "malformed" } : { kind: "none" };
  return TOKEN_PATTERN.test(match[2]) ? { kind: "token", token: match[2] } : { kind: "malformed" };
}
