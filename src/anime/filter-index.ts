// The catalogue's filter and sort index: one typed array per field, indexed by an entry's position
// (its rank in id order), and the tag and studio names as sorted position lists. No object per entry:
// at 40,000 entries the whole index is about 2 MB, and the garbage collector has nothing to trace in it.
// Pure: the catalogue builds it from what it read from the database, and tests check it against a
// plain scan.
import { ANIME_STATUSES, ANIME_TYPES, type AnimeFilters, SEASONS } from "../shared/anime-filters.ts";

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

/** The entries matching some filters: their positions ascending, and the same as a bit set. */
export interface MatchSet {
  positions: Int32Array;
  bits: Uint32Array;
}

export class FilterIndex {
  /** Every entry in each sort's order, computed on first use (4 bytes an entry per sort). */
  private readonly orders = new Map<BrowseSort, Int32Array>();

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
    const { ids } = this.columns;
    // ids are mostly contiguous (an import numbers entries in file order): try where it would be first
    const guess = id - ids[0]!;
    if (guess >= 0 && guess < ids.length && ids[guess] === id) return guess;
    let low = 0;
    let high = ids.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const found = ids[middle]!;
      if (found === id) return middle;
      if (found < id) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
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

  /** Every entry's position, in `sort`'s order. */
  order(sort: BrowseSort): Int32Array {
    let order = this.orders.get(sort);
    if (!order) {
      order = this.sort(Int32Array.from({ length: this.size }, (_, i) => i), sort);
      this.orders.set(sort, order);
    }
    return order;
  }

  /** The entries matching the filters, as positions and as a bit set. */
  matchSet(filters: AnimeFilters): MatchSet {
    const positions = this.matching(filters);
    const bits = new Uint32Array((this.size + 31) >>> 5);
    for (const position of positions) bits[position >>> 5]! |= 1 << (position & 31);
    return { positions, bits };
  }

  /**
   * The matches ranked `from` to `to` (exclusive) in `sort`'s order, found by walking the whole
   * catalogue's order and keeping the members of the set: cheap for the first pages of a large set,
   * for which sorting the set itself would cost the most.
   */
  pageOfSet(set: MatchSet, sort: BrowseSort, from: number, to: number): Int32Array {
    const order = this.order(sort);
    const out = new Int32Array(Math.max(0, Math.min(to, set.positions.length) - from));
    let rank = 0;
    let count = 0;
    for (let i = 0; i < order.length && count < out.length; i++) {
      const position = order[i]!;
      if (!((set.bits[position >>> 5]! >>> (position & 31)) & 1)) continue;
      if (rank++ >= from) out[count++] = position;
    }
    return out;
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

function contains(sorted: Int32Array, value: number): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const found = sorted[middle]!;
    if (found === value) return true;
    if (found < value) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

/** A canonical text for filters (values sorted), so equal filters share cached results. */
export function filtersKey(filters: AnimeFilters): string {
  const canonical = Object.entries(filters)
    .map(([name, value]) => [name, Array.isArray(value) ? [...value].sort() : value] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify(canonical);
}
