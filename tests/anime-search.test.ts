// Finding anime (API.md Part 2): GET /anime/search (q, the filters, sort, pages), filtered
// GET /anime/random, GET /anime/entries and GET /anime/lookup, with ETags, over HTTP against the real
// server, on a small catalogue this file imports itself. Browse results are checked against a plain
// scan of the fixture (the contract's rules written out naively).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { importCatalogue } from "../src/anime/import/importer.ts";
import { type Anime, ANIME_KEYS, type DatasetEntryFixture, datasetEntry, getJson } from "./support/anime.ts";
import { type TestServer, startTestServer } from "./support/server.ts";

interface Fixture {
  title: string;
  n: number;
  type?: string;
  episodes?: number;
  status?: string;
  season?: string;
  year?: number;
  tags?: string[];
  studios?: string[];
  score?: number;
  synonyms?: string[];
}

const FIXTURES: Fixture[] = [
  { title: "Re:Zero kara Hajimeru Isekai Seikatsu", n: 1, episodes: 25, season: "SPRING", year: 2016, tags: ["drama", "fantasy", "isekai"], studios: ["white fox"], score: 8.234, synonyms: ["Re:Zero", "リゼロ"] },
  { title: "Steins;Gate", n: 2, episodes: 24, season: "SPRING", year: 2011, tags: ["sci-fi", "drama"], studios: ["white fox"], score: 9.1 },
  { title: "Steins;Gate 0", n: 3, episodes: 23, season: "SPRING", year: 2018, tags: ["sci-fi"], studios: ["white fox"], score: 8.5 },
  { title: "Fullmetal Alchemist: Brotherhood", n: 4, episodes: 64, season: "SPRING", year: 2009, tags: ["action", "fantasy"], studios: ["bones"], score: 9.1, synonyms: ["FMA:B"] },
  { title: "K-On!", n: 5, episodes: 13, season: "SPRING", year: 2009, tags: ["music", "comedy"], studios: ["kyoto animation"], score: 7.9 },
  { title: "Kimi no Na wa.", n: 6, type: "MOVIE", episodes: 1, season: "SUMMER", year: 2016, tags: ["romance", "drama"], studios: ["comix wave films"], score: 8.8, synonyms: ["Your Name."] },
  { title: "Pokémon", n: 7, episodes: 276, season: "SPRING", year: 1997, tags: ["adventure"], studios: ["olm"], score: 7.4 },
  { title: "Untitled Project", n: 8, type: "ONA", episodes: 0, status: "UPCOMING", season: "UNDEFINED" },
  { title: "Akira", n: 9, type: "MOVIE", episodes: 1, season: "SUMMER", year: 1988, tags: ["action", "sci-fi"], studios: ["tms entertainment"], score: 8.1 },
  { title: "Naruto", n: 10, episodes: 220, season: "FALL", year: 2002, tags: ["action"], studios: ["pierrot"], score: 8.0 },
  { title: "Naruto: Shippuuden", n: 11, episodes: 500, status: "FINISHED", season: "WINTER", year: 2007, tags: ["action"], studios: ["pierrot"], score: 8.2 },
  { title: "aardvark", n: 12, type: "SPECIAL", episodes: 1, season: "WINTER", year: 2000, tags: ["comedy"] },
  { title: "Éclair", n: 13, type: "OVA", episodes: 2, season: "FALL", year: 2005, tags: ["Comedy"], score: 6.5 },
  { title: "Akira", n: 14, type: "TV", episodes: 12, status: "ONGOING", season: "SPRING", year: 2024, tags: ["action"], studios: ["Bones"], score: 7.0 },
];

const SEASON_NAMES: Record<string, string | null> = { SPRING: "Spring", SUMMER: "Summer", FALL: "Fall", WINTER: "Winter", UNDEFINED: null };

function toDataset(f: Fixture): DatasetEntryFixture {
  return datasetEntry({
    title: f.title,
    sources: [`https://anidb.net/anime/${f.n}`, `https://myanimelist.net/anime/${1000 + f.n}`],
    type: f.type ?? "TV",
    episodes: f.episodes ?? 12,
    status: f.status ?? "FINISHED",
    animeSeason: f.year === undefined ? { season: f.season ?? "UNDEFINED" } : { season: f.season ?? "SPRING", year: f.year },
    tags: f.tags ?? [],
    studios: f.studios ?? [],
    synonyms: f.synonyms ?? [],
    ...(f.score === undefined ? {} : { score: { arithmeticGeometricMean: f.score, arithmeticMean: f.score, median: f.score } }),
  });
}

let server: TestServer;
/** The catalogue as served, by fixture number. */
const byN = new Map<number, Anime & { score: number | null; season: string | null; studios: string[] }>();

beforeAll(async () => {
  server = await startTestServer({ LOAD_SAMPLE: "off" });
  await importCatalogue(server.running.db.sql, FIXTURES.map(toDataset));
  await server.running.services.catalogue.reload();
  for (const f of FIXTURES) {
    const { json } = await getJson<{ id: number }>(server, `/anime/lookup?source=https://anidb.net/anime/${f.n}`);
    const { json: anime } = await getJson<Anime>(server, `/anime/entry/${json.id}`);
    const score = f.score === undefined ? null : Math.round(f.score * 100) / 100;
    byN.set(f.n, { ...anime, score, season: SEASON_NAMES[f.season ?? "SPRING"] ?? null, studios: (f.studios ?? []).map((s) => s.toLowerCase()) });
  }
}, 60_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

type Page = { count: number; next: string | null; previous: string | null; results: Anime[] };

async function search(query: string): Promise<Page> {
  const { status, json, text } = await getJson<Page>(server, `/anime/search?${query}`);
  if (status !== 200) throw new Error(`/anime/search?${query} answered ${status}: ${text}`);
  return json;
}

const titles = (page: Page) => page.results.map((anime) => anime.title);
const idOf = (n: number) => byN.get(n)!.id;

/** The contract's browse order, written out plainly. */
function reference(filter: (a: ReturnType<typeof byN.get> & {}) => boolean, sort = "title"): number[] {
  const all = [...byN.values()].filter(filter);
  const key = sort.replace("-", "") as "title" | "year" | "episodes" | "score";
  const descending = sort.startsWith("-");
  const value = (a: (typeof all)[number]) => (key === "title" ? a.title : key === "year" ? a.year : key === "episodes" ? a.num_episodes : a.score);
  return all
    .sort((a, b) => {
      const [x, y] = [value(a), value(b)];
      if (x === null && y === null) return a.id - b.id;
      if (x === null) return 1;
      if (y === null) return -1;
      const order = typeof x === "string" ? codePointCompare(x, y as string) : (x as number) - (y as number);
      return (descending ? -order : order) || a.id - b.id;
    })
    .map((a) => a.id);
}

function codePointCompare(a: string, b: string): number {
  const [x, y] = [[...a].map((c) => c.codePointAt(0)!), [...b].map((c) => c.codePointAt(0)!)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

describe("GET /anime/search without q (browse)", () => {
  test("every entry by title, code point order (upper case before lower, accents after), ties by id", async () => {
    const page = await search("page_size=100");
    expect(page.count).toBe(FIXTURES.length);
    expect(page.results.map((a) => a.id)).toEqual(reference(() => true));
    expect(titles(page).indexOf("aardvark")).toBeGreaterThan(titles(page).indexOf("Untitled Project"));
    expect(titles(page).at(-1)).toBe("Éclair");
    const akiras = page.results.filter((a) => a.title === "Akira").map((a) => a.id);
    expect(akiras).toEqual([idOf(9), idOf(14)]);
  });

  test("results are the Part 1 anime object, byte for byte", async () => {
    const { text } = await getJson(server, "/anime/search?page_size=100");
    for (const anime of (JSON.parse(text) as Page).results) {
      expect(Object.keys(anime)).toEqual(ANIME_KEYS);
      const { text: single } = await getJson(server, `/anime/entry/${anime.id}`);
      expect(text).toContain(single);
    }
  });

  for (const sort of ["title", "-title", "year", "-year", "episodes", "-episodes", "score", "-score"]) {
    test(`sort=${sort}: ties by id, entries with no value last`, async () => {
      const page = await search(`sort=${sort}&page_size=100`);
      expect(page.results.map((a) => a.id)).toEqual(reference(() => true, sort));
    });
  }

  test("no-value entries come last in both directions", async () => {
    for (const sort of ["year", "-year"]) expect((await search(`sort=${sort}&page_size=100`)).results.at(-1)!.id).toBe(idOf(8));
    for (const sort of ["score", "-score"]) {
      const ids = (await search(`sort=${sort}&page_size=100`)).results.slice(-2).map((a) => a.id);
      expect(ids.sort((a, b) => a - b)).toEqual([idOf(8), idOf(12)].sort((a, b) => a - b));
    }
  });

  test("the score sorts as served (2 decimals): 9.1 ties broken by id", async () => {
    const ids = (await search("sort=-score&page_size=2")).results.map((a) => a.id);
    expect(ids).toEqual([idOf(2), idOf(4)]);
  });

  const FILTER_CASES: [string, (a: ReturnType<typeof byN.get> & {}) => boolean][] = [
    ["type=TV", (a) => a.anime_type === "TV"],
    ["type=movie,ova", (a) => ["Movie", "OVA"].includes(a.anime_type)],
    ["status=ongoing", (a) => a.status === "Ongoing"],
    ["status=Upcoming,Ongoing", (a) => ["Upcoming", "Ongoing"].includes(a.status)],
    ["season=summer", (a) => a.season === "Summer"],
    ["season=Fall,Winter", (a) => a.season === "Fall" || a.season === "Winter"],
    ["year_from=2009&year_to=2011", (a) => a.year !== null && a.year >= 2009 && a.year <= 2011],
    ["year_from=1900", (a) => a.year !== null],
    ["year_to=2000", (a) => a.year !== null && a.year <= 2000],
    ["episodes_min=24", (a) => a.num_episodes >= 24],
    ["episodes_max=1", (a) => a.num_episodes <= 1],
    ["episodes_min=0&episodes_max=0", (a) => a.num_episodes === 0],
    ["tags=action", (a) => a.tags.includes("Action")],
    ["tags=ACTION,sci-fi", (a) => a.tags.includes("Action") && a.tags.includes("Sci-fi")],
    ["tags=comedy", (a) => a.tags.includes("Comedy")],
    ["tags=no-such-tag", () => false],
    ["exclude_tags=action", (a) => !a.tags.includes("Action")],
    ["exclude_tags=action,Drama", (a) => !a.tags.includes("Action") && !a.tags.includes("Drama")],
    ["exclude_tags=no-such-tag", () => true],
    ["studio=WHITE FOX", (a) => a.studios.includes("white fox")],
    ["studio=bones", (a) => a.studios.includes("bones")],
    ["studio=nobody", () => false],
    ["type=TV&tags=action&exclude_tags=sci-fi&year_from=2000", (a) => a.anime_type === "TV" && a.tags.includes("Action") && !a.tags.includes("Sci-fi") && a.year !== null && a.year >= 2000],
    ["type=TV&status=finished&season=spring&studio=white%20fox&episodes_max=24", (a) => a.anime_type === "TV" && a.status === "Finished" && a.season === "Spring" && a.studios.includes("white fox") && a.num_episodes <= 24],
  ];

  for (const [query, filter] of FILTER_CASES) {
    test(`filters: ${query}`, async () => {
      const page = await search(`${query}&page_size=100`);
      expect(page.results.map((a) => a.id)).toEqual(reference(filter));
      expect(page.count).toBe(page.results.length);
      const sorted = await search(`${query}&page_size=100&sort=-episodes`);
      expect(sorted.results.map((a) => a.id)).toEqual(reference(filter, "-episodes"));
    });
  }

  test("pages: count, next and previous repeat the request's parameters; past the last page is 404", async () => {
    const first = await search("type=TV&page_size=3&sort=year&unknown=kept");
    const all = reference((a) => a.anime_type === "TV", "year");
    expect(first.count).toBe(all.length);
    expect(first.previous).toBeNull();
    const next = new URL(first.next!);
    expect(next.origin).toBe(server.base);
    expect(Object.fromEntries(next.searchParams)).toEqual({ type: "TV", page_size: "3", sort: "year", unknown: "kept", page: "2" });
    const collected = [...first.results];
    let url: string | null = first.next;
    let pages = 1;
    while (url) {
      const page = await search(new URL(url).search.slice(1));
      collected.push(...page.results);
      expect(page.previous).not.toBeNull();
      url = page.next;
      pages++;
    }
    expect(pages).toBe(Math.ceil(all.length / 3));
    expect(collected.map((a) => a.id)).toEqual(all);
    const second = await search("type=TV&page_size=3&sort=year&page=2");
    expect(new URL(second.previous!).searchParams.has("page")).toBe(false); // page 1 is the bare URL, as DRF

    for (const page of [String(pages + 1), "0", "-1", "abc", "1.5", "99999999999"]) {
      const { status, json } = await getJson(server, `/anime/search?type=TV&page_size=3&page=${page}`);
      expect({ page, status, json }).toEqual({ page, status: 404, json: { detail: "Invalid page." } });
    }
  });

  test("default page size is 20; page 1 of nothing is a 200 with count 0", async () => {
    expect((await search("")).results.length).toBe(FIXTURES.length); // fewer than 20
    expect(await search("studio=nobody")).toEqual({ count: 0, next: null, previous: null, results: [] });
    expect((await search("page_size=1")).results.length).toBe(1);
  });

  test("relevance without q is a 400", async () => {
    const { status, json } = await getJson(server, "/anime/search?sort=relevance");
    expect({ status, json }).toEqual({ status: 400, json: { sort: ["Sorting by relevance needs q."] } });
  });
});

describe("GET /anime/search with q", () => {
  test("q finds by title; count is the number of matches; the exact title first", async () => {
    const page = await search("q=naruto");
    expect(page.count).toBe(2);
    expect(page.results.map((a) => a.id)).toEqual([idOf(10), idOf(11)]);
  });

  test("q finds by synonym, in any script", async () => {
    expect((await search("q=FMA:B")).results[0]!.id).toBe(idOf(4));
    expect((await search(`q=${encodeURIComponent("リゼロ")}`)).results[0]!.id).toBe(idOf(1));
    expect((await search(`q=${encodeURIComponent("Your Name.")}`)).results[0]!.id).toBe(idOf(6));
  });

  test("q ignores case, accents and punctuation", async () => {
    expect((await search("q=rezero")).results[0]!.id).toBe(idOf(1));
    expect((await search("q=POKEMON")).results[0]!.id).toBe(idOf(7));
    expect((await search("q=steins%20gate")).results.map((a) => a.id)).toEqual([idOf(2), idOf(3)]);
  });

  test("q combines with the filters and with any sort; relevance is the default", async () => {
    expect((await search("q=steins%20gate&year_from=2015")).results.map((a) => a.id)).toEqual([idOf(3)]);
    expect((await search("q=steins%20gate&sort=-year")).results.map((a) => a.id)).toEqual([idOf(3), idOf(2)]);
    expect((await search("q=steins%20gate&sort=relevance")).results.map((a) => a.id)).toEqual([idOf(2), idOf(3)]);
    expect(await search("q=naruto&type=Movie")).toEqual({ count: 0, next: null, previous: null, results: [] });
  });

  test("q pages like browsing", async () => {
    const first = await search("q=naruto&page_size=1");
    expect(first.count).toBe(2);
    expect(first.results.map((a) => a.id)).toEqual([idOf(10)]);
    const second = await search(new URL(first.next!).search.slice(1));
    expect(second.results.map((a) => a.id)).toEqual([idOf(11)]);
    expect(second.next).toBeNull();
  });

  test("q matching nothing: count 0", async () => {
    expect((await search("q=zzzzqqqq")).count).toBe(0);
  });
});

describe("GET /anime/random with filters", () => {
  test("draws only matching entries, and every matching one comes up", async () => {
    const wanted = reference((a) => a.tags.includes("Action") && a.anime_type === "TV");
    const seen = new Set<number>();
    for (let i = 0; i < 200 && seen.size < wanted.length; i++) {
      const { status, json } = await getJson<Anime>(server, "/anime/random?tags=action&type=tv");
      expect(status).toBe(200);
      expect(wanted).toContain(json.id);
      seen.add(json.id);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([...wanted].sort((a, b) => a - b));
  });

  test("uniform among the matches (chi-square, df = 4, p = 0.001)", async () => {
    const wanted = reference((a) => a.season === "Spring" && a.anime_type === "TV" && a.year !== null && a.year >= 2009 && a.year <= 2018);
    expect(wanted.length).toBe(5);
    const counts = new Map(wanted.map((id) => [id, 0]));
    const draws = 1000;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let i = 0; i < draws / 10; i++) {
          const { json } = await getJson<Anime>(server, "/anime/random?season=spring&type=TV&year_from=2009&year_to=2018");
          counts.set(json.id, counts.get(json.id)! + 1);
        }
      }),
    );
    const expected = draws / wanted.length;
    const chiSquare = [...counts.values()].reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    expect(chiSquare).toBeLessThan(18.47);
  });

  test("the body is the Part 1 anime object, byte for byte", async () => {
    const { text, json } = await getJson<Anime>(server, "/anime/random?studio=olm");
    expect(text).toBe((await getJson(server, `/anime/entry/${json.id}`)).text);
  });

  test("none matching: 404 Not found; a bad filter: 400; q, sort and page are not parameters of random", async () => {
    expect(await getJson(server, "/anime/random?tags=no-such-tag").then(({ status, json }) => ({ status, json }))).toEqual({
      status: 404,
      json: { detail: "Not found." },
    });
    const bad = await getJson(server, "/anime/random?type=Film&year_from=abc");
    expect({ status: bad.status, json: bad.json }).toEqual({
      status: 400,
      json: { type: ['"Film" is not a valid choice.'], year_from: ["A valid integer is required."] },
    });
    const ignored = await getJson<Anime>(server, "/anime/random?q=naruto&sort=relevance&page=99&studio=olm");
    expect(ignored.status).toBe(200);
    expect(ignored.json.id).toBe(idOf(7));
  });
});

describe("GET /anime/entries", () => {
  test("up to 100 ids, in the order asked, unknown ones (and ids past 2147483647) left out", async () => {
    const ids = [idOf(3), 999_999, idOf(1), 2_147_483_648, idOf(2)];
    const { status, json, text } = await getJson<{ count: number; results: Anime[] }>(server, `/anime/entries?ids=${ids.join(",")}`);
    expect(status).toBe(200);
    expect(json.count).toBe(3);
    expect(json.results.map((a) => a.id)).toEqual([idOf(3), idOf(1), idOf(2)]);
    const singles = await Promise.all([3, 1, 2].map(async (n) => (await getJson(server, `/anime/entry/${idOf(n)}`)).text));
    expect(text).toBe(`{"count":3,"results":[${singles.join(",")}]}`);
  });

  test("spaces around ids, a plus sign and leading zeros are accepted; a repeated id once", async () => {
    const { json } = await getJson<{ count: number; results: Anime[] }>(server, `/anime/entries?ids=%20${idOf(1)}%20,+${idOf(2)},000${idOf(1)}`);
    expect(json.results.map((a) => a.id)).toEqual([idOf(1), idOf(2)]);
  });

  test("100 ids are fine; nothing known is count 0", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => 100_000 + i);
    ids[50] = idOf(5);
    const { status, json } = await getJson<{ count: number; results: Anime[] }>(server, `/anime/entries?ids=${ids.join(",")}`);
    expect({ status, ids: json.results.map((a) => a.id) }).toEqual({ status: 200, ids: [idOf(5)] });
    expect((await getJson(server, "/anime/entries?ids=99999")).json).toEqual({ count: 0, results: [] });
  });

  test("missing, blank, too many, or not positive integers: 400 with the contract's message", async () => {
    const message = { ids: ["Enter up to 100 positive integers, separated by commas."] };
    const cases: [string, unknown][] = [
      ["", { ids: ["This field is required."] }],
      ["ids=", { ids: ["This field may not be blank."] }],
      ["ids=%20%20", { ids: ["This field may not be blank."] }],
      [`ids=${Array.from({ length: 101 }, (_, i) => i + 1).join(",")}`, message],
      ["ids=0", message],
      ["ids=-1", message],
      ["ids=1,,2", message],
      ["ids=1,", message],
      ["ids=abc", message],
      ["ids=1.5", message],
      ["ids=1e3", message],
    ];
    for (const [query, body] of cases) {
      const { status, json } = await getJson(server, `/anime/entries?${query}`);
      expect({ query, status, json }).toEqual({ query, status: 400, json: body });
    }
  });
});

describe("GET /anime/lookup", () => {
  test("finds the entry by any of its source URLs; http/https and a trailing slash do not matter", async () => {
    const expected = (await getJson(server, `/anime/entry/${idOf(4)}`)).text;
    for (const source of [
      "https://anidb.net/anime/4",
      "https://myanimelist.net/anime/1004",
      "http://myanimelist.net/anime/1004",
      "https://myanimelist.net/anime/1004/",
      "http://anidb.net/anime/4/",
    ]) {
      const { status, text } = await getJson(server, `/anime/lookup?source=${encodeURIComponent(source)}`);
      expect({ source, status, text }).toEqual({ source, status: 200, text: expected });
    }
  });

  test("an unknown source: 404; missing or blank source: 400", async () => {
    for (const source of ["https://anidb.net/anime/999", "https://anidb.net/anime/4x", "anidb.net/anime/4'; drop table anime; --"]) {
      const { status, json } = await getJson(server, `/anime/lookup?source=${encodeURIComponent(source)}`);
      expect({ status, json }).toEqual({ status: 404, json: { detail: "Not found." } });
    }
    expect((await getJson(server, "/anime/lookup")).json).toEqual({ source: ["This field is required."] });
    expect((await getJson(server, "/anime/lookup?source=%20")).json).toEqual({ source: ["This field may not be blank."] });
  });
});

describe("ETags (Caching of anime answers)", () => {
  const paths = () => [
    `/anime/entry/${idOf(1)}`,
    `/anime/entry/${idOf(1)}/details`,
    "/anime/search?q=naruto",
    "/anime/search?type=TV&sort=-year&page_size=5",
    `/anime/lookup?source=https://anidb.net/anime/2`,
    `/anime/entries?ids=${idOf(2)},${idOf(1)}`,
  ];

  test("every 200 carries a strong ETag; a matching If-None-Match gets 304 with no body", async () => {
    for (const path of paths()) {
      const first = await server.request(path);
      expect(first.status).toBe(200);
      const etag = first.headers.get("etag")!;
      expect(etag).toMatch(/^"[^"]+"$/); // strong: no W/
      await first.text();
      const again = await server.request(path);
      expect(again.headers.get("etag")).toBe(etag);
      await again.text();
      for (const header of [etag, `"other", ${etag}`, `W/${etag}`, "*"]) {
        const cached = await server.request(path, { headers: { "if-none-match": header } });
        expect({ path, header, status: cached.status, body: await cached.text() }).toEqual({ path, header, status: 304, body: "" });
        expect(cached.headers.get("etag")).toBe(etag);
      }
      const stale = await server.request(path, { headers: { "if-none-match": '"something-else"' } });
      expect(stale.status).toBe(200);
      await stale.text();
    }
  });

  test("different answers carry different ETags; /anime/random carries none", async () => {
    const tagOf = async (path: string) => {
      const response = await server.request(path);
      await response.text();
      return response.headers.get("etag");
    };
    expect(await tagOf("/anime/search?q=naruto")).not.toBe(await tagOf("/anime/search?q=akira"));
    expect(await tagOf("/anime/search?sort=year")).not.toBe(await tagOf("/anime/search?sort=-year"));
    expect(await tagOf(`/anime/entries?ids=${idOf(1)},${idOf(2)}`)).not.toBe(await tagOf(`/anime/entries?ids=${idOf(2)},${idOf(1)}`));
    expect(await tagOf(`/anime/entry/${idOf(1)}/details`)).not.toBe(await tagOf(`/anime/entry/${idOf(2)}/details`));
    expect(await tagOf("/anime/random")).toBeNull();
  });
});
