// Token authentication: issuing, checking and revoking tokens. Checks are answered from an
// in-memory LRU when possible; every revocation clears it here at once and, through the change
// feed, on every other instance.
import { LRUCache } from "lru-cache";
import type { Sql } from "postgres";
import type { Queryable } from "../db/connect.ts";
import type { Config } from "../config.ts";
import type { Announce, ChangeFeed } from "../db/changes.ts";
import { invalidToken, notAuthenticated } from "../http/errors.ts";
import * as queries from "./queries.ts";
import { digestBytes, newToken, readAuthorization, tokenDigestHex } from "./tokens.ts";

export interface Session {
  userId: number;
  /** The SHA-256 digest (hex) of the token the request used. */
  digest: string;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

const TOPIC_TOKENS_REVOKED = "tokens.revoked";
const TOPIC_USER_TOKENS_REVOKED = "user.tokens_revoked";
/** 64 hex characters each: 32 of them stay far below pg_notify's 8000-byte payload limit. */
const MAX_DIGESTS_ANNOUNCED = 32;

type AuthConfig = Pick<Config, "tokenTtlMs" | "tokenLimitPerUser" | "tokenCacheSize">;

export class Auth {
  /** Token digest (hex) → user id; each entry expires with its token. */
  private readonly cache: LRUCache<string, number>;
  /**
   * Counts invalidations. A lookup only caches what it read if none happened meanwhile: a read that
   * began before a revocation committed but returned after its notification was applied would
   * otherwise cache the revoked token as live, on this instance, until the token expires.
   */
  private invalidations = 0;

  constructor(
    private readonly sql: Sql,
    private readonly changes: ChangeFeed,
    private readonly config: AuthConfig,
  ) {
    this.cache = new LRUCache({ max: config.tokenCacheSize });
    changes.on(TOPIC_TOKENS_REVOKED, (digests) => this.forgetDigests(digests as string[]));
    changes.on(TOPIC_USER_TOKENS_REVOKED, (userId) => this.forgetUser(userId as number));
    changes.onResync(() => {
      this.invalidations++;
      this.cache.clear();
    });
  }

  /**
   * The session behind an Authorization header, or the contract's 401. A cached token is answered
   * synchronously (no promise on the hot path); a lookup in the database returns a promise.
   */
  authenticate(header: string | null): Session | Promise<Session> {
    const credentials = readAuthorization(header);
    if (credentials.kind === "none") throw notAuthenticated();
    if (credentials.kind === "malformed") throw invalidToken();
    const digest = tokenDigestHex(credentials.token);
    // lru-cache drops an entry at its token's expiry (its ttl), so a hit is a live token.
    const cachedUserId = this.changes.trusted ? this.cache.get(digest) : undefined;
    if (cachedUserId !== undefined) return { userId: cachedUserId, digest };
    return this.findLiveOwner(digest).then((userId) => {
      if (userId === undefined) throw invalidToken();
      return { userId, digest };
    });
  }

  private async findLiveOwner(digest: string): Promise<number | undefined> {
    const useCache = this.changes.trusted;
    const invalidations = this.invalidations;
    const owner = await queries.findLiveTokenOwner(this.sql, digestBytes(digest));
    if (!owner) return undefined;
    const ttl = owner.expires_at.getTime() - Date.now();
    if (ttl > 0 && useCache && this.changes.trusted && invalidations === this.invalidations) {
      this.cache.set(digest, owner.user_id, { ttl });
    }
    return owner.user_id;
  }

  /**
   * Issues a new token (every login gets its own) and revokes the user's oldest ones beyond the
   * per-user limit. Pass a transaction (and its announce, from ChangeFeed.transaction) to make the
   * token part of a larger change (registration).
   */
  async issue(userId: number, within?: { tx: Queryable; announce: Announce }): Promise<IssuedToken> {
    const token = newToken();
    const expiresAt = new Date(Date.now() + this.config.tokenTtlMs);
    const insert = async (tx: Queryable, announce: Announce) => {
      await queries.insertToken(tx, digestBytes(tokenDigestHex(token)), userId, expiresAt);
      const evicted = await queries.deleteTokensBeyondNewest(tx, userId, this.config.tokenLimitPerUser);
      // A notification holds at most 8000 bytes: past a few dozen digests (a lowered
      // TOKEN_LIMIT_PER_USER evicts many at once), announce the user's tokens instead; the others
      // then drop every cached token of the user, and look the live ones up again.
      if (evicted.length > MAX_DIGESTS_ANNOUNCED) await announce(TOPIC_USER_TOKENS_REVOKED, userId);
      else if (evicted.length) await announce(TOPIC_TOKENS_REVOKED, evicted.map((d) => d.toString("hex")));
    };
    await (within ? insert(within.tx, within.announce) : this.changes.transaction(insert));
    return { token, expiresAt };
  }

  revoke(session: Session): Promise<void> {
    return this.changes.transaction(async (tx, announce) => {
      await queries.deleteToken(tx, digestBytes(session.digest));
      await announce(TOPIC_TOKENS_REVOKED, [session.digest]);
    });
  }

  revokeAll(userId: number): Promise<void> {
    return this.changes.transaction(async (tx, announce) => {
      await queries.deleteTokensOfUser(tx, userId);
      await this.userTokensRevoked(announce, userId);
    });
  }

  /** For changes that removed a user's tokens some other way (the user's deletion cascades). */
  userTokensRevoked(announce: Announce, userId: number): Promise<void> {
    return announce(TOPIC_USER_TOKENS_REVOKED, userId);
  }

  deleteExpiredTokens(): Promise<number> {
    return queries.deleteExpiredTokens(this.sql);
  }

  private forgetDigests(digests: string[]) {
    this.invalidations++;
    for (const digest of digests) this.cache.delete(digest);
  }

  private forgetUser(userId: number) {
    this.invalidations++;
    for (const [key, owner] of this.cache.entries()) if (owner === userId) this.cache.delete(key);
  }
}
