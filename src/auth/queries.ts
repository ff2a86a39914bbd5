// SQL for tokens. Digests are bytea; the token itself never reaches the database.
import type { Queryable as Sql } from "../db/connect.ts";

export interface TokenOwner {
  userId: number;
  expiresAt: Date;
}

export async function findLiveTokenOwner(sql: Sql, digest: Buffer): Promise<TokenOwner | undefined> {
  const [row] = await sql<[{ user_id: number; expires_at: Date }?]>`
    select user_id, expires_at from tokens where digest = ${digest} and expires_at > now()`;
  return row && { userId: row.user_id, expiresAt: row.expires_at };
}

/**
 * Run in a transaction, followed by deleteTokensBeyondNewest. The user's row lock queues concurrent
 * logins of one user, so that each one's delete (a later statement, hence a later snapshot) counts
 * every token the logins before it committed; without it each counted only the committed tokens and
 * its own, and a burst of logins left the user more than TOKEN_LIMIT_PER_USER tokens. created_at is
 * the time of the insert, taken under the lock, so that the token just issued is always the newest.
 */
export async function insertToken(sql: Sql, token: NewToken): Promise<void> {
  await sql`select 1 from users where id = ${token.userId} for no key update`;
  await sql`
    insert into tokens (digest, user_id, created_at, expires_at, session_id, user_agent)
    values (${token.digest}, ${token.userId}, clock_timestamp(), ${token.expiresAt}, ${token.sessionId}, ${token.userAgent})`;
}

export interface NewToken {
  digest: Buffer;
  userId: number;
  expiresAt: Date;
  sessionId: string;
  userAgent: string | null;
}

/** A live token as its owner sees it: never its digest. */
export interface SessionRow {
  id: string;
  created: Date;
  lastUsed: Date | null;
  expiry: Date;
  userAgent: string | null;
  /** Whether it is the token with `currentDigest`. */
  current: boolean;
}

/** The user's live tokens, newest first (ties by id). */
export async function findSessionsOfUser(sql: Sql, userId: number, currentDigest: Buffer): Promise<SessionRow[]> {
  const rows = await sql<
    { session_id: string; created_at: Date; last_used_at: Date | null; expires_at: Date; user_agent: string | null; current: boolean }[]
  >`
    select session_id, created_at, last_used_at, expires_at, user_agent, digest = ${currentDigest} as current
    from tokens where user_id = ${userId} and expires_at > now()
    order by created_at desc, session_id collate "C"`;
  return rows.map((row) => ({
    id: row.session_id,
    created: row.created_at,
    lastUsed: row.last_used_at,
    expiry: row.expires_at,
    userAgent: row.user_agent,
    current: row.current,
  }));
}

/** Deletes one of the user's tokens by its session id, returning its digest (undefined: no such token of theirs). */
export async function deleteSessionOfUser(sql: Sql, userId: number, sessionId: string): Promise<Buffer | undefined> {
  const [row] = await sql<[{ digest: Buffer }?]>`
    delete from tokens where user_id = ${userId} and session_id = ${sessionId} returning digest`;
  return row?.digest;
}

/**
 * Records token uses (digest in hex, minute since the epoch) in one statement; a use never moves
 * last_used_at back (another instance may have written a later minute).
 */
export async function recordTokenUses(sql: Sql, uses: { digests: string[]; minutes: number[] }): Promise<number> {
  const rows = uses.digests.map((digest, i) => ({ d: digest, m: uses.minutes[i] }));
  const result = await sql`
    update tokens t set last_used_at = u.used_at
    from (
      select decode(r.d, 'hex') as digest, to_timestamp(max(r.m) * 60) as used_at
      from json_to_recordset(${JSON.stringify(rows)}::text::json) as r(d text, m bigint)
      group by r.d) u
    where t.digest = u.digest and (t.last_used_at is null or t.last_used_at < u.used_at)`;
  return result.count;
}

/** Deletes the user's oldest tokens beyond `keep`, returning their digests. */
export async function deleteTokensBeyondNewest(sql: Sql, userId: number, keep: number): Promise<Buffer[]> {
  const rows = await sql<{ digest: Buffer }[]>`
    delete from tokens where digest in (
      select digest from tokens where user_id = ${userId}
      order by created_at desc, digest offset ${keep})
    returning digest`;
  return rows.map((row) => row.digest);
}

export async function deleteToken(sql: Sql, digest: Buffer): Promise<void> {
  await sql`delete from tokens where digest = ${digest}`;
}

/** Deletes every token of the user, returning their digests. */
export async function deleteTokensOfUser(sql: Sql, userId: number): Promise<Buffer[]> {
  const rows = await sql<{ digest: Buffer }[]>`delete from tokens where user_id = ${userId} returning digest`;
  return rows.map((row) => row.digest);
}

export async function deleteExpiredTokens(sql: Sql): Promise<number> {
  const result = await sql`delete from tokens where expires_at <= now()`;
  return result.count;
}

export async function countLiveTokens(sql: Sql): Promise<number> {
  const [row] = await sql<[{ count: number }]>`select count(*)::int as count from tokens where expires_at > now()`;
  return row.count;
}

/** A chunk of live tokens, packed by PostgreSQL: one buffer instead of a row object per token. */
export interface LiveTokenChunk {
  count: number;
  /** The chunk's greatest digest: where the next chunk starts. */
  last: Buffer | null;
  /** `count` records of PACKED_TOKEN_BYTES: digest[0..16), user id (int4), expiry in epoch seconds (int8), big-endian. */
  packed: Buffer | null;
}

export const PACKED_TOKEN_BYTES = 28;

/** Live tokens in digest order, from just after `after` (keyset pagination over the primary key). */
export async function findLiveTokensAfter(sql: Sql, after: Buffer | undefined, limit: number): Promise<LiveTokenChunk> {
  const [chunk] = await sql<[LiveTokenChunk]>`
    with chunk as (
      select digest, user_id, expires_at from tokens
      where expires_at > now() ${after ? sql`and digest > ${after}` : sql``}
      order by digest limit ${limit})
    select
      count(*)::int as count,
      (array_agg(digest order by digest desc))[1] as last,
      string_agg(
        substring(digest from 1 for 16) || int4send(user_id) || int8send(floor(extract(epoch from expires_at))::int8),
        ''::bytea) as packed
    from chunk`;
  return chunk;
}

export interface ThrottleWindow {
  key: string;
  attempts: number;
  resetsAt: Date;
}

/**
 * Locks each key's window (in key order: concurrent reservations never deadlock), starting a new one
 * where the old has ended, and returns them. Run in a transaction, before reserveAttempts.
 */
export async function lockThrottleWindows(sql: Sql, limits: { key: string; windowMs: number }[]): Promise<ThrottleWindow[]> {
  const sorted = [...limits].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const rows = await sql<{ key: string; attempts: number; resets_at: Date }[]>`
    insert into throttle_windows as w (key, attempts, resets_at)
    select key, 0, date_trunc('milliseconds', now() + window_ms * interval '1 millisecond')
    from json_to_recordset(${JSON.stringify(sorted.map(({ key, windowMs }) => ({ key, window_ms: windowMs })))}::text::json)
      as l(key text, window_ms bigint)
    on conflict (key) do update set
      attempts = case when w.resets_at <= now() then 0 else w.attempts end,
      resets_at = case when w.resets_at <= now() then excluded.resets_at else w.resets_at end
    returning key, attempts, resets_at`;
  return rows.map((row) => ({ key: row.key, attempts: row.attempts, resetsAt: row.resets_at }));
}

export async function reserveAttempts(sql: Sql, keys: string[]): Promise<void> {
  await sql`update throttle_windows set attempts = attempts + 1 where key in ${sql(keys)}`;
}

/** Gives reserved attempts back, unless their window has been replaced since (windows end on a whole millisecond). */
export async function releaseAttempts(sql: Sql, windows: { key: string; resetsAt: Date }[]): Promise<void> {
  await sql`
    update throttle_windows w set attempts = greatest(w.attempts - 1, 0)
    from json_to_recordset(${JSON.stringify(windows)}::text::json) as r(key text, "resetsAt" timestamptz)
    where w.key = r.key and w.resets_at = r."resetsAt"`;
}

export async function deleteEndedThrottleWindows(sql: Sql): Promise<number> {
  const result = await sql`delete from throttle_windows where resets_at <= now()`;
  return result.count;
}
