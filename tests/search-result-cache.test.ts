// The search result cache (src/anime/catalogue.ts): costly results keep their own share of the places,
// so a flood of cheap searches does not evict them; its total number of places stays RESULT_CACHE_ENTRIES.
// No server: the cache's use by searches over HTTP is anime-search.test.ts's subject.
import { describe, expect, test } from "bun:test";
import { SearchResultCache } from "../src/anime/catalogue.ts";

const result = (n: number) => ({ count: n, positions: Int32Array.of(n), complete: true });
const CHEAP_MS = 0.2;
const COSTLY_MS = 2.5;

describe("SearchResultCache", () => {
  test("keeps the costly results through a flood of cheap ones, in 2,000 places in all", () => {
    const cache = new SearchResultCache(40_000);
    for (let i = 0; i < 500; i++) cache.set(`costly ${i}`, result(i), COSTLY_MS);
    for (let i = 0; i < 10_000; i++) cache.set(`cheap ${i}`, result(i), CHEAP_MS);
    for (let i = 0; i < 500; i++) expect(cache.get(`costly ${i}`)?.count).toBe(i);
    // The cheap ones have the other 1,500 places: the newest are kept, older ones evicted.
    expect(cache.get("cheap 9999")?.count).toBe(9999);
    expect(cache.get("cheap 8500")?.count).toBe(8500);
    expect(cache.get("cheap 8499")).toBeUndefined();
    // Costly results beyond their 500 places evict the oldest costly ones, not cheap ones.
    for (let i = 500; i < 600; i++) cache.set(`costly ${i}`, result(i), COSTLY_MS);
    expect(cache.get("costly 0")).toBeUndefined();
    expect(cache.get("costly 599")?.count).toBe(599);
    expect(cache.get("cheap 8500")?.count).toBe(8500);
  });

  test("a search stored again under the other cost is found once, with its newer result", () => {
    const cache = new SearchResultCache(40_000);
    cache.set("q", result(1), CHEAP_MS);
    cache.set("q", result(2), COSTLY_MS);
    expect(cache.get("q")?.count).toBe(2);
    cache.set("q", result(3), CHEAP_MS);
    expect(cache.get("q")?.count).toBe(3);
  });
});
