// Every entry's serialized body, UTF-8, back to back in one buffer, found by binary search over the
// sorted ids. One ArrayBuffer instead of hundreds of thousands of strings: the garbage collector
// has nothing to trace in it, and a lookup touches two typed arrays.
export class PackedBodies {
  private constructor(
    private readonly ids: Int32Array,
    private readonly offsets: Float64Array,
    private readonly bytes: Uint8Array,
  ) {}

  get byteLength(): number {
    return this.bytes.byteLength;
  }

  get(id: number): Uint8Array | undefined {
    const position = positionOfId(this.ids, id);
    return position === -1 ? undefined : this.bytes.subarray(this.offsets[position], this.offsets[position + 1]);
  }

  /** The body at a position in id order, if it is the entry `id` (no search: for a position the caller drew). */
  at(position: number, id: number): Uint8Array | undefined {
    if (this.ids[position] !== id) return undefined;
    return this.bytes.subarray(this.offsets[position], this.offsets[position + 1]);
  }

  /** Collects bodies in ascending id order; `add` returns false once `maxBytes` would be exceeded. */
  static builder(maxBytes: number) {
    const encoder = new TextEncoder();
    let ids = new Int32Array(1024);
    let offsets = new Float64Array(1025);
    let bytes = new Uint8Array(1 << 20);
    let count = 0;
    let used = 0;

    return {
      add(id: number, body: string): boolean {
        const needed = used + body.length * 3; // UTF-8 takes at most 3 bytes per UTF-16 unit
        if (needed > bytes.length) {
          if (used + body.length > maxBytes) return false;
          bytes = grown(bytes, Math.min(Math.max(needed, bytes.length * 2), maxBytes + body.length * 3));
        }
        if (count === ids.length) {
          ids = grown(ids, ids.length * 2);
          offsets = grown(offsets, offsets.length * 2);
        }
        const written = encoder.encodeInto(body, bytes.subarray(used)).written;
        if (used + written > maxBytes) return false;
        used += written;
        ids[count] = id;
        offsets[++count] = used;
        return true;
      },
      build(): PackedBodies {
        return new PackedBodies(ids.slice(0, count), offsets.slice(0, count + 1), bytes.slice(0, used));
      },
    };
  }
}

function grown<T extends Int32Array | Float64Array | Uint8Array>(array: T, length: number): T {
  const larger = new (array.constructor as new (length: number) => T)(length);
  larger.set(array);
  return larger;
}

/**
 * The position of `id` in ascending `ids`, or -1. Catalogue ids are nearly contiguous: the position
 * `id - ids[0]` and its neighbourhood are tried first (one or two memory reads), a binary search
 * within it after (each of its ~19 steps at 400,000 ids is a cache miss).
 */
export function positionOfId(ids: Int32Array, id: number): number {
  const last = ids.length - 1;
  if (last < 0) return -1;
  const guess = Math.min(last, Math.max(0, id - ids[0]!));
  const atGuess = ids[guess]!;
  if (atGuess === id) return guess;
  // Ids only ever skip numbers: the id is at or before its guess.
  let low = 0;
  let high = guess;
  if (atGuess < id) {
    low = guess + 1;
    high = last;
  } else {
    // Few gaps: the id is usually a little before its guess.
    for (let step = 1; low < high; step *= 8) {
      const probe = guess - step;
      if (probe <= low) break;
      if (ids[probe]! <= id) {
        low = probe;
        break;
      }
      high = probe;
    }
  }
  return indexInSorted(ids, id, low, high);
}

/** Where `value` is in ascending `sorted` (searched between `low` and `high`), or -1. */
export function indexInSorted(sorted: Int32Array, value: number, low = 0, high = sorted.length - 1): number {
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const found = sorted[middle]!;
    if (found === value) return middle;
    if (found < value) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}
