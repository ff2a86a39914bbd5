// Token uses waiting to be written as tokens.last_used_at. A check records a use only when the
// token's minute changed (the index remembers the last one), so at most one use per token per minute
// is queued, and queuing copies 36 bytes into preallocated typed arrays: no allocation on the hot path.
// The queue is bounded: when it is full a use is refused, and the caller leaves the token's minute
// unchanged so that its next use queues it again.

const DIGEST_BYTES = 32;

export interface UseBatch {
  /** SHA-256 digests of the tokens used, lower-case hex. */
  digests: string[];
  /** The minute (since the epoch) each was used in. */
  minutes: number[];
}

export class TokenUses {
  private digests: Uint8Array;
  private minutes: Uint32Array;
  private count = 0;

  constructor(private readonly capacity: number) {
    this.digests = new Uint8Array(capacity * DIGEST_BYTES);
    this.minutes = new Uint32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Queues a use of the token with this 32-byte digest; false when the queue is full. */
  push(digest: Uint8Array, minute: number): boolean {
    if (this.count >= this.capacity) return false;
    this.digests.set(digest.subarray(0, DIGEST_BYTES), this.count * DIGEST_BYTES);
    this.minutes[this.count++] = minute;
    return true;
  }

  /** Everything queued, in a form the database takes; the queue is empty afterwards. */
  take(): UseBatch {
    const batch: UseBatch = { digests: [], minutes: [] };
    for (let i = 0; i < this.count; i++) {
      batch.digests.push(Buffer.from(this.digests.buffer, i * DIGEST_BYTES, DIGEST_BYTES).toString("hex"));
      batch.minutes.push(this.minutes[i]!);
    }
    this.count = 0;
    return batch;
  }

  /** Puts a batch that could not be written back (as much as fits): the next flush tries again. */
  restore(batch: UseBatch): void {
    for (let i = 0; i < batch.digests.length && !this.full; i++) {
      this.push(Buffer.from(batch.digests[i]!, "hex"), batch.minutes[i]!);
    }
  }
}
