// The catalogue's filter and sort index: one typed array per field, indexed by an entry's position
// (its rank in id order), and the tag and studio names as sorted position lists. No object per entry:
// at 40,000 entries the whole index is about 2 MB, and the garbage collector has nothing to trace in it.
// Pure: the catalogue builds it from what it read from the database, and tests check it against a
// plain scan.
import { ANIME_STATUSES, ANIME_TYPES, type AnimeFilters, SEASONS, hasAnimeFilters } from "../shared/anime-filters.ts";
import { indexInSorted, positionOfId } from "./packed-bodies.ts";

export const SORTS = ["relevance", "title", "-title", "year", "-year", "episodes", "-episodes", "score", "-score"] as const;
export type AnimeSort = (typeof SORTS)[number];

/** The columns, position-aligned with `ids` (ascending). */
export interface IndexColumns {
  ids: Int32Array;
  /** Index into ANIME_TYPES / ANIME_STATUSES. */
  types: Uint8Array;
  statuses: Uint8Array;
  /** 0 when the season is unknown, else 1 + index into SEASONS. */
  seasons: Uint8Array;
  /** -1 when unknown. */
  years: Int32Array;
  episodes: Int32Array;
  /** The score as served, in hundredths; -1 when unknown. */
  scores: Int32Array;
  /** Dense rank of the title by code point (equal titles share a rank). */
  titleRanks: Int32Array;
  /** Folded name → positions of the entries that have it, ascending. */
  tags: Map<string, Int32Array>;
  studios: Map<string, Int32Array>;
}

const NO_POSITIONS = new Int32Array(0);

/** Filters resolved against one index: bit masks and position lists instead of names. */
interface CompiledFilter {
  /** A named tag or studio is on no entry: nothing matches. */
  empty: boolean;
  typeMask: number;
  statusMask: number;
  seasonMask: number;
  yearFrom: number;
  yearTo: number;
  /** Whether any year bound was given (an entry with no year then never matches). */
  needsYear: boolean;
  episodesMin: number;
  episodesMax: number;
  /** Lists the entry must be on (tags, studio), shortest first, and lists it must not be on. */
  required: Int32Array[];
  excluded: Int32Array[];
}

export type BrowseSort = Exclude<AnimeSort, "relevance">;

/**
 * The entries matching some filters and how many they are. A sparse set keeps its positions
 * (ascending); a dense one a bit per entry, with the number of members before each block of
 * BLOCK_WORDS words (to draw its k-th member without a scan). Either is at most an eighth of 4 bytes
 * an entry: sets can be kept per filter without the cost of a list of every match.
 */
export interface MatchSet {
  count: number;
  positions: Int32Array | undefined;
  bits: Uint32Array | undefined;
  blockCounts: Int32Array | undefined;
}

/** Words per counted block of a dense set's bits. */
const BLOCK_WORDS = 16;
/** A walk may take `factor` times the steps an uncorrelated set needs (to × size / count), and at least `min`. */
const WALK_BUDGET = { factor: 4, min: 4096 };
/** Above any year or episode count. */
const MAX_VALUE = 2 ** 31 - 1;

export class FilterIndex {
  /** Every entry in each sort's order, computed on first use (4 bytes an entry per sort). */
  private readonly orders = new Map<BrowseSort, Int32Array>();
  private readonly maxValues = new Map<SortKey, number>();

  constructor(readonly columns: IndexColumns) {}

  get size(): number {
    return this.columns.ids.length;
  }

  get ids(): Int32Array {
    return this.columns.ids;
  }

  /** Memory held by the typed arrays (for /health and the budget). */
  get byteLength(): number {
    const { tags, studios, ...arrays } = this.columns;
    let bytes = Object.values(arrays).reduce((sum, array) => sum + array.byteLength, 0);
    for (const list of tags.values()) bytes += list.byteLength;
    for (const list of studios.values()) bytes += list.byteLength;
    return bytes;
  }

  /** The position of an id, or -1 when it is not in the index. */
  positionOf(id: number): number {
    return positionOfId(this.columns.ids, id);
  }

  /** Positions of every entry matching the filters, ascending (that is, in id order). */
  matching(filters: AnimeFilters): Int32Array {
    const filter = this.compile(filters);
    if (filter.empty) return NO_POSITIONS;
    const [shortest, ...others] = filter.required;
    const rest = { ...filter, required: others };
    const out = new Int32Array(shortest ? shortest.length : this.size);
    let count = 0;
    if (shortest) {
      for (const position of shortest) if (this.passes(position, rest)) out[count++] = position;
    } else {
      for (let position = 0; position < this.size; position++) if (this.passes(position, rest)) out[count++] = position;
    }
    return out.slice(0, count);
  }

  /** The positions (of ids, best first, as a search engine ranks them) that pass the filters; unknown ids are left out. */
  filterIds(ids: Int32Array, filters: AnimeFilters): Int32Array {
    const filter = this.compile(filters);
    if (filter.empty) return NO_POSITIONS;
    const out = new Int32Array(ids.length);
    let count = 0;
    for (const id of ids) {
      const position = this.positionOf(id);
      if (position !== -1 && this.passes(position, filter)) out[count++] = position;
    }
    return out.slice(0, count);
  }

  /**
   * Rewrites found[0, count) — ids[found[i]] are ids, ascending — as the positions of those that are in
   * the index and pass the filters, moving `alongside` with them (the search's scores); how many are kept.
   */
  keepPassing(ids: Int32Array, found: Int32Array, alongside: Int32Array, count: number, filters: AnimeFilters): number {
    const filter = this.compile(filters);
    if (filter.empty) return 0;
    const unfiltered = !hasAnimeFilters(filters);
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const position = this.positionOf(ids[found[i]!]!);
      if (position === -1 || (!unfiltered && !this.passes(position, filter))) continue;
      found[kept] = position;
      alongside[kept++] = alongside[i]!;
    }
    return kept;
  }

  /** Every entry's position, in `sort`'s order (built on first use, once per load). */
  order(sort: BrowseSort): Int32Array {
    let order = this.orders.get(sort);
    if (!order) {
      order = this.sort(Int32Array.from({ length: this.size }, (_, i) => i), sort);
      this.orders.set(sort, order);
    }
    return order;
  }

  /**
   * The entries matching the filters. `dense` (default: by the count) chooses the form: bits for a
   * set large enough to be paged by walking a sort order, positions for one small enough to sort.
   */
  matchSet(filters: AnimeFilters, dense?: boolean): MatchSet {
    const positions = this.matching(filters);
    const count = positions.length;
    if (!(dense ?? count >= this.denseCount)) return { count, positions, bits: undefined, blockCounts: undefined };
    const bits = new Uint32Array((this.size + 31) >>> 5);
    for (const position of positions) bits[position >>> 5]! |= 1 << (position & 31);
    return denseSet(bits, count);
  }

  /**
   * A dense set's members as ranks in `sort`'s order: bits over the order's slots. For a set whose
   * walk would be long (its members gather at the far end of the order: `type=Movie&sort=-episodes`),
   * it pages any offset from a few words. One pass over the order to build.
   */
  orderedSet(set: MatchSet, sort: BrowseSort): MatchSet {
    const order = this.order(sort);
    const members = set.bits!;
    const bits = new Uint32Array(members.length);
    for (let i = 0; i < order.length; i++) {
      const position = order[i]!;
      if ((members[position >>> 5]! >>> (position & 31)) & 1) bits[i >>> 5]! |= 1 << (i & 31);
    }
    return denseSet(bits, set.count);
  }

  /** From this many matches on, a set is kept as bits and paged by walking an order (below, sorting its positions costs less). */
  private get denseCount(): number {
    return Math.max(64, Math.ceil(4 * Math.sqrt(this.size)));
  }

  /** The set's member of rank `k` (0 ≤ k < count) in position order: a uniform draw when k is. */
  member(set: MatchSet, k: number): number {
    if (set.positions) return set.positions[k]!;
    const bits = set.bits!;
    const blockCounts = set.blockCounts!;
    let low = 0;
    let high = blockCounts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (blockCounts[middle]! <= k) low = middle;
      else high = middle - 1;
    }
    let rest = k - blockCounts[low]!;
    let word = low * BLOCK_WORDS;
    for (let bitsIn = popcount(bits[word]!); rest >= bitsIn; bitsIn = popcount(bits[word]!)) {
      rest -= bitsIn;
      word++;
    }
    let value = bits[word]!;
    for (; rest > 0; rest--) value &= value - 1; // drops the lowest set bits before the one asked
    return (word << 5) + (31 - Math.clz32(value & -value));
  }

  /**
   * The matches ranked `from` to `to` (exclusive) in `sort`'s order. A sparse set is sorted (its
   * first `to` selected). A dense one is paged by walking the catalogue's order and keeping its
   * members: cheap for the first pages of a large set, for which sorting it would cost the most.
   * A walk that would run longer than an uncorrelated set needs (the filter gathers the matches at
   * the far end of the order) pages the set's `orderedSet` instead, which `ordered` may keep.
   * `walkBudget` (steps) is for tests.
   */
  pageOfSet(
    set: MatchSet,
    sort: BrowseSort,
    from: number,
    to: number,
    filters?: AnimeFilters,
    ordered: () => MatchSet = () => this.orderedSet(set, sort),
    walkBudget?: number,
  ): Int32Array {
    to = Math.min(to, set.count);
    if (from >= to) return NO_POSITIONS;
    if (!set.bits) return this.select(set.positions!, sort, from, to);
    const budget = walkBudget ?? Math.max(WALK_BUDGET.min, (WALK_BUDGET.factor * to * this.size) / set.count);
    return this.walk(set.bits, sort, from, to, this.walkRange(sort, filters), budget) ?? this.pageOfOrdered(ordered(), sort, from, to);
  }

  /** Ranks `from` to `to` of an `orderedSet`: the slot of rank `from` found by its counts, then the set bits after it. */
  pageOfOrdered(ordered: MatchSet, sort: BrowseSort, from: number, to: number): Int32Array {
    const order = this.order(sort);
    const bits = ordered.bits!;
    const out = new Int32Array(to - from);
    let slot = this.member(ordered, from);
    out[0] = order[slot]!;
    let word = slot >>> 5;
    let value = bits[word]! & ~(2 ** ((slot & 31) + 1) - 1); // the bits after `slot` in its word
    for (let count = 1; count < out.length; count++) {
      while (value === 0) value = bits[++word]!;
      slot = (word << 5) + (31 - Math.clz32(value & -value));
      value &= value - 1;
      out[count] = order[slot]!;
    }
    return out;
  }

  /** The walk: undefined when it would take more than `budget` steps. */
  private walk(bits: Uint32Array, sort: BrowseSort, from: number, to: number, range: [number, number], budget: number): Int32Array | undefined {
    const order = this.order(sort);
    const out = new Int32Array(to - from);
    const [start, end] = range;
    const stop = Math.min(end, start + budget);
    let rank = 0;
    let count = 0;
    let i = start;
    for (; i < stop && count < out.length; i++) {
      const position = order[i]!;
      if (!((bits[position >>> 5]! >>> (position & 31)) & 1)) continue;
      if (rank++ >= from) out[count++] = position;
    }
    return count === out.length || i >= end ? out.subarray(0, count) : undefined;
  }

  /**
   * Where in `sort`'s order the matches can be when the filters bound the sort's own key (year or
   * episodes): entries outside the bounds, and those with no value when the bounds exclude them, are
   * at the ends of the order.
   */
  private walkRange(sort: BrowseSort, filters: AnimeFilters | undefined): [number, number] {
    const whole: [number, number] = [0, this.size];
    if (!filters) return whole;
    const key = sort.replace("-", "") as SortKey;
    let bounds: [number, number] | undefined;
    if (key === "year" && (filters.yearFrom !== undefined || filters.yearTo !== undefined)) {
      bounds = [filters.yearFrom ?? 0, filters.yearTo ?? MAX_VALUE];
    } else if (key === "episodes" && filters.episodesMin !== undefined && filters.episodesMin >= 0) {
      bounds = [filters.episodesMin, filters.episodesMax ?? MAX_VALUE];
    }
    if (!bounds) return whole;
    // Along the order, this rank never decreases: the value (negated when descending), no value last.
    const values = this.sortValues(key);
    const descending = sort.startsWith("-");
    const rankOf = (value: number) => (value < 0 ? Infinity : descending ? -value : value);
    const [low, high] = descending ? [-bounds[1], -bounds[0]] : bounds;
    const order = this.order(sort);
    const firstAtLeast = (limit: number, strictly: boolean) => {
      let lo = 0;
      let hi = order.length;
      while (lo < hi) {
        const middle = (lo + hi) >>> 1;
        const rank = rankOf(values[order[middle]!]!);
        if (strictly ? rank > limit : rank >= limit) hi = middle;
        else lo = middle + 1;
      }
      return lo;
    };
    return [firstAtLeast(low, false), firstAtLeast(high, true)];
  }

  /** Ranks `from` to `to` of these positions in `sort`'s order: the first `to` selected, then sorted. */
  private select(positions: Int32Array, sort: BrowseSort, from: number, to: number): Int32Array {
    const n = this.size;
    const descending = sort.startsWith("-");
    const key = sort.replace("-", "") as SortKey;
    const values = this.sortValues(key);
    const max = this.maxValue(key);
    // One number per entry: (key, position), key first; positions follow id order, so ties go by id.
    const keys = new Float64Array(positions.length);
    for (let i = 0; i < positions.length; i++) {
      const position = positions[i]!;
      const value = values[position]!;
      keys[i] = (value < 0 ? max + 1 : descending ? max - value : value) * n + position;
    }
    if (to < keys.length) selectSmallest(keys, to);
    const first = keys.subarray(0, to).sort();
    const out = new Int32Array(to - from);
    for (let i = from; i < to; i++) out[i - from] = first[i]! % n;
    return out;
  }

  private maxValue(key: SortKey): number {
    let max = this.maxValues.get(key);
    if (max === undefined) {
      max = 0;
      for (const value of this.sortValues(key)) if (value > max) max = value;
      this.maxValues.set(key, max);
    }
    return max;
  }

  /** Sorts positions in place by `sort`, ties by id; entries with no value last in both directions. */
  sort(positions: Int32Array, sort: Exclude<AnimeSort, "relevance">): Int32Array {
    const descending = sort.startsWith("-");
    const values = this.sortValues(sort.replace("-", "") as SortKey);
    const n = this.size;
    let max = 0;
    for (const position of positions) max = Math.max(max, values[position]!);
    // One number per entry: (key, position), key first; positions follow id order, so ties go by id.
    const keys = new Float64Array(positions.length);
    positions.forEach((position, i) => {
      const value = values[position]!;
      const key = value < 0 ? max + 1 : descending ? max - value : value;
      keys[i] = key * n + position;
    });
    keys.sort();
    keys.forEach((key, i) => (positions[i] = key % n));
    return positions;
  }

  private sortValues(key: SortKey): Int32Array {
    const { titleRanks, years, episodes, scores } = this.columns;
    return { title: titleRanks, year: years, episodes, score: scores }[key];
  }

  private compile(filters: AnimeFilters): CompiledFilter {
    const { tags, studios } = this.columns;
    const required: Int32Array[] = [];
    let empty = false;
    const lookUp = (names: Map<string, Int32Array>, name: string) => {
      const list = names.get(name);
      if (list) required.push(list);
      else empty = true;
    };
    for (const tag of filters.tags ?? []) lookUp(tags, tag);
    if (filters.studio !== undefined) lookUp(studios, filters.studio);
    required.sort((a, b) => a.length - b.length);
    const excluded: Int32Array[] = [];
    for (const tag of filters.excludeTags ?? []) {
      const list = tags.get(tag);
      if (list) excluded.push(list);
    }
    return {
      empty,
      typeMask: maskOf(filters.types, ANIME_TYPES),
      statusMask: maskOf(filters.statuses, ANIME_STATUSES),
      // Bit 0 is "no season", which no season filter matches.
      seasonMask: filters.seasons ? maskOf(filters.seasons, SEASONS) << 1 : ~0,
      yearFrom: filters.yearFrom ?? -Infinity,
      yearTo: filters.yearTo ?? Infinity,
      needsYear: filters.yearFrom !== undefined || filters.yearTo !== undefined,
      episodesMin: filters.episodesMin ?? -Infinity,
      episodesMax: filters.episodesMax ?? Infinity,
      required,
      excluded,
    };
  }

  private passes(position: number, filter: CompiledFilter): boolean {
    const { types, statuses, seasons, years, episodes } = this.columns;
    if (!((filter.typeMask >>> types[position]!) & 1)) return false;
    if (!((filter.statusMask >>> statuses[position]!) & 1)) return false;
    if (!((filter.seasonMask >>> seasons[position]!) & 1)) return false;
    const year = years[position]!;
    if (filter.needsYear && (year < 0 || year < filter.yearFrom || year > filter.yearTo)) return false;
    const count = episodes[position]!;
    if (count < filter.episodesMin || count > filter.episodesMax) return false;
    for (const list of filter.required) if (!contains(list, position)) return false;
    for (const list of filter.excluded) if (contains(list, position)) return false;
    return true;
  }
}

type SortKey = "title" | "year" | "episodes" | "score";

/** A bit per allowed value (all bits when the filter is not given). */
function maskOf<T extends string>(chosen: T[] | undefined, all: readonly T[]): number {
  if (!chosen) return ~0;
  return chosen.reduce((mask, value) => mask | (1 << all.indexOf(value)), 0);
}

/** A dense set of these bits, with its counts per block. */
function denseSet(bits: Uint32Array, count: number): MatchSet {
  const blockCounts = new Int32Array(Math.ceil(bits.length / BLOCK_WORDS));
  let before = 0;
  for (let word = 0; word < bits.length; word++) {
    if (word % BLOCK_WORDS === 0) blockCounts[word / BLOCK_WORDS] = before;
    before += popcount(bits[word]!);
  }
  return { count, positions: undefined, bits, blockCounts };
}

/** The number of set bits. */
function popcount(word: number): number {
  word -= (word >>> 1) & 0x55555555;
  word = (word & 0x33333333) + ((word >>> 2) & 0x33333333);
  return (Math.imul((word + (word >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Rearranges `keys` (distinct) so that its first `k` are its `k` smallest, in any order (quickselect). */
function selectSmallest(keys: Float64Array, k: number): void {
  const target = k - 1;
  let left = 0;
  let right = keys.length - 1;
  while (right > left) {
    const middle = (left + right) >>> 1;
    const [a, b, c] = [keys[left]!, keys[middle]!, keys[right]!];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = left;
    let j = right;
    while (i <= j) {
      while (keys[i]! < pivot) i++;
      while (keys[j]! > pivot) j--;
      if (i <= j) {
        const swapped = keys[i]!;
        keys[i++] = keys[j]!;
        keys[j--] = swapped;
      }
    }
    if (target <= j) right = j;
    else if (target >= i) left = i;
    else return;
  }
}

function contains(sorted: Int32Array, value: number): boolean {
  return indexInSorted(sorted, value) >= 0;
}

/** A canonical text for filters (values sorted), so equal filters share cached results. */
export function filtersKey(filters: AnimeFilters): string {
  const canonical = Object.entries(filters)
    .map(([name, value]) => [name, Array.isArray(value) ? [...value].sort() : value] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify(canonical);
}
