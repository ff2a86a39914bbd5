// The dictionary of the search index: every distinct word of every name, sorted as JavaScript compares
// strings, held as ONE string with offsets (a few bytes a word instead of a string object each).
import { hasCjk } from "./normalise.ts";
import type { WordScanner } from "./normalise.ts";

export class Dictionary {
  private constructor(
    /** the words, sorted, written one after the other */
    readonly text: string,
    /** word i is text[start[i], start[i + 1]) */
    readonly start: Int32Array,
    /** shared[i]: how many leading characters word i shares with word i - 1 (the typo walk's trie) */
    readonly shared: Uint16Array,
    /** the words from here on are all CJK */
    readonly latinEnd: number,
    readonly longest: number,
    /**
     * Runs of successive words of digits only (DIGITS_ONLY) or with no digit (NO_DIGITS), as
     * (from, to, kind) triples in order: the typo walk skips a run that cannot be within its allowance.
     */
    readonly digitRuns: Int32Array,
  ) {
    this.least16 = leastOfBlocks(shared, 16);
    this.least256 = leastOfBlocks(shared, 256);
  }

  /** The least of `shared` over each aligned block of 16 words, and of 256 (endOfPrefix). */
  private readonly least16: Uint16Array;
  private readonly least256: Uint16Array;

  /** The dictionary of the table's words, and for each table id its id here. */
  static fromTable(table: TermTable): { dictionary: Dictionary; renumber: Int32Array } {
    const terms = table.terms;
    const order = sortedOrder(terms);
    const renumber = new Int32Array(order.length);
    const start = new Int32Array(order.length + 1);
    const shared = new Uint16Array(order.length);
    const sorted: string[] = new Array(order.length);
    let longest = 0;
    let at = 0;
    for (let id = 0; id < order.length; id++) {
      const term = terms[order[id]!]!;
      renumber[order[id]!] = id;
      sorted[id] = term;
      start[id] = at;
      at += term.length;
      if (term.length > longest) longest = term.length;
      if (id > 0) shared[id] = Math.min(commonPrefix(sorted[id - 1]!, term), 0xffff);
    }
    start[order.length] = at;
    let latinEnd = sorted.length;
    while (latinEnd > 0 && hasCjk(sorted[latinEnd - 1]!)) latinEnd--;
    return { dictionary: new Dictionary(sorted.join(""), start, shared, latinEnd, longest, digitRunsOf(sorted, latinEnd)), renumber };
  }

  get length(): number {
    return this.start.length - 1;
  }

  get memoryBytes(): number {
    return this.text.length * 2 + this.start.byteLength + this.shared.byteLength + this.least16.byteLength + this.least256.byteLength + this.digitRuns.byteLength;
  }

  lengthOf(id: number): number {
    return this.start[id + 1]! - this.start[id]!;
  }

  at(id: number): string {
    return this.text.slice(this.start[id]!, this.start[id + 1]!);
  }

  /** Whether word `id` occurs in `text` at `position`. */
  occursAt(text: string, position: number, id: number): boolean {
    const from = this.start[id]!;
    const length = this.start[id + 1]! - from;
    if (position + length > text.length) return false;
    for (let i = 0; i < length; i++) if (this.text.charCodeAt(from + i) !== text.charCodeAt(position + i)) return false;
    return true;
  }

  /** Whether word `id` begins with text[position…] (and is longer). */
  beginsWithRest(id: number, text: string, position: number): boolean {
    const from = this.start[id]!;
    const rest = text.length - position;
    if (this.start[id + 1]! - from <= rest) return false;
    for (let i = 0; i < rest; i++) if (this.text.charCodeAt(from + i) !== text.charCodeAt(position + i)) return false;
    return true;
  }

  /**
   * The first word after `id` (before `end`) that does not begin with the first `depth` characters of
   * word `id`. The words that do follow it in one run, each sharing at least `depth` characters with
   * its predecessor: the run's end is the first `shared` below `depth`, found a word, 16 words or 256
   * words at a time (the least of `shared` over each aligned block), so the typo walk skips a pruned
   * branch of its trie in a few dozen steps however many words it holds.
   */
  endOfPrefix(id: number, depth: number, end: number): number {
    const { shared, least16, least256 } = this;
    let at = id + 1;
    while (at < end) {
      if ((at & 255) === 0 && at + 256 <= end && least256[at >> 8]! >= depth) at += 256;
      else if ((at & 15) === 0 && at + 16 <= end && least16[at >> 4]! >= depth) at += 16;
      else if (shared[at]! < depth) return at;
      else at++;
    }
    return end;
  }

  /** Compares word `id` with `text` as strings compare: negative, 0 or positive. */
  compare(id: number, text: string): number {
    const from = this.start[id]!;
    const length = this.start[id + 1]! - from;
    const common = Math.min(length, text.length);
    for (let i = 0; i < common; i++) {
      const difference = this.text.charCodeAt(from + i) - text.charCodeAt(i);
      if (difference !== 0) return difference;
    }
    return length - text.length;
  }

  find(text: string): number {
    const index = this.lowerBound(text);
    return index < this.length && this.compare(index, text) === 0 ? index : -1;
  }

  /** The first word not before `text`. */
  lowerBound(text: string): number {
    let low = 0;
    let high = this.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.compare(middle, text) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The first word after those that begin with `prefix`. */
  prefixEnd(prefix: string): number {
    let low = this.lowerBound(prefix);
    let high = this.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.compare(middle, prefix) === 0 || this.beginsWithRest(middle, prefix, 0)) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

export const DIGITS_ONLY = 0;
export const NO_DIGITS = 1;
const MIXED = 2;
/** Shorter runs are not worth a triple. */
const MIN_RUN = 8;

function digitRunsOf(sorted: string[], end: number): Int32Array {
  const runs: number[] = [];
  let from = 0;
  let kind = -1;
  const close = (to: number) => {
    if (kind !== MIXED && kind >= 0 && to - from >= MIN_RUN) runs.push(from, to, kind);
  };
  for (let id = 0; id < end; id++) {
    const term = sorted[id]!;
    let digits = 0;
    for (let i = 0; i < term.length; i++) {
      const code = term.charCodeAt(i);
      if (code >= 48 && code <= 57) digits++;
    }
    const termKind = digits === term.length ? DIGITS_ONLY : digits === 0 ? NO_DIGITS : MIXED;
    if (termKind !== kind) {
      close(id);
      from = id;
      kind = termKind;
    }
  }
  close(end);
  return Int32Array.from(runs);
}

export function commonPrefix(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** The distinct words met while building, found again by hash without making a string for each. */
export class TermTable {
  readonly terms: string[] = [];
  private hashes = new GrowableInts();
  private slots = new Int32Array(1 << 16);

  intern(scanner: WordScanner, w: number): number {
    const hash = scanner.hash[w]!;
    const from = scanner.wordStart[w]!;
    const length = scanner.wordStart[w + 1]! - from;
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (;;) {
      const stored = this.slots[slot]!;
      if (stored === 0) break;
      const term = this.terms[stored - 1]!;
      if (this.hashes.at(stored - 1) === hash && term.length === length && sameChars(term, scanner.chars, from)) return stored - 1;
      slot = (slot + 1) & mask;
    }
    const id = this.terms.length;
    this.terms.push(scanner.text(from, from + length));
    this.hashes.push(hash);
    this.slots[slot] = id + 1;
    if (this.terms.length * 2 > this.slots.length) this.grow();
    return id;
  }

  private grow() {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.terms.length; id++) {
      let slot = this.hashes.at(id) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.slots = slots;
  }
}

function sameChars(term: string, chars: Uint16Array, from: number): boolean {
  for (let i = 0; i < term.length; i++) if (term.charCodeAt(i) !== chars[from + i]) return false;
  return true;
}

/**
 * The order of the terms as JavaScript sorts strings (by UTF-16 code units), by most-significant-character
 * radix sort over ASCII with a comparison sort for the rest: several times faster than sort() with a
 * comparator on hundreds of thousands of words.
 */
function sortedOrder(terms: string[]): Int32Array {
  const order = new Int32Array(terms.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const scratch = new Int32Array(terms.length);
  radixSort(terms, order, scratch, 0, order.length, 0);
  return order;
}

const OTHER_BUCKET = 128;

function radixSort(terms: string[], order: Int32Array, scratch: Int32Array, from: number, to: number, depth: number): void {
  if (to - from < 32) {
    const part = Array.from(order.subarray(from, to)).sort((a, b) => (terms[a]! < terms[b]! ? -1 : terms[a]! > terms[b]! ? 1 : 0));
    order.set(part, from);
    return;
  }
  const counts = new Int32Array(OTHER_BUCKET + 2);
  const bucketOf = (id: number) => {
    const term = terms[id]!;
    if (depth >= term.length) return 0;
    const code = term.charCodeAt(depth);
    return code < 127 ? code + 1 : OTHER_BUCKET;
  };
  for (let i = from; i < to; i++) counts[bucketOf(order[i]!) + 1]!++;
  for (let b = 1; b < counts.length; b++) counts[b]! += counts[b - 1]!;
  const starts = counts.slice();
  for (let i = from; i < to; i++) {
    const id = order[i]!;
    scratch[from + counts[bucketOf(id)]!++] = id;
  }
  order.set(scratch.subarray(from, to), from);
  for (let b = 1; b <= OTHER_BUCKET; b++) {
    const bucketFrom = from + starts[b]!;
    const bucketTo = from + starts[b + 1]!;
    if (bucketTo - bucketFrom < 2) continue;
    if (b === OTHER_BUCKET) {
      const part = Array.from(order.subarray(bucketFrom, bucketTo)).sort((x, y) => (terms[x]! < terms[y]! ? -1 : terms[x]! > terms[y]! ? 1 : 0));
      order.set(part, bucketFrom);
    } else radixSort(terms, order, scratch, bucketFrom, bucketTo, depth + 1);
  }
}

/** An Int32Array that grows while the index is built. */
export class GrowableInts {
  private data: Int32Array;
  constructor(capacity = 1024) {
    this.data = new Int32Array(Math.max(16, capacity));
  }
  length = 0;
  push(value: number) {
    if (this.length === this.data.length) {
      const bigger = new Int32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  at(index: number): number {
    return this.data[index]!;
  }
  includes(value: number, from: number): boolean {
    for (let i = from; i < this.length; i++) if (this.data[i] === value) return true;
    return false;
  }
  trimmed(): Int32Array {
    return this.data.slice(0, this.length);
  }
}

function leastOfBlocks(values: Uint16Array, size: number): Uint16Array {
  const least = new Uint16Array(Math.ceil(values.length / size)).fill(0xffff);
  for (let i = 0; i < values.length; i++) if (values[i]! < least[(i / size) | 0]!) least[(i / size) | 0] = values[i]!;
  return least;
}
