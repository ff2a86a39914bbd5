// A search with q as the catalogue keeps it: how many entries match (exact, as the page's `count` must
// be) and the first of them in order. For relevance only the first ranks a page needs are ordered: a broad
// word matches a seventh of the catalogue, and sorting all of it to show twenty cost more than finding it.
// The ranks given are exactly those a full ordering would give (score, ties by id).
import type { AnimeFilters } from "../shared/anime-filters.ts";
import { type AnimeSort, type FilterIndex, selectSmallest } from "./filter-index.ts";
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
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i++) keys[i] = scores[i]! * POSITION_SPAN + entries[i]!;
  if (ranked < count) selectSmallest(keys, ranked);
  const first = keys.subarray(0, ranked).sort();
  const positions = new Int32Array(ranked);
  for (let r = 0; r < ranked; r++) positions[r] = first[r]! % POSITION_SPAN;
  return { count, positions, complete: ranked === count };
}
