// A search with q as the catalogue keeps it (src/anime/search-ranking.ts): the count and the first ranks
// only, for relevance. Checked against the full ordering (every match ranked by the engine, then the
// filters applied in that order, or the other sort applied): the same count, and the same entries in the
// same order on every page, first or deep, with and without filters.
import { describe, expect, test } from "bun:test";
import { generateEntries, randomSource } from "../scripts/generate-catalogue.ts";
import { realisticQueries, seeded } from "../bench/find-mixes.ts";
import { FilterIndex, type IndexColumns, SORTS } from "../src/anime/filter-index.ts";
import { RANKED_AT_LEAST, rankSearch } from "../src/anime/search-ranking.ts";
import { SearchIndex } from "../src/anime/search/index.ts";
import { ANIME_STATUSES, ANIME_TYPES, type AnimeFilters } from "../src/shared/anime-filters.ts";

const ENTRIES = 6_000;
const random = randomSource(11);
// Ids with gaps (the filter index's positions are not ids), and a few ids the filter index lacks (an
// import between the two loads): the search finds them, the catalogue must leave them out.
const generated = generateEntries(ENTRIES, 5).map((entry, i) => ({ ...entry, id: 1 + i * 3 + (i % 7 === 0 ? 1 : 0) }));
const searchIndex = SearchIndex.build(generated.map(({ id, title, synonyms }) => ({ id, title, synonyms })));
const inFilterIndex = generated.filter((_, i) => i % 97 !== 5);
const TAGS = ["action", "comedy", "drama"];
const attributes = inFilterIndex.map(() => ({
  type: random.integer(0, ANIME_TYPES.length - 1),
  status: random.integer(0, ANIME_STATUSES.length - 1),
  year: random.chance(0.1) ? -1 : random.integer(1990, 2020),
  episodes: random.integer(0, 30),
  score: random.chance(0.2) ? -1 : random.integer(100, 1000),
  tags: TAGS.filter(() => random.chance(0.4)),
}));
const columns: IndexColumns = {
  ids: Int32Array.from(inFilterIndex, (entry) => entry.id),
  types: Uint8Array.from(attributes, (a) => a.type),
  statuses: Uint8Array.from(attributes, (a) => a.status),
  seasons: new Uint8Array(inFilterIndex.length),
  years: Int32Array.from(attributes, (a) => a.year),
  episodes: Int32Array.from(attributes, (a) => a.episodes),
  scores: Int32Array.from(attributes, (a) => a.score),
  titleRanks: titleRanksOf(inFilterIndex.map((entry) => entry.title)),
  tags: new Map(TAGS.map((tag) => [tag, Int32Array.from(attributes.flatMap((a, position) => (a.tags.includes(tag) ? [position] : [])))])),
  studios: new Map(),
};
const filterIndex = new FilterIndex(columns);

const FILTERS: AnimeFilters[] = [
  {},
  { types: ["TV"] },
  { tags: ["action"] },
  { yearFrom: 2000, statuses: ["Finished", "Ongoing"] },
  { excludeTags: ["comedy"], episodesMin: 10 },
  { tags: ["nothing"] },
];

// Broad words (a seventh of the catalogue each), CJK, begun and typo'd words, and the bench's kinds.
const sample = generated.filter((_, i) => i % 40 === 0);
const QUERIES = [
  "academy", "Tokyo", "東京", "夢", "東京 夢", "crimson sky", "sky crim", "Summer 12", "acadmey", "2", "1",
  ...realisticQueries(sample, seeded(3)),
];

/** The full ordering, as the catalogue computed it before it ranked only what a page needs. */
function fullOrdering(q: string, filters: AnimeFilters, sort: (typeof SORTS)[number]): Int32Array {
  const found = filterIndex.filterIds(searchIndex.search(q), filters);
  return sort === "relevance" ? found : filterIndex.sort(found, sort);
}

describe("rankSearch", () => {
  test("the count and every rank it gives match the full ordering, first pages and deep ones", () => {
    let broad = 0;
    for (const q of QUERIES) {
      for (const filters of FILTERS) {
        const expected = fullOrdering(q, filters, "relevance");
        if (expected.length > RANKED_AT_LEAST * 4) broad++;
        for (const wanted of [1, 20, 40, RANKED_AT_LEAST, RANKED_AT_LEAST + 1, 500, Infinity]) {
          const ranked = rankSearch(searchIndex, filterIndex, q, filters, "relevance", wanted);
          expect(ranked.count).toBe(expected.length);
          const covered = Math.min(expected.length, Math.max(wanted, RANKED_AT_LEAST));
          expect(ranked.positions.length).toBe(covered);
          expect(ranked.complete).toBe(covered === expected.length);
          expect([...ranked.positions]).toEqual([...expected.subarray(0, covered)]);
        }
      }
    }
    expect(broad).toBeGreaterThan(8); // the queries do exercise the partial ranking
  });

  test("other sorts keep every match in the sort's order", () => {
    for (const q of QUERIES.slice(0, 60)) {
      for (const filters of FILTERS.slice(0, 3)) {
        for (const sort of SORTS.filter((s) => s !== "relevance")) {
          const ranked = rankSearch(searchIndex, filterIndex, q, filters, sort, 20);
          const expected = fullOrdering(q, filters, sort);
          expect(ranked.complete).toBe(true);
          expect([...ranked.positions]).toEqual([...expected]);
        }
      }
    }
  });

  test("leaves out what the filter index does not hold", () => {
    const missing = generated.find((_, i) => i % 97 === 5)!;
    const all = rankSearch(searchIndex, filterIndex, missing.title, {}, "relevance", Infinity);
    expect([...all.positions].map((p) => filterIndex.ids[p])).not.toContain(missing.id);
    expect([...searchIndex.search(missing.title)]).toContain(missing.id);
  });
});

function titleRanksOf(titles: string[]): Int32Array {
  const sorted = [...new Set(titles)].sort();
  const rank = new Map(sorted.map((title, i) => [title, i + 1]));
  return Int32Array.from(titles, (title) => rank.get(title)!);
}
