// Token authentication: issuing, checking and revoking tokens. Checks are answered from an in-memory
// index of every live token (TokenIndex), loaded in the background at start and kept current by the
// change feed: each instance announces the tokens it issues and revokes. A token the index does not
// know (issued on another instance a moment ago, or the index still loading) is looked up in the
// database, so the index only ever speeds up a check, never decides a rejection.
import type { Sql } from "postgres";
import type { Queryable } from "../db/connect.ts";
import type { Config } from "../config.ts";
import type { Announce, ChangeFeed } from "../db/changes.ts";
import { invalidToken, notAuthenticated } from "../http/errors.ts";
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

interface IssuedAnnouncement {
  digest: string; // hex
  userId: number;
  expiresAt: number; // ms since the epoch
}

const TOPIC_TOKEN_ISSUED = "token.issued";
const TOPIC_TOKENS_REVOKED = "tokens.revoked";
const TOPIC_USER_TOKENS_REVOKED = "user.tokens_revoked";
/** 64 hex characters each: 32 of them stay far below pg_notify's 8000-byte payload limit. */
const MAX_DIGESTS_ANNOUNCED = 32;
const LOAD_CHUNK = 10_000;
const CHUNKS_BETWEEN_COLLECTIONS = 10;
const LOAD_RETRY_MS = 1_000;

type AuthConfig = Pick<Config, "tokenTtlMs" | "tokenLimitPerUser" | "tokenIndexMax">;

/** Revocations heard while the index loads, replayed once it has: the load may have read them as live. */
interface HeardDuringLoad {
  digests: Uint32Array[];
  owners: number[];
}

export class Auth {
  private readonly index: TokenIndex;
  private ready = false;
  /** Bumped by every (re)load and by stop(): a load whose generation is no longer current gives up. */
  private generation = 0;
  private heardDuringLoad: HeardDuringLoad | undefined;
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
  ) {
    this.index = new TokenIndex(config.tokenIndexMax);
    changes.on(TOPIC_TOKEN_ISSUED, (data) => this.indexIssued(data as IssuedAnnouncement));
    changes.on(TOPIC_TOKENS_REVOKED, (digests) => this.forgetDigests(digests as string[]));
    changes.on(TOPIC_USER_TOKENS_REVOKED, (userId) => this.forgetUser(userId as number));
    // Notifications may have been missed: whatever the index holds may be stale.
    changes.onResync(() => void this.loadIndex());
  }

  /** Starts loading the index in the background; checks go to the database until it is complete. */
  start(): void {
    void this.loadIndex();
  }

  stop(): void {
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
      this.index.add(digestWords(digest), owner.user_id, epochSeconds(owner.expires_at.getTime()));
    }
    return owner.user_id;
  }

  /** Reads every live token into a fresh index, in chunks (no connection is held for long). */
  private async loadIndex(): Promise<void> {
    const generation = ++this.generation;
    this.ready = false;
    this.heardDuringLoad = { digests: [], owners: [] };
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
      const heard = this.heardDuringLoad;
      for (const digest of heard.digests) this.index.remove(digest);
      for (const owner of heard.owners) this.index.removeOwner(owner);
      this.heardDuringLoad = undefined;
      this.ready = true;
      Bun.gc(true);
    } catch {
      // The database is unavailable: checks keep going to it (and fail there) until a retry succeeds.
      if (generation !== this.generation) return;
      await Bun.sleep(LOAD_RETRY_MS);
      if (generation === this.generation) void this.loadIndex();
    }
  }

  /**
   * Issues a new token (every login gets its own) and revokes the user's oldest ones beyond the
   * per-user limit. Pass a transaction (and its announce, from ChangeFeed.transaction) to make the
   * token part of a larger change (registration).
   */
  async issue(userId: number, within?: { tx: Queryable; announce: Announce }): Promise<IssuedToken> {
    const token = newToken();
    const expiresAt = new Date(Date.now() + this.config.tokenTtlMs);
    const digest = Buffer.from(tokenDigest(token));
    const insert = async (tx: Queryable, announce: Announce) => {
      await queries.insertToken(tx, digest, userId, expiresAt);
      const evicted = await queries.deleteTokensBeyondNewest(tx, userId, this.config.tokenLimitPerUser);
      // A notification holds at most 8000 bytes: past a few dozen digests (a lowered
      // TOKEN_LIMIT_PER_USER evicts many at once), announce the user's tokens instead; the others
      // then drop every token of the user from their index, and look the live ones up again.
      if (evicted.length > MAX_DIGESTS_ANNOUNCED) await announce(TOPIC_USER_TOKENS_REVOKED, userId);
      else if (evicted.length) await announce(TOPIC_TOKENS_REVOKED, evicted.map((d) => d.toString("hex")));
      const issued: IssuedAnnouncement = { digest: digest.toString("hex"), userId, expiresAt: expiresAt.getTime() };
      await announce(TOPIC_TOKEN_ISSUED, issued);
    };
    await (within ? insert(within.tx, within.announce) : this.changes.transaction(insert));
    return { token, expiresAt };
  }

  revoke(session: Session): Promise<void> {
    const digest = Buffer.from(tokenDigest(session.token));
    return this.changes.transaction(async (tx, announce) => {
      await queries.deleteToken(tx, digest);
      await announce(TOPIC_TOKENS_REVOKED, [digest.toString("hex")]);
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

  private indexIssued({ digest, userId, expiresAt }: IssuedAnnouncement) {
    this.index.add(digestWords(Buffer.from(digest, "hex")), userId, epochSeconds(expiresAt));
  }

  private forgetDigests(digests: string[]) {
    this.revocations++;
    for (const hex of digests) {
      const words = digestWords(Buffer.from(hex, "hex"));
      this.index.remove(words);
      this.heardDuringLoad?.digests.push(words);
    }
  }

  private forgetUser(userId: number) {
    this.revocations++;
    this.index.removeOwner(userId);
    this.heardDuringLoad?.owners.push(userId);
  }
}
