// The in-memory filter and sort index (src/anime/filter-index.ts) against a plain scan of the same
// entries, property-based: random catalogues, random filters, every sort.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type AnimeSort, FilterIndex, type IndexColumns, SORTS, filtersKey } from "../src/anime/filter-index.ts";
import { ANIME_STATUSES, ANIME_TYPES, type AnimeFilters, SEASONS } from "../src/shared/anime-filters.ts";

interface Entry {
  id: number;
  title: string;
  type: number;
  status: number;
  season: number;
  year: number;
  episodes: number;
  score: number;
  tags: string[];
  studios: string[];
}

const TAGS = ["action", "drama", "comedy", "sci-fi", "horror"];
const STUDIOS = ["bones", "madhouse", "pierrot"];

const entryArbitrary = fc.record({
  title: fc.constantFrom("Akira", "akira", "Éclair", "Naruto", "Zeta", "Akira"),
  type: fc.nat(ANIME_TYPES.length - 1),
  status: fc.nat(ANIME_STATUSES.length - 1),
  season: fc.nat(SEASONS.length),
  year: fc.oneof(fc.constant(-1), fc.integer({ min: 1990, max: 2010 })),
  episodes: fc.integer({ min: 0, max: 30 }),
  score: fc.oneof(fc.constant(-1), fc.integer({ min: 100, max: 1000 })),
  tags: fc.uniqueArray(fc.constantFrom(...TAGS), { maxLength: 4 }),
  studios: fc.uniqueArray(fc.constantFrom(...STUDIOS), { maxLength: 2 }),
});

const catalogueArbitrary = fc.array(entryArbitrary, { maxLength: 60 }).chain((entries) =>
  fc.uniqueArray(fc.integer({ min: 1, max: 10_000 }), { minLength: entries.length, maxLength: entries.length }).map((ids) => {
    ids.sort((a, b) => a - b);
    return entries.map((entry, i) => ({ ...entry, id: ids[i]! }));
  }),
);

const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const filtersArbitrary: fc.Arbitrary<AnimeFilters> = fc
  .record({
    types: optional(fc.uniqueArray(fc.constantFrom(...ANIME_TYPES), { minLength: 1 })),
    statuses: optional(fc.uniqueArray(fc.constantFrom(...ANIME_STATUSES), { minLength: 1 })),
    seasons: optional(fc.uniqueArray(fc.constantFrom(...SEASONS), { minLength: 1 })),
    yearFrom: optional(fc.integer({ min: 1985, max: 2012 })),
    yearTo: optional(fc.integer({ min: 1985, max: 2012 })),
    episodesMin: optional(fc.integer({ min: 0, max: 30 })),
    episodesMax: optional(fc.integer({ min: 0, max: 30 })),
    tags: optional(fc.uniqueArray(fc.constantFrom(...TAGS, "unknown"), { minLength: 1, maxLength: 3 })),
    excludeTags: optional(fc.uniqueArray(fc.constantFrom(...TAGS, "unknown"), { minLength: 1, maxLength: 3 })),
    studio: optional(fc.constantFrom(...STUDIOS, "nobody")),
  })
  .map((filters) => Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== undefined)) as AnimeFilters);

/** One or two filters: sets large enough to page through, as browsing makes them. */
const fewFiltersArbitrary: fc.Arbitrary<AnimeFilters> = fc
  .tuple(filtersArbitrary, fc.integer({ min: 1, max: 2 }), fc.nat())
  .map(([filters, keep, skip]) => {
    const entries = Object.entries(filters);
    const start = entries.length ? skip % entries.length : 0;
    return Object.fromEntries(entries.slice(start, start + keep)) as AnimeFilters;
  });

function columnsOf(entries: Entry[]): IndexColumns {
  const sortedTitles = [...new Set(entries.map((e) => e.title))].sort(codePointCompare);
  const lists = (field: "tags" | "studios") => {
    const map = new Map<string, Int32Array>();
    for (const name of field === "tags" ? TAGS : STUDIOS) {
      const positions = entries.flatMap((e, i) => (e[field].includes(name) ? [i] : []));
      if (positions.length) map.set(name, Int32Array.from(positions));
    }
    return map;
  };
  return {
    ids: Int32Array.from(entries.map((e) => e.id)),
    types: Uint8Array.from(entries.map((e) => e.type)),
    statuses: Uint8Array.from(entries.map((e) => e.status)),
    seasons: Uint8Array.from(entries.map((e) => e.season)),
    years: Int32Array.from(entries.map((e) => e.year)),
    episodes: Int32Array.from(entries.map((e) => e.episodes)),
    scores: Int32Array.from(entries.map((e) => e.score)),
    titleRanks: Int32Array.from(entries.map((e) => sortedTitles.indexOf(e.title) + 1)),
    tags: lists("tags"),
    studios: lists("studios"),
  };
}

function codePointCompare(a: string, b: string): number {
  const [x, y] = [[...a].map((c) => c.codePointAt(0)!), [...b].map((c) => c.codePointAt(0)!)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** The contract's filter rules, entry by entry. */
function matches(e: Entry, f: AnimeFilters): boolean {
  if (f.types && !f.types.includes(ANIME_TYPES[e.type]!)) return false;
  if (f.statuses && !f.statuses.includes(ANIME_STATUSES[e.status]!)) return false;
  if (f.seasons && (e.season === 0 || !f.seasons.includes(SEASONS[e.season - 1]!))) return false;
  if ((f.yearFrom !== undefined || f.yearTo !== undefined) && e.year === -1) return false;
  if (f.yearFrom !== undefined && e.year < f.yearFrom) return false;
  if (f.yearTo !== undefined && e.year > f.yearTo) return false;
  if (f.episodesMin !== undefined && e.episodes < f.episodesMin) return false;
  if (f.episodesMax !== undefined && e.episodes > f.episodesMax) return false;
  if (f.tags && !f.tags.every((tag) => e.tags.includes(tag))) return false;
  if (f.excludeTags && f.excludeTags.some((tag) => e.tags.includes(tag))) return false;
  if (f.studio !== undefined && !e.studios.includes(f.studio)) return false;
  return true;
}

/** Sorted by the key, no value last in both directions, ties by id. */
function sortPlainly(entries: Entry[], sort: Exclude<AnimeSort, "relevance">): Entry[] {
  const key = sort.replace("-", "");
  const descending = sort.startsWith("-");
  const value = (e: Entry) => (key === "title" ? e.title : key === "year" ? e.year : key === "episodes" ? e.episodes : e.score);
  return [...entries].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    const [noX, noY] = [x === -1, y === -1];
    if (noX || noY) return noX && noY ? a.id - b.id : noX ? 1 : -1;
    const order = typeof x === "string" ? codePointCompare(x, y as string) : (x as number) - (y as number);
    return (descending ? -order : order) || a.id - b.id;
  });
}

describe("FilterIndex against a plain scan", () => {
  test("matching() finds exactly the entries the rules accept, in id order", () => {
    fc.assert(
      fc.property(catalogueArbitrary, filtersArbitrary, (entries, filters) => {
        const index = new FilterIndex(columnsOf(entries));
        const found = [...index.matching(filters)].map((position) => index.ids[position]);
        expect(found).toEqual(entries.filter((e) => matches(e, filters)).map((e) => e.id));
      }),
      { numRuns: 500 },
    );
  });

  test("sort() orders any subset as the contract says, for every sort", () => {
    const sorts = SORTS.filter((sort) => sort !== "relevance") as Exclude<AnimeSort, "relevance">[];
    fc.assert(
      fc.property(catalogueArbitrary, filtersArbitrary, fc.constantFrom(...sorts), (entries, filters, sort) => {
        const index = new FilterIndex(columnsOf(entries));
        const sorted = [...index.sort(index.matching(filters), sort)].map((position) => index.ids[position]);
        expect(sorted).toEqual(sortPlainly(entries.filter((e) => matches(e, filters)), sort).map((e) => e.id));
      }),
      { numRuns: 500 },
    );
  });

  test("order() and pageOfSet() give the same pages as sorting the matches, walked (bits) or selected (positions)", () => {
    const sorts = SORTS.filter((sort) => sort !== "relevance") as Exclude<AnimeSort, "relevance">[];
    fc.assert(
      fc.property(
        catalogueArbitrary,
        filtersArbitrary,
        fc.constantFrom(...sorts),
        fc.nat(70),
        fc.integer({ min: 1, max: 30 }),
        fc.boolean(),
        (entries, filters, sort, from, size, dense) => {
          const index = new FilterIndex(columnsOf(entries));
          const expected = sortPlainly(entries.filter((e) => matches(e, filters)), sort).map((e) => e.id);
          const set = index.matchSet(filters, dense);
          expect(set.count).toBe(expected.length);
          for (const budget of [undefined, 0]) {
            const page = [...index.pageOfSet(set, sort, from, from + size, filters, undefined, budget)].map((position) => index.ids[position]);
            expect(page).toEqual(expected.slice(from, from + size));
          }
          expect([...index.order(sort)].map((position) => index.ids[position])).toEqual(sortPlainly(entries, sort).map((e) => e.id));
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("pageOfSet() on a larger catalogue: walks (including those cut short by a filter on the sort's key) and selections agree with a plain sort", () => {
    const sorts = SORTS.filter((sort) => sort !== "relevance") as Exclude<AnimeSort, "relevance">[];
    const large = fc.array(entryArbitrary, { minLength: 200, maxLength: 600 }).map((entries) => entries.map((entry, i) => ({ ...entry, id: 3 * i + 1 })));
    fc.assert(
      fc.property(large, fewFiltersArbitrary, fc.constantFrom(...sorts), fc.nat(150), fc.integer({ min: 1, max: 100 }), (entries, filters, sort, from, size) => {
        const index = new FilterIndex(columnsOf(entries));
        const expected = sortPlainly(entries.filter((e) => matches(e, filters)), sort).map((e) => e.id).slice(from, from + size);
        // Walked to the end, walked within the default budget (else the ordered set), the ordered set, selected.
        for (const [dense, budget] of [[true, Infinity], [true, undefined], [true, 0], [false, undefined]] as const) {
          const set = index.matchSet(filters, dense);
          const page = [...index.pageOfSet(set, sort, from, from + size, filters, undefined, budget)].map((position) => index.ids[position]);
          expect(page).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  }, 60_000); // ~1 s alone; a loaded machine (a full embedded run) can make it many times that

  test("member() gives the set's members in position order, bits or positions", () => {
    fc.assert(
      fc.property(fc.array(entryArbitrary, { maxLength: 2000 }), filtersArbitrary, (entries, filters) => {
        const index = new FilterIndex(columnsOf(entries.map((entry, i) => ({ ...entry, id: i + 1 }))));
        const expected = [...index.matching(filters)];
        for (const dense of [true, false]) {
          const set = index.matchSet(filters, dense);
          expect(Array.from({ length: set.count }, (_, k) => index.member(set, k))).toEqual(expected);
        }
      }),
      { numRuns: 100 },
    );
  });

  test("filterIds() keeps the engine's order, drops unknown ids and entries the filters refuse", () => {
    fc.assert(
      fc.property(catalogueArbitrary, filtersArbitrary, fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 40 }), (entries, filters, asked) => {
        const index = new FilterIndex(columnsOf(entries));
        const unique = [...new Set(asked)];
        const kept = [...index.filterIds(Int32Array.from(unique), filters)].map((position) => index.ids[position]);
        const byId = new Map(entries.map((e) => [e.id, e]));
        expect(kept).toEqual(unique.filter((id) => byId.has(id) && matches(byId.get(id)!, filters)));
      }),
      { numRuns: 300 },
    );
  });

  test("filtersKey is the same for the same filters in any order", () => {
    expect(filtersKey({ types: ["TV", "Movie"], tags: ["a", "b"] })).toBe(filtersKey({ tags: ["b", "a"], types: ["Movie", "TV"] }));
    expect(filtersKey({ tags: ["a"] })).not.toBe(filtersKey({ excludeTags: ["a"] }));
  });
});
