// Token authentication: issuing, checking and revoking tokens. Checks are answered from an
// in-memory LRU when possible; every revocation clears it here at once and, through the change
// feed, on every other instance.
import { LRUCache } from "lru-cache";
import type { Sql } from "postgres";
import type { Queryable } from "../db/connect.ts";
import type { Config } from "../config.ts";
import type { ChangeFeed } from "../db/changes.ts";
import { invalidToken, notAuthenticated } from "../http/errors.ts";
import * as queries from "./queries.ts";
import { newToken, readAuthorization, tokenDigest } from "./tokens.ts";

export interface Session {
  userId: number;
  /** The SHA-256 digest of the token the request used. */
  digest: Buffer;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

interface CachedToken {
  userId: number;
  expiresAt: number;
}

const TOPIC_TOKENS_REVOKED = "tokens.revoked";
const TOPIC_USER_TOKENS_REVOKED = "user.tokens_revoked";

type AuthConfig = Pick<Config, "tokenTtlMs" | "tokenLimitPerUser" | "tokenCacheSize">;

export class Auth {
  private readonly cache: LRUCache<string, CachedToken>;

  constructor(
    private readonly sql: Sql,
    private readonly changes: ChangeFeed,
    private readonly config: AuthConfig,
  ) {
    this.cache = new LRUCache({ max: config.tokenCacheSize });
    changes.on(TOPIC_TOKENS_REVOKED, (digests) => this.forgetDigests(digests as string[]));
    changes.on(TOPIC_USER_TOKENS_REVOKED, (userId) => this.forgetUser(userId as number));
    changes.onResync(() => this.cache.clear());
  }

  /** The session behind an Authorization header, or the contract's 401. */
  async authenticate(header: string | null): Promise<Session> {
    const credentials = readAuthorization(header);
    if (credentials.kind === "none") throw notAuthenticated();
    if (credentials.kind === "malformed") throw invalidToken();
    const digest = tokenDigest(credentials.token);
    const userId = await this.findLiveOwner(digest);
    if (userId === undefined) throw invalidToken();
    return { userId, digest };
  }

  private async findLiveOwner(digest: Buffer): Promise<number | undefined> {
    const key = digest.toString("hex");
    const useCache = this.changes.trusted;
    const cached = useCache ? this.cache.get(key) : undefined;
    if (cached) {
      if (cached.expiresAt > Date.now()) return cached.userId;
      this.cache.delete(key);
      return undefined;
    }
    const owner = await queries.findLiveTokenOwner(this.sql, digest);
    if (!owner) return undefined;
    const expiresAt = owner.expires_at.getTime();
    // The entry never outlives the token: lru-cache drops it at the token's expiry.
    if (useCache) this.cache.set(key, { userId: owner.user_id, expiresAt }, { ttl: Math.max(1, expiresAt - Date.now()) });
    return owner.user_id;
  }

  /**
   * Issues a new token (every login gets its own) and revokes the user's oldest ones beyond the
   * per-user limit. Pass a transaction to make the token part of a larger change (registration).
   */
  async issue(userId: number, sql: Queryable = this.sql): Promise<IssuedToken> {
    const token = newToken();
    const expiresAt = new Date(Date.now() + this.config.tokenTtlMs);
    const evicted =
      sql === this.sql
        ? await this.sql.begin((tx) => this.insert(tx, token, userId, expiresAt))
        : await this.insert(sql, token, userId, expiresAt);
    if (evicted.length) await this.changes.announce(TOPIC_TOKENS_REVOKED, evicted.map((d) => d.toString("hex")));
    return { token, expiresAt };
  }

  private async insert(sql: Queryable, token: string, userId: number, expiresAt: Date): Promise<Buffer[]> {
    await queries.insertToken(sql, tokenDigest(token), userId, expiresAt);
    return queries.deleteTokensBeyondNewest(sql, userId, this.config.tokenLimitPerUser);
  }

  async revoke(session: Session): Promise<void> {
    await queries.deleteToken(this.sql, session.digest);
    await this.changes.announce(TOPIC_TOKENS_REVOKED, [session.digest.toString("hex")]);
  }

  async revokeAll(userId: number): Promise<void> {
    await queries.deleteTokensOfUser(this.sql, userId);
    await this.userTokensRevoked(userId);
  }

  /** For changes that removed a user's tokens some other way (the user's deletion cascades). */
  userTokensRevoked(userId: number): Promise<void> {
    return this.changes.announce(TOPIC_USER_TOKENS_REVOKED, userId);
  }

  deleteExpiredTokens(): Promise<number> {
    return queries.deleteExpiredTokens(this.sql);
  }

  get cachedTokenCount(): number {
    return this.cache.size;
  }

  private forgetDigests(digests: string[]) {
    for (const digest of digests) this.cache.delete(digest);
  }

  private forgetUser(userId: number) {
    for (const [key, entry] of this.cache.entries()) if (entry.userId === userId) this.cache.delete(key);
  }
}
