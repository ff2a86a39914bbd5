// Tokens written straight into the tokens table (as another instance, or an earlier process, would
// have issued them: no notification, so a running server's in-memory index does not know them), and
// the server's token index as GET /health shows it.
import type { Sql } from "postgres";
import type { TestServer } from "./server.ts";

/** A token the test knows (from a prefix and a number), and the digest the tokens table keeps of it. */
export function testToken(prefix: string, i: number) {
  const token = prefix.repeat(48 / prefix.length) + i.toString(16).padStart(16, "0");
  return { token, digest: Buffer.from(new Bun.CryptoHasher("sha256").update(token).digest()) };
}

/** Inserts testToken(prefix, 0 … count - 1) for the user, expiring at `expiresAt`. */
export async function insertTokens(sql: Sql, userId: number, prefix: string, count: number, expiresAt: Date) {
  for (let from = 0; from < count; from += 5_000) {
    const rows = Array.from({ length: Math.min(5_000, count - from) }, (_, k) => ({
      digest: testToken(prefix, from + k).digest,
      user_id: userId,
      expires_at: expiresAt,
    }));
    await sql`insert into tokens ${sql(rows)}`;
  }
}

export interface IndexState {
  ready: boolean;
  tokens: number;
  bytes: number;
}

export async function indexState(server: TestServer): Promise<IndexState> {
  const body = (await (await server.request("/health")).json()) as { token_index: IndexState };
  return body.token_index;
}

/** Waits until the index has loaded every live token (or `timeoutMs` passed); returns its state. */
export async function untilIndexReady(server: TestServer, timeoutMs = 20_000): Promise<IndexState> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const state = await indexState(server);
    if (state.ready || performance.now() > deadline) return state;
    await Bun.sleep(25);
  }
}
