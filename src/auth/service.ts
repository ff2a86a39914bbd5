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
import { invalidToken, notAuthenticated, notFound } from "../http/errors.ts";
import { type Logger, describeError } from "../log.ts";
import type { SessionItem } from "../shared/sessions.ts";
import * as queries from "./queries.ts";
import { NOT_USED, TokenIndex, epochSeconds } from "./token-index.ts";
import { TokenUses } from "./token-uses.ts";
import { digestWords, isSessionId, newSessionId, newToken, readAuthorization, tokenDigest, userAgentOf } from "./tokens.ts";

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
/** How often this instance writes the token uses it recorded (tokens.last_used_at), in one statement. */
const USE_FLUSH_MS = 15_000;
/**
 * Uses waiting to be written, at most (36 bytes each, preallocated: 576 KiB). This bounds the
 * database's work for last_used (an UPDATE of a row per use, ~0.1 ms of PostgreSQL time a row on a
 * busy small machine) to one 16,384-row statement every 15 s, whatever the traffic: up to ~65,000
 * distinct tokens used a minute on an instance are recorded to the minute. Beyond that a use finds
 * the queue full and is recorded at the token's next use once there is room again.
 */
const USE_QUEUE_CAPACITY = 16_384;

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
  /** Token uses not yet written to the database (see noteUse). */
  private readonly uses = new TokenUses(USE_QUEUE_CAPACITY);
  private flushing: Promise<void> = Promise.resolve();
  private flushTimer: ReturnType<typeof setInterval> | undefined;

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
    this.flushTimer = setInterval(() => void this.flushUses(), USE_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** Stops the background work; call flushUses() afterwards (before the database closes) to keep the last uses. */
  stop(): void {
    this.stopped = true;
    this.generation++;
    this.ready = false;
    clearInterval(this.flushTimer);
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
      const now = epochSeconds();
      const slot = this.index.liveSlot(this.scratchWords, now);
      if (slot >= 0) {
        this.noteUse(slot, now);
        return { userId: this.index.ownerAt(slot), token };
      }
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
    const minute = minuteOf(epochSeconds());
    const queued = this.uses.push(digest, minute);
    const unchanged = revocations === this.revocations && generation === this.generation;
    if (unchanged && this.ready && this.changes.trusted) {
      this.index.add(digestWords(digest), owner.userId, epochSeconds(owner.expiresAt.getTime()), queued ? minute : NOT_USED);
    }
    return owner.userId;
  }

  /**
   * Records a use of the token in `slot` (its digest in the scratch buffer) once per minute: the
   * minute is compared with the one the index holds, and only a new one is queued (a 36-byte copy).
   */
  private noteUse(slot: number, nowSeconds: number): void {
    const minute = minuteOf(nowSeconds);
    if (this.index.usedIn(slot, minute)) return;
    if (this.uses.push(this.scratch, minute)) this.index.markUsedAt(slot, minute);
  }

  /**
   * Writes the token uses queued so far (one statement), after any write already under way. Never
   * throws: a failure is logged and the uses are kept for the next try.
   */
  flushUses(): Promise<void> {
    const run = this.flushing.then(() => this.writeUses());
    this.flushing = run;
    return run;
  }

  private async writeUses(): Promise<void> {
    if (this.uses.size === 0) return;
    const batch = this.uses.take();
    try {
      await queries.recordTokenUses(this.sql, batch);
    } catch (error) {
      this.uses.restore(batch);
      this.log.warn("recording token uses failed; kept for the next try", { uses: batch.digests.length, retry_in_ms: USE_FLUSH_MS, ...describeError(error) });
    }
  }

  /** The user's live sessions, newest first; this instance's own uses are written first, so last_used is exact for them. */
  async listSessions(session: Session): Promise<SessionItem[]> {
    await this.flushUses();
    const rows = await queries.findSessionsOfUser(this.sql, session.userId, Buffer.from(tokenDigest(session.token)));
    return rows.map((row) => ({
      id: row.id,
      created: row.created.toISOString(),
      last_used: row.lastUsed?.toISOString() ?? null,
      expiry: row.expiry.toISOString(),
      user_agent: row.userAgent,
      current: row.current,
    }));
  }

  /** Revokes one of the user's tokens by its session id, on every instance; 404 for an id that is not theirs. */
  async revokeSession(session: Session, sessionId: string): Promise<void> {
    if (!isSessionId(sessionId)) throw notFound();
    await this.changes.transaction(async (tx, announce) => {
      const digest = await queries.deleteSessionOfUser(tx, session.userId, sessionId);
      if (!digest) throw notFound();
      await announceRevoked(announce, [digest]);
    });
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
   * token part of a larger change (registration, a password change). The index learns the token when
   * it is first used. `userAgent` is the User-Agent header of the request it is issued to (kept to 256
   * characters).
   */
  async issue(userId: number, within?: { tx: Queryable; announce: Announce }, userAgent?: string | null): Promise<IssuedToken> {
    const token = newToken();
    const expiresAt = new Date(Date.now() + this.config.tokenTtlMs);
    const digest = Buffer.from(tokenDigest(token));
    const newRow = { digest, userId, expiresAt, sessionId: newSessionId(), userAgent: userAgentOf(userAgent) };
    const insert = async (tx: Queryable, announce: Announce) => {
      await queries.insertToken(tx, newRow);
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

const minuteOf = (epochSeconds: number) => Math.floor(epochSeconds / 60);

async function announceRevoked(announce: Announce, digests: Buffer[]): Promise<void> {
  const prefixes = digests.map((digest) => digest.subarray(0, DIGEST_PREFIX_BYTES).toString("hex"));
  for (let start = 0; start < prefixes.length; start += DIGESTS_PER_ANNOUNCEMENT) {
    await announce(TOPIC_TOKENS_REVOKED, prefixes.slice(start, start + DIGESTS_PER_ANNOUNCEMENT));
  }
}
