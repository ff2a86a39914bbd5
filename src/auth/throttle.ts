// Attempt limits that hold under concurrency and across instances: failed logins, wrong passwords
// (account settings) and registrations. An attempt is *reserved* in PostgreSQL before the expensive
// check (argon2id) runs, under the lock of each key's window row, so that however many requests are
// in flight at once, on however many instances, at most `max` of them are ever evaluated per window;
// an attempt that succeeds gives its reservation back. A key known to be full is refused from memory
// until its window ends (the moment read from the database), without another round trip.
import { LRUCache } from "lru-cache";
import type { Sql } from "postgres";
import type { RateLimit } from "../config.ts";
import { throttled } from "../http/errors.ts";
import * as queries from "./queries.ts";

export interface Limit extends RateLimit {
  /** What is counted, e.g. `login:user:alice` or `login:addr:198.51.100.7`. */
  key: string;
}

export interface Reservation {
  /** Gives the attempt back to every limit (the attempt succeeded). */
  release(): Promise<void>;
}

const NOTHING_RESERVED: Reservation = { release: async () => {} };
const FULL_KEYS_REMEMBERED = 100_000;

export class Throttles {
  /** Keys whose window is full, until when (ms since the epoch): as read from the database. */
  private readonly fullUntil = new LRUCache<string, number>({ max: FULL_KEYS_REMEMBERED });

  constructor(
    private readonly sql: Sql,
    private readonly enabled: boolean,
  ) {}

  /** Reserves one attempt under every limit, or reserves none and throws the contract's 429. */
  async reserve(limits: Limit[]): Promise<Reservation> {
    if (!this.enabled || limits.length === 0) return NOTHING_RESERVED;
    this.refuseKnownFull(limits);
    const outcome = await this.sql.begin(async (tx) => {
      const windows = await queries.lockThrottleWindows(tx, limits);
      const full = windows.filter((window) => window.attempts >= limitFor(limits, window.key).max);
      if (full.length === 0) await queries.reserveAttempts(tx, windows.map((window) => window.key));
      return { windows, full };
    });
    if (outcome.full.length) {
      for (const { key, resetsAt } of outcome.full) this.fullUntil.set(key, resetsAt.getTime());
      throw throttled(secondsUntil(Math.max(...outcome.full.map((window) => window.resetsAt.getTime()))));
    }
    return { release: () => queries.releaseAttempts(this.sql, outcome.windows) };
  }

  /** Forgets the windows that have ended (the table would otherwise keep every key ever seen). */
  deleteEnded(): Promise<number> {
    return queries.deleteEndedThrottleWindows(this.sql);
  }

  private refuseKnownFull(limits: Limit[]) {
    const now = Date.now();
    let until = 0;
    for (const { key } of limits) {
      const known = this.fullUntil.get(key);
      if (known !== undefined && known > now) until = Math.max(until, known);
    }
    if (until) throw throttled(secondsUntil(until));
  }
}

function limitFor(limits: Limit[], key: string): Limit {
  const limit = limits.find((candidate) => candidate.key === key);
  if (!limit) throw new Error(`no limit for throttle key ${key}`);
  return limit;
}

function secondsUntil(epochMs: number): number {
  return Math.max(1, Math.ceil((epochMs - Date.now()) / 1000));
}
