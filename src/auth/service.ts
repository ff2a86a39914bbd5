// Token authentication: issuing, checking and revoking tokens. Checks are answered from an in-memory
// index of every live token (TokenIndex), loaded in the background at start and kept current by the
// change feed: each instance announces the tokens it revokes (by digest), and every instance forgets
// them. A token the index does not know (issued a moment ago, or the index still loading) is looked up
// in the database and then remembered, so the index only ever speeds up a check, never decides a
// rejection, and it only ever holds what this process read from PostgreSQL (a notification can make
// it forget a token, never learn one: see src/db/changes.ts).
import type { Sql } from "postgres";
import type { Queryable } from "../db/connect.ts";
import type { Config } from "../config.ts";
import { type Announce, type ChangeFeed, isHexDigestList } from "../db/changes.ts";
import { invalidToken, notAuthenticated } from "../http/errors.ts";
import { type Logger, describeError } from "../log.ts";
import * as queries from "./queries.ts";
import { TokenIndex, epochSeconds } from "./token-index.ts";
import { digestWords, newToken, readAuthorization, tokenDigest } from "./tokens.ts";

export interface Session {
  userId: number;
  /** The token the request used (kept to revoke it at logout; never logged). */
  token: string;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

export interface TokenIndexState {
  /** Whether the index holds every live token (until then, checks go to the database). */
  ready: boolean;
  tokens: number;
  bytes: number;
}

const TOPIC_TOKENS_REVOKED = "tokens.revoked";
/**
 * Revoked tokens are announced by the first 16 bytes of their digest (what the index keys on), as 32
 * hex characters: 200 of them a notification stay below pg_notify's 8000-byte payload limit.
 */
const DIGEST_PREFIX_BYTES = 16;
const DIGESTS_PER_ANNOUNCEMENT = 200;
const LOAD_CHUNK = 10_000;
const CHUNKS_BETWEEN_COLLECTIONS = 10;
const LOAD_RETRY_MS = 1_000;

type AuthConfig = Pick<Config, "tokenTtlMs" | "tokenLimitPerUser" | "tokenIndexMax">;

export class Auth {
  private readonly index: TokenIndex;
  private ready = false;
  /** After stop(), a resync of the feed (which has no unsubscribe) no longer reloads the index. */
  private stopped = false;
  /** Bumped by every (re)load and by stop(): a load whose generation is no longer current gives up. */
  private generation = 0;
  /** Revocations heard while the index loads, replayed once it has: the load may have read them as live. */
  private heardDuringLoad: Uint32Array[] | undefined;
  /**
   * Counts revocations. A database lookup only adds what it read to the index if none happened
   * meanwhile: a read that began before a revocation committed but returned after its notification
   * was applied would otherwise put the revoked token back, on this instance, until it expires.
   */
  private revocations = 0;
  /** The digest of the token being checked: a check allocates no digest of its own. */
  private readonly scratch = new Uint8Array(32);
  private readonly scratchWords = new Uint32Array(this.scratch.buffer, 0, 4);

  constructor(
    private readonly sql: Sql,
    private readonly changes: ChangeFeed,
    private readonly config: AuthConfig,
    private readonly log: Logger,
  ) {
    this.index = new TokenIndex(config.tokenIndexMax);
    changes.on(TOPIC_TOKENS_REVOKED, isHexDigestList, (digests) => this.forgetDigests(digests));
    // Notifications may have been missed: whatever the index holds may be stale.
    changes.onResync(() => {
      if (!this.stopped) void this.loadIndex();
    });
  }

  /** Starts loading the index in the background; checks go to the database until it is complete. */
  start(): void {
    void this.loadIndex();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.ready = false;
  }

  indexState(): TokenIndexState {
    return { ready: this.ready, tokens: this.index.size, bytes: this.index.bytes };
  }

  /**
   * The session behind an Authorization header, or the contract's 401. A token in the index is
   * answered synchronously (no promise on the hot path); a lookup in the database returns a promise.
   */
  authenticate(header: string | null): Session | Promise<Session> {
    const credentials = readAuthorization(header);
    if (credentials.kind === "none") throw notAuthenticated();
    if (credentials.kind === "malformed") throw invalidToken();
    const { token } = credentials;
    if (this.ready && this.changes.trusted) {
      tokenDigest(token, this.scratch);
      const userId = this.index.owner(this.scratchWords, epochSeconds());
      if (userId !== undefined) return { userId, token };
    }
    return this.findLiveOwner(token).then((userId) => {
      if (userId === undefined) throw invalidToken();
      return { userId, token };
    });
  }

  private async findLiveOwner(token: string): Promise<number | undefined> {
    const revocations = this.revocations;
    const generation = this.generation;
    const digest = tokenDigest(token);
    const owner = await queries.findLiveTokenOwner(this.sql, Buffer.from(digest));
    if (!owner) return undefined;
    const unchanged = revocations === this.revocations && generation === this.generation;
    if (unchanged && this.ready && this.changes.trusted) {
      this.index.add(digestWords(digest), owner.userId, epochSeconds(owner.expiresAt.getTime()));
    }
    return owner.userId;
  }

  /** Reads every live token into a fresh index, in chunks (no connection is held for long). */
  private async loadIndex(): Promise<void> {
    const generation = ++this.generation;
    this.ready = false;
    this.heardDuringLoad = [];
    try {
      const expected = await queries.countLiveTokens(this.sql);
      if (generation !== this.generation) return;
      this.index.clear(expected);
      let after: Buffer | undefined;
      for (let chunks = 1; ; chunks++) {
        const chunk = await queries.findLiveTokensAfter(this.sql, after, LOAD_CHUNK);
        if (generation !== this.generation) return;
        if (chunk.packed) this.indexPacked(chunk.packed);
        // The chunks read are garbage the collector's pacing barely notices (mostly outside its heap):
        // collect them every so often, so that loading a million tokens does not lift RSS by ~60 MiB.
        if (chunks % CHUNKS_BETWEEN_COLLECTIONS === 0) Bun.gc(true);
        if (chunk.count < LOAD_CHUNK || !chunk.last) break;
        after = chunk.last;
      }
      for (const digest of this.heardDuringLoad) this.index.remove(digest);
      this.heardDuringLoad = undefined;
      this.ready = true;
      Bun.gc(true);
    } catch (error) {
      // The database is unavailable: checks keep going to it (and fail there) until a retry succeeds.
      if (generation !== this.generation) return;
      this.log.warn("token index load failed; retrying", { retry_in_ms: LOAD_RETRY_MS, ...describeError(error) });
      await Bun.sleep(LOAD_RETRY_MS);
      if (generation === this.generation) void this.loadIndex();
    }
  }

  /**
   * Issues a new token (every login gets its own) and revokes the user's oldest ones beyond the
   * per-user limit. Pass a transaction (and its announce, from ChangeFeed.transaction) to make the
   * token part of a larger change (registration). The index learns the token when it is first used.
   */
  async issue(userId: number, within?: { tx: Queryable; announce: Announce }): Promise<IssuedToken> {
    const token = newToken();
    const expiresAt = new Date(Date.now() + this.config.tokenTtlMs);
    const digest = Buffer.from(tokenDigest(token));
    const insert = async (tx: Queryable, announce: Announce) => {
      await queries.insertToken(tx, digest, userId, expiresAt);
      const evicted = await queries.deleteTokensBeyondNewest(tx, userId, this.config.tokenLimitPerUser);
      await announceRevoked(announce, evicted);
    };
    await (within ? insert(within.tx, within.announce) : this.changes.transaction(insert));
    return { token, expiresAt };
  }

  revoke(session: Session): Promise<void> {
    const digest = Buffer.from(tokenDigest(session.token));
    return this.changes.transaction(async (tx, announce) => {
      await queries.deleteToken(tx, digest);
      await announceRevoked(announce, [digest]);
    });
  }

  revokeAll(userId: number): Promise<void> {
    return this.changes.transaction((tx, announce) => this.revokeAllWithin(tx, announce, userId));
  }

  /**
   * Deletes every token of the user inside a larger change (account deletion, a password change) and
   * announces them by digest: each instance forgets just those, at a cost proportional to their number.
   */
  async revokeAllWithin(tx: Queryable, announce: Announce, userId: number): Promise<void> {
    await announceRevoked(announce, await queries.deleteTokensOfUser(tx, userId));
  }

  async deleteExpiredTokens(): Promise<number> {
    this.index.removeExpired(epochSeconds());
    return queries.deleteExpiredTokens(this.sql);
  }

  private indexPacked(packed: Buffer) {
    const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
    const words = new Uint32Array(4);
    const wordBytes = new Uint8Array(words.buffer);
    for (let at = 0; at + queries.PACKED_TOKEN_BYTES <= packed.length; at += queries.PACKED_TOKEN_BYTES) {
      wordBytes.set(packed.subarray(at, at + 16));
      // The expiry is an int8; its low 32 bits hold any time until 2106.
      this.index.add(words, view.getInt32(at + 16), view.getUint32(at + 24));
    }
  }

  private forgetDigests(digests: string[]) {
    this.revocations++;
    for (const hex of digests) {
      const words = digestWords(Buffer.from(hex, "hex"));
      this.index.remove(words);
      this.heardDuringLoad?.push(words);
    }
  }
}

async function announceRevoked(announce: Announce, digests: Buffer[]): Promise<void> {
  const prefixes = digests.map((digest) => digest.subarray(0, DIGEST_PREFIX_BYTES).toString("hex"));
  for (let start = 0; start < prefixes.length; start += DIGESTS_PER_ANNOUNCEMENT) {
    await announce(TOPIC_TOKENS_REVOKED, prefixes.slice(start, start + DIGESTS_PER_ANNOUNCEMENT));
  }
}
