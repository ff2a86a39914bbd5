// Every live token in memory: the first 112 bits of its SHA-256 digest, its owner, its expiry and the
// minute it was last used (as this process recorded it, in 16 bits), in one Uint32Array (24 bytes a
// slot; open addressing, linear probing, deletion by backward shift). A million tokens take about
// 32 MB outside the JavaScript heap, and a lookup allocates nothing.
// 112 bits keep a forged match out of reach: with a million live tokens, finding a token whose
// digest prefix matches one of them still takes about 2^92 hashes, each one a request.

/**
 * 3 digest words; the digest's next 16 bits and the last-use stamp (low 16 bits); owner; expiry
 * (seconds since the epoch).
 */
const WORDS_PER_SLOT = 6;
const DIGEST_AND_USE = 3;
const OWNER = 4;
const EXPIRY = 5;
const DIGEST_BITS_OF_WORD_3 = 0xffff0000;
const USE_STAMP = 0xffff;
/** No use recorded by this process (loaded from the database, or not used since). */
export const NOT_USED = 0;
/** Stamps repeat every this many minutes (~45 days); a stamp is never NOT_USED. */
const STAMP_PERIOD = 0xffff;

/**
 * A minute as a slot keeps it. Only "was this minute's use recorded" is asked of it (uses are
 * written once a minute), so minutes 45 days apart may share a stamp: at worst one use goes unwritten.
 */
function stampOf(minute: number): number {
  return (minute % STAMP_PERIOD) + 1;
}

/**
 * Whether stamp `next` is for a later minute than `previous`, within half a period (a stamp over ~22
 * days old may read as later: then one use is written twice).
 */
function isLaterStamp(next: number, previous: number): boolean {
  if (previous === NOT_USED) return true;
  const ahead = (next - previous + STAMP_PERIOD) % STAMP_PERIOD;
  return ahead > 0 && ahead < STAMP_PERIOD / 2;
}
const EMPTY = 0; // user ids start at 1
const MIN_CAPACITY = 1024;
/**
 * Linear probing this full still finds a live token in ~2.5 slots on average (~4 at the limit; a slot
 * is 24 contiguous bytes, so a probe run stays within a few cache lines); fuller tables would cost the
 * misses (unknown tokens) long runs. Every 0.1 of load saved costs ~4 MB at a million tokens.
 */
const MAX_LOAD = 0.85;
const GROWTH = 1.5;
/** A table sized for a load starts this full, leaving room for ~13% more tokens before it grows. */
const PRESIZED_LOAD = 0.75;

/** Seconds since the epoch, the unit expiries are kept in. */
export function epochSeconds(ms: number = Date.now()): number {
  return Math.floor(ms / 1000);
}

export class TokenIndex {
  private slots: Uint32Array;
  private capacity: number;
  private count = 0;

  constructor(
    /** Beyond this many tokens, inserts are refused (and lookups of the others go to the database). */
    private readonly maxTokens: number,
    initialCapacity = MIN_CAPACITY,
  ) {
    this.capacity = Math.max(MIN_CAPACITY, initialCapacity);
    this.slots = new Uint32Array(this.capacity * WORDS_PER_SLOT);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.slots.byteLength;
  }

  /** The owner of a live token, by its digest's first four 32-bit words; undefined if unknown or expired. */
  owner(digest: Uint32Array, nowSeconds: number): number | undefined {
    const slot = this.liveSlot(digest, nowSeconds);
    return slot < 0 ? undefined : this.ownerAt(slot);
  }

  /**
   * Where a live token is (-1 if unknown or expired): for ownerAt, usedIn and markUsedAt, which
   * read and write the slot without searching again. Valid only until the index next changes.
   */
  liveSlot(digest: Uint32Array, nowSeconds: number): number {
    const at = this.find(digest);
    return at >= 0 && this.slots[at * WORDS_PER_SLOT + EXPIRY]! > nowSeconds ? at : -1;
  }

  ownerAt(slot: number): number {
    return this.slots[slot * WORDS_PER_SLOT + OWNER]!;
  }

  /** Whether this process recorded a use of the token in `minute` (minutes since the epoch). */
  usedIn(slot: number, minute: number): boolean {
    return (this.slots[slot * WORDS_PER_SLOT + DIGEST_AND_USE]! & USE_STAMP) === stampOf(minute);
  }

  markUsedAt(slot: number, minute: number): void {
    this.setStamp(slot * WORDS_PER_SLOT, stampOf(minute));
  }

  /** Adds (or updates) a token; false if the index is full. Tokens that expire by `expirySeconds` are no use. */
  add(digest: Uint32Array, owner: number, expirySeconds: number, usedMinute = NOT_USED): boolean {
    const existing = this.find(digest);
    if (existing >= 0) {
      const base = existing * WORDS_PER_SLOT;
      this.slots[base + OWNER] = owner;
      this.slots[base + EXPIRY] = expirySeconds;
      if (usedMinute !== NOT_USED && isLaterStamp(stampOf(usedMinute), this.slots[base + DIGEST_AND_USE]! & USE_STAMP)) {
        this.setStamp(base, stampOf(usedMinute));
      }
      return true;
    }
    if (this.count >= this.maxTokens) return false;
    if (this.count + 1 > this.capacity * MAX_LOAD) this.resize(Math.ceil(this.capacity * GROWTH));
    const base = this.freeSlot(digest[0]!) * WORDS_PER_SLOT;
    const slots = this.slots;
    slots[base] = digest[0]!;
    slots[base + 1] = digest[1]!;
    slots[base + 2] = digest[2]!;
    slots[base + DIGEST_AND_USE] = (digest[3]! & DIGEST_BITS_OF_WORD_3) | (usedMinute === NOT_USED ? NOT_USED : stampOf(usedMinute));
    slots[base + OWNER] = owner;
    slots[base + EXPIRY] = expirySeconds;
    this.count++;
    return true;
  }

  remove(digest: Uint32Array): void {
    const at = this.find(digest);
    if (at >= 0) this.removeAt(at);
  }

  removeExpired(nowSeconds: number): number {
    const { slots, capacity } = this;
    let removed = 0;
    for (let at = 0; at < capacity; ) {
      const base = at * WORDS_PER_SLOT;
      if (slots[base + OWNER] !== EMPTY && slots[base + EXPIRY]! <= nowSeconds) {
        this.removeAt(at);
        removed++;
      } else at++;
    }
    return removed;
  }

  /** Empties the index; `expectedTokens` sizes it for a load (growing by copying leaves the old tables to the allocator). */
  clear(expectedTokens = 0): void {
    this.capacity = Math.max(MIN_CAPACITY, Math.ceil(Math.min(expectedTokens, this.maxTokens) / PRESIZED_LOAD));
    this.slots = new Uint32Array(this.capacity * WORDS_PER_SLOT);
    this.count = 0;
  }

  private home(firstWord: number): number {
    // The digest is uniformly distributed: its first word, scaled to the capacity, is the hash.
    return Math.floor((firstWord / 4294967296) * this.capacity);
  }

  private setStamp(base: number, stamp: number): void {
    this.slots[base + DIGEST_AND_USE] = (this.slots[base + DIGEST_AND_USE]! & DIGEST_BITS_OF_WORD_3) | stamp;
  }

  private find(digest: Uint32Array): number {
    const slots = this.slots;
    const top = digest[3]! >>> 16;
    for (let at = this.home(digest[0]!); ; at = at + 1 === this.capacity ? 0 : at + 1) {
      const base = at * WORDS_PER_SLOT;
      if (slots[base + OWNER] === EMPTY) return -1;
      if (
        slots[base] === digest[0] &&
        slots[base + 1] === digest[1] &&
        slots[base + 2] === digest[2] &&
        slots[base + DIGEST_AND_USE]! >>> 16 === top
      ) {
        return at;
      }
    }
  }

  /** The first empty slot of the probe run that starts at the home of `firstWord`. */
  private freeSlot(firstWord: number): number {
    let at = this.home(firstWord);
    while (this.slots[at * WORDS_PER_SLOT + OWNER] !== EMPTY) at = at + 1 === this.capacity ? 0 : at + 1;
    return at;
  }

  /** Backward-shift deletion: later entries of the same probe run move up, so no tombstones are needed. */
  private removeAt(hole: number): void {
    const slots = this.slots;
    let at = hole;
    for (;;) {
      at = at + 1 === this.capacity ? 0 : at + 1;
      const base = at * WORDS_PER_SLOT;
      if (slots[base + OWNER] === EMPTY) break;
      const home = this.home(slots[base]!);
      // The entry at `at` may fill the hole unless its home lies cyclically in (hole, at].
      const movable = hole <= at ? home <= hole || home > at : home <= hole && home > at;
      if (movable) {
        slots.copyWithin(hole * WORDS_PER_SLOT, base, base + WORDS_PER_SLOT);
        hole = at;
      }
    }
    slots.fill(0, hole * WORDS_PER_SLOT, (hole + 1) * WORDS_PER_SLOT);
    this.count--;
  }

  private resize(capacity: number): void {
    const old = this.slots;
    this.capacity = capacity;
    this.slots = new Uint32Array(capacity * WORDS_PER_SLOT);
    for (let base = 0; base < old.length; base += WORDS_PER_SLOT) {
      if (old[base + OWNER] !== EMPTY) this.slots.set(old.subarray(base, base + WORDS_PER_SLOT), this.freeSlot(old[base]!) * WORDS_PER_SLOT);
    }
  }
}
