// The details answers of the current catalogue load, kept within a memory budget (DETAILS_CACHE_MB):
// an LRU filled only by details requests (nothing is read ahead, so a server nobody asks for details
// pays nothing), emptied by every load. Each answer is held as UTF-8 bytes with its ETag, so a hit
// costs neither an encoding nor a hash. Misses go to the database in batches (BatchedReads).
import { LRUCache } from "lru-cache";
import { etagOf } from "../http/etag.ts";

/** Per answer, beyond its bytes: the buffer's objects, the ETag string, the LRU's slots (measured: ~450). */
const ANSWER_OVERHEAD_BYTES = 512;

export interface DetailsAnswer {
  body: Uint8Array;
  etag: string;
}

export interface DetailsCacheState {
  entries: number;
  bytes: number;
  /** Answers served from the cache and read from the database, since the server started. */
  hits: number;
  misses: number;
}

export class DetailsCache {
  private readonly answers: LRUCache<number, DetailsAnswer> | undefined;
  private hits = 0;
  private misses = 0;

  constructor(budgetBytes: number) {
    this.answers =
      budgetBytes > 0
        ? new LRUCache({ maxSize: budgetBytes, sizeCalculation: (answer) => answer.body.byteLength + ANSWER_OVERHEAD_BYTES })
        : undefined;
  }

  get(id: number): DetailsAnswer | undefined {
    const answer = this.answers?.get(id);
    if (answer) this.hits++;
    else this.misses++;
    return answer;
  }

  set(id: number, answer: DetailsAnswer): void {
    this.answers?.set(id, answer);
  }

  clear(): void {
    this.answers?.clear();
  }

  state(): DetailsCacheState {
    return { entries: this.answers?.size ?? 0, bytes: this.answers?.calculatedSize ?? 0, hits: this.hits, misses: this.misses };
  }
}

/** A details body as the route sends it: its UTF-8 bytes and their strong ETag. */
export function detailsAnswer(json: string): DetailsAnswer {
  const body = Buffer.from(json);
  return { body, etag: etagOf(body) };
}

type Waiter<V> = { resolve: (value: V | undefined) => void; reject: (error: unknown) => void };

/**
 * Reads asked for during one turn of the event loop go to the database as one statement (at most
 * `maxBatch` keys each): under load, one round trip and one statement for many misses instead of
 * one each. A key asked for twice in a batch is read once.
 */
export class BatchedReads<V> {
  private pending: Map<number, Waiter<V>[]> | undefined;

  constructor(
    private readonly read: (keys: number[]) => Promise<Map<number, V>>,
    private readonly maxBatch: number,
  ) {}

  get(key: number): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      let batch = this.pending;
      if (!batch || (batch.size >= this.maxBatch && !batch.has(key))) {
        const fresh = new Map<number, Waiter<V>[]>();
        this.pending = batch = fresh;
        setImmediate(() => this.flush(fresh));
      }
      const waiters = batch.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else batch.set(key, [{ resolve, reject }]);
    });
  }

  private flush(batch: Map<number, Waiter<V>[]>): void {
    if (this.pending === batch) this.pending = undefined;
    this.read([...batch.keys()]).then(
      (found) => {
        for (const [key, waiters] of batch) for (const waiter of waiters) waiter.resolve(found.get(key));
      },
      (error) => {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      },
    );
  }
}
