// A search with q as the catalogue keeps it: how many entries match (exact, as the page's `count` must
// be) and the first of them in order. For relevance only the first ranks a page needs are ordered: a broad
// word matches a seventh of the catalogue, and sorting all of it to show twenty cost more than finding it.
// The ranks given are exactly those a full ordering would give (score, ties by id).
import type { AnimeFilters } from "../shared/anime-filters.ts";
import type { AnimeSort, FilterIndex } from "./filter-index.ts";
import type { SearchIndex } from "./search/index.ts";

/** Relevance ranks computed at least (five pages of the default size, one of the largest). */
export const RANKED_AT_LEAST = 100;

export interface RankedSearch {
  /** How many entries match q and the filters. */
  count: number;
  /** The positions (in the filter index) of the first positions.length matches, in order. */
  positions: Int32Array;
  /** Whether positions holds every match. */
  complete: boolean;
}

/** Positions are below 2^31 and scores below 2^22: (score, position) as one number is exact in a double. */
const POSITION_SPAN = 2 ** 31;
/** Scores are below 2^22: two digits of 11 bits. */
const DIGIT_BITS = 11;
const DIGIT = 1 << DIGIT_BITS;
const digitCounts = new Int32Array(DIGIT);
/** Set by kthDigit: how many of the scores it counted have a smaller digit. */
let smaller = 0;

/**
 * The entries of `index` matching q and the filters, in `sort`'s order: for relevance the first
 * `wanted` of them at least (RANKED_AT_LEAST), or all; for the other sorts all.
 */
export function rankSearch(
  searchIndex: SearchIndex, index: FilterIndex, q: string, filters: AnimeFilters, sort: AnimeSort, wanted = Infinity,
): RankedSearch {
  const { entries, scores, count: found } = searchIndex.scored(q);
  const count = index.keepPassing(searchIndex.ids, entries, scores, found, filters);
  if (sort !== "relevance") return { count, positions: index.sort(entries.slice(0, count), sort), complete: true };
  const ranked = Math.min(count, Math.max(wanted, RANKED_AT_LEAST));
  if (ranked < count) keepBest(entries, scores, count, ranked);
  const keys = new Float64Array(ranked);
  for (let i = 0; i < ranked; i++) keys[i] = scores[i]! * POSITION_SPAN + entries[i]!;
  keys.sort();
  const positions = new Int32Array(ranked);
  for (let r = 0; r < ranked; r++) positions[r] = keys[r]! % POSITION_SPAN;
  return { count, positions, complete: ranked === count };
}

/**
 * Moves the `k` best of positions[0, count) (smallest score, then smallest position; positions
 * ascending) to the front, their scores alongside, in their order: the k-th best score found
 * digit by digit from two counting passes, then one pass keeping everything better, and of the entries
 * with that score the first (the smallest positions) until there are k.
 */
function keepBest(positions: Int32Array, scores: Int32Array, count: number, k: number): void {
  const high = kthDigit(scores, count, k, -1, DIGIT_BITS);
  const betterHigh = smaller;
  const low = kthDigit(scores, count, k - betterHigh, high, 0);
  const threshold = (high << DIGIT_BITS) | low;
  let quota = k - betterHigh - smaller; // how many with exactly the threshold score to keep
  let kept = 0;
  for (let i = 0; i < count && kept < k; i++) {
    const score = scores[i]!;
    if (score < threshold || (score === threshold && quota-- > 0)) {
      positions[kept] = positions[i]!;
      scores[kept++] = score;
    }
  }
}

/**
 * The digit (at `shift`) of the k-th smallest score among those whose high digit is `high` (all when
 * -1); `smaller` is left with how many of them have a smaller digit.
 */
function kthDigit(scores: Int32Array, count: number, k: number, high: number, shift: number): number {
  const counts = digitCounts;
  counts.fill(0, 0, DIGIT);
  for (let i = 0; i < count; i++) {
    const score = scores[i]!;
    if (high < 0 || score >>> DIGIT_BITS === high) counts[(score >>> shift) & (DIGIT - 1)]!++;
  }
  let before = 0;
  let digit = 0;
  while (before + counts[digit]! < k) before += counts[digit++]!;
  smaller = before;
  return digit;
}
