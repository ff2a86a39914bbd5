// The details answers of the current catalogue load, kept within a memory budget (DETAILS_CACHE_MB):
// filled only by details requests (nothing is read ahead, so a server nobody asks for details pays
// nothing), emptied by every load. Each answer is held as UTF-8 bytes with its ETag, so a hit costs
// neither an encoding nor a hash. Misses go to the database in batches (BatchedReads).
//
// The bytes live in one buffer of the budget's size, written round like a ring: a new answer
// overwrites the oldest ones (first in, first out). An answer evicted from an LRU of its own buffers
// was garbage of the old generation, whose native memory stayed until a full collection: churning
// 8 MB of answers at 12,000 misses a second grew RSS by ~50 MB between them. Overwritten bytes need no
// collection at all; what an evicted answer leaves to the collector is its small slot and ETag.
import { etagOf } from "../http/etag.ts";

export interface DetailsAnswer {
  body: Uint8Array;
  etag: string;
}

export interface DetailsCacheState {
  entries: number;
  /** The bytes of the answers held (the buffer itself is the budget, taken by the first answer kept). */
  bytes: number;
  /** Answers served from the cache and read from the database, since the server started. */
  hits: number;
  misses: number;
}

/** Where an answer's bytes are in the ring, and the answer served from there (a view, made once). */
interface Slot {
  id: number;
  start: number;
  answer: DetailsAnswer;
}

export class DetailsCache {
  private ring: Uint8Array | undefined;
  private readonly slots = new Map<number, Slot>();
  /** Every slot in the ring, oldest first from `oldest` (the array is compacted now and then). */
  private order: Slot[] = [];
  private oldest = 0;
  /** Where the next answer's bytes go. */
  private next = 0;
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(private readonly budgetBytes: number) {}

  get(id: number): DetailsAnswer | undefined {
    const answer = this.slots.get(id)?.answer;
    if (answer) this.hits++;
    else this.misses++;
    return answer;
  }

  /** Keeps a copy of the answer's bytes (the answer itself stays the caller's). */
  set(id: number, answer: DetailsAnswer): void {
    const length = answer.body.byteLength;
    const replaced = this.slots.get(id);
    if (replaced) this.forget(replaced);
    if (length === 0 || length > this.budgetBytes) return;
    const ring = (this.ring ??= new Uint8Array(this.budgetBytes));
    if (this.next + length > ring.length) {
      this.evictFrom(this.next, ring.length); // the ring's tail is too short: start again at 0
      this.next = 0;
    }
    const start = this.next;
    this.evictFrom(start, start + length);
    ring.set(answer.body, start);
    this.next = start + length;
    const slot: Slot = { id, start, answer: { body: ring.subarray(start, start + length), etag: answer.etag } };
    this.slots.set(id, slot);
    this.order.push(slot);
    this.bytes += length;
  }

  clear(): void {
    this.slots.clear();
    this.order = [];
    this.oldest = 0;
    this.next = 0;
    this.bytes = 0;
  }

  state(): DetailsCacheState {
    return { entries: this.slots.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }

  /**
   * Drops the oldest slots whose bytes start in [from, to): ahead of the write position, the oldest
   * answers are exactly the ones in the ring's order (each lap writes upwards from 0).
   */
  private evictFrom(from: number, to: number): void {
    const order = this.order;
    while (this.oldest < order.length) {
      const slot = order[this.oldest]!;
      if (slot.start < from || slot.start >= to) break;
      this.oldest++;
      if (this.slots.get(slot.id) === slot) this.forget(slot);
    }
    if (this.oldest > 1024 && this.oldest * 2 > order.length) {
      this.order = order.slice(this.oldest);
      this.oldest = 0;
    }
  }

  private forget(slot: Slot): void {
    this.slots.delete(slot.id);
    this.bytes -= slot.answer.body.byteLength;
  }
}

/**
 * A details body as the route sends it: its UTF-8 bytes and their strong ETag. Bytes are copied (a raw
 * read's bytes are a view of the connection's buffer).
 */
export function detailsAnswer(json: string | Uint8Array): DetailsAnswer {
  const body = typeof json === "string" ? Buffer.from(json, "utf8") : Buffer.from(json);
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
