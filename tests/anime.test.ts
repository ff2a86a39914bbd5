// /anime/entry/{id} and /anime/random over HTTP against the real server (API.md, "Anime endpoints"):
// the shipped sample, how a release's fields map onto the anime object, ids that are not catalogue
// ids, and the uniformity of /anime/random. Runs on PostgreSQL (DATABASE_URL) and on the embedded database.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importCatalogue, readReleaseFile } from "../src/anime/import/importer.ts";
import { ANIME_KEYS, type Anime, datasetEntry, drawRandom, getJson, idsBySource, writeReleaseFile } from "./support/anime.ts";
import { type TestServer, startTestServer } from "./support/server.ts";

const NOT_FOUND = { detail: "Not found." };

// API.md's example anime object.
const TOKYO_GHOUL = {
  title: "Tokyo Ghoul",
  source: "https://anidb.net/anime/10401",
  anime_type: "TV",
  num_episodes: 12,
  status: "Finished",
  year: 2014,
  picture: "https://cdn.myanimelist.net/images/anime/5/64449.jpg",
  tags: ["Action", "Crime", "Dark fantasy", "Drama", "Gore", "Horror"],
};

/** A fixture release of ten entries, each with the anime object the contract says it becomes. */
const FIXTURE: { entry: ReturnType<typeof datasetEntry>; expected: Omit<Anime, "id"> }[] = [
  {
    // anidb.net wins wherever it is listed; tags: duplicates (also after upper-casing) removed, the
    // first letter upper-cased and the rest kept as in the data, sorted by code point (not by locale:
    // "Zombies" before "École").
    entry: datasetEntry({
      title: "Kōkaku Alpha",
      sources: ["https://myanimelist.net/anime/101", "https://kitsu.app/anime/101", "https://anidb.net/anime/101", "https://anilist.co/anime/101"],
      type: "TV",
      episodes: 12,
      status: "FINISHED",
      animeSeason: { season: "SPRING", year: 2014 },
      picture: "https://cdn.myanimelist.net/images/anime/5/101.jpg",
      tags: ["drama", "action", "zombies", "action", "école", "dark fantasy", "Drama", "14th century", "sci-fi", "ëlves", "giant ROBOTS"],
    }),
    expected: {
      title: "Kōkaku Alpha",
      source: "https://anidb.net/anime/101",
      anime_type: "TV",
      num_episodes: 12,
      status: "Finished",
      year: 2014,
      picture: "https://cdn.myanimelist.net/images/anime/5/101.jpg",
      tags: ["14th century", "Action", "Dark fantasy", "Drama", "Giant ROBOTS", "Sci-fi", "Zombies", "École", "Ëlves"],
    },
  },
  {
    // No anidb: myanimelist before anilist and kitsu whatever the order in the file; no year -> null.
    entry: datasetEntry({
      title: "Beta the Movie",
      sources: ["https://kitsu.app/anime/102", "https://anilist.co/anime/102", "https://notify.moe/anime/Beta", "https://myanimelist.net/anime/102"],
      type: "MOVIE",
      episodes: 1,
      status: "ONGOING",
      animeSeason: { season: "UNDEFINED" },
      picture: "https://cdn.myanimelist.net/images/anime/2/102.jpg",
      tags: ["music"],
    }),
    expected: {
      title: "Beta the Movie",
      source: "https://myanimelist.net/anime/102",
      anime_type: "Movie",
      num_episodes: 1,
      status: "Ongoing",
      year: null,
      picture: "https://cdn.myanimelist.net/images/anime/2/102.jpg",
      tags: ["Music"],
    },
  },
  {
    // anilist before kitsu (kitsu.io, the older host) and the rest.
    entry: datasetEntry({
      title: "Gamma OVA",
      sources: ["https://notify.moe/anime/Gamma", "https://kitsu.io/anime/103", "https://anilist.co/anime/103"],
      type: "OVA",
      episodes: 3,
      status: "UPCOMING",
      animeSeason: { season: "SUMMER", year: 2027 },
      picture: "https://cdn.myanimelist.net/images/anime/3/103.jpg",
    }),
    expected: {
      title: "Gamma OVA",
      source: "https://anilist.co/anime/103",
      anime_type: "OVA",
      num_episodes: 3,
      status: "Upcoming",
      year: 2027,
      picture: "https://cdn.myanimelist.net/images/anime/3/103.jpg",
      tags: [],
    },
  },
  {
    // kitsu before the providers without a rank.
    entry: datasetEntry({
      title: "Delta ONA",
      sources: ["https://notify.moe/anime/Delta", "https://kitsu.app/anime/104", "https://anime-planet.com/anime/delta-ona"],
      type: "ONA",
      episodes: 8,
      status: "UNKNOWN",
      animeSeason: { season: "WINTER", year: 2020 },
      picture: "https://cdn.myanimelist.net/images/anime/4/104.jpg",
      tags: ["comedy", "school"],
    }),
    expected: {
      title: "Delta ONA",
      source: "https://kitsu.app/anime/104",
      anime_type: "ONA",
      num_episodes: 8,
      status: "Unknown",
      year: 2020,
      picture: "https://cdn.myanimelist.net/images/anime/4/104.jpg",
      tags: ["Comedy", "School"],
    },
  },
  {
    // None of the ranked providers: alphabetical.
    entry: datasetEntry({
      title: "Epsilon Special",
      sources: ["https://simkl.com/anime/105", "https://livechart.me/anime/105", "https://anime-planet.com/anime/epsilon-special"],
      type: "SPECIAL",
      episodes: 2,
      status: "FINISHED",
      animeSeason: { season: "FALL", year: 1999 },
      picture: "https://raw.githubusercontent.com/manami-project/anime-offline-database/master/pics/no_pic.png",
    }),
    expected: {
      title: "Epsilon Special",
      source: "https://anime-planet.com/anime/epsilon-special",
      anime_type: "Special",
      num_episodes: 2,
      status: "Finished",
      year: 1999,
      picture: "https://raw.githubusercontent.com/manami-project/anime-offline-database/master/pics/no_pic.png",
      tags: [],
    },
  },
  {
    entry: datasetEntry({
      title: "Zeta",
      sources: ["https://anilist.co/anime/106", "https://myanimelist.net/anime/106"],
      type: "UNKNOWN",
      episodes: 0,
      status: "UPCOMING",
      animeSeason: { season: "UNDEFINED" },
      picture: "https://cdn.myanimelist.net/images/anime/6/106.jpg",
    }),
    expected: {
      title: "Zeta",
      source: "https://myanimelist.net/anime/106",
      anime_type: "Unknown",
      num_episodes: 0,
      status: "Upcoming",
      year: null,
      picture: "https://cdn.myanimelist.net/images/anime/6/106.jpg",
      tags: [],
    },
  },
  {
    // Characters JSON must escape, and text outside ASCII, come back as they went in.
    entry: datasetEntry({
      title: '東京 "Eta" \\ Re: </script>',
      sources: ["https://anidb.net/anime/107"],
      type: "TV",
      episodes: 24,
      status: "FINISHED",
      animeSeason: { season: "FALL", year: 2018 },
      picture: "https://cdn.myanimelist.net/images/anime/7/107.jpg",
      tags: ["psychological", "action"],
    }),
    expected: {
      title: '東京 "Eta" \\ Re: </script>',
      source: "https://anidb.net/anime/107",
      anime_type: "TV",
      num_episodes: 24,
      status: "Finished",
      year: 2018,
      picture: "https://cdn.myanimelist.net/images/anime/7/107.jpg",
      tags: ["Action", "Psychological"],
    },
  },
  {
    // A season but no year.
    entry: datasetEntry({
      title: "Theta",
      sources: ["https://myanimelist.net/anime/108"],
      type: "TV",
      episodes: 26,
      status: "FINISHED",
      animeSeason: { season: "FALL" },
      picture: "https://cdn.myanimelist.net/images/anime/8/108.jpg",
    }),
    expected: {
      title: "Theta",
      source: "https://myanimelist.net/anime/108",
      anime_type: "TV",
      num_episodes: 26,
      status: "Finished",
      year: null,
      picture: "https://cdn.myanimelist.net/images/anime/8/108.jpg",
      tags: [],
    },
  },
  {
    entry: datasetEntry({
      title: "Iota",
      sources: ["https://myanimelist.net/anime/109", "https://anidb.net/anime/109"],
      type: "MOVIE",
      episodes: 1,
      status: "FINISHED",
      animeSeason: { season: "SUMMER", year: 1963 },
      picture: "https://cdn.myanimelist.net/images/anime/9/109.jpg",
      tags: ["sci-fi", "mecha"],
    }),
    expected: {
      title: "Iota",
      source: "https://anidb.net/anime/109",
      anime_type: "Movie",
      num_episodes: 1,
      status: "Finished",
      year: 1963,
      picture: "https://cdn.myanimelist.net/images/anime/9/109.jpg",
      tags: ["Mecha", "Sci-fi"],
    },
  },
  {
    entry: datasetEntry({
      title: "Kappa",
      sources: ["https://kitsu.app/anime/110", "https://anilist.co/anime/110"],
      type: "ONA",
      episodes: 10,
      status: "ONGOING",
      animeSeason: { season: "WINTER", year: 2025 },
      picture: "https://cdn.myanimelist.net/images/anime/10/110.jpg",
      tags: ["slice of life"],
    }),
    expected: {
      title: "Kappa",
      source: "https://anilist.co/anime/110",
      anime_type: "ONA",
      num_episodes: 10,
      status: "Ongoing",
      year: 2025,
      picture: "https://cdn.myanimelist.net/images/anime/10/110.jpg",
      tags: ["Slice of life"],
    },
  },
];

/** The contract's shape: exactly the nine keys, in order, with their types. */
function expectAnimeShape(anime: Anime) {
  expect(Object.keys(anime)).toEqual(ANIME_KEYS);
  expect(Number.isInteger(anime.id) && anime.id > 0).toBe(true);
  expect(anime.title).toBeString();
  expect(anime.source).toMatch(/^https?:\/\//);
  expect(["TV", "Movie", "OVA", "ONA", "Special", "Unknown"]).toContain(anime.anime_type);
  expect(Number.isInteger(anime.num_episodes) && anime.num_episodes >= 0).toBe(true);
  expect(["Finished", "Ongoing", "Upcoming", "Unknown"]).toContain(anime.status);
  expect(anime.year === null || Number.isInteger(anime.year)).toBe(true);
  expect(anime.picture).toBeString();
  expect(Array.isArray(anime.tags)).toBe(true);
  for (const tag of anime.tags) {
    expect(tag).toBeString();
    const first = String.fromCodePoint(tag.codePointAt(0)!);
    expect(first).toBe(first.toUpperCase());
  }
  expect(anime.tags).toEqual([...new Set(anime.tags)].sort());
}

// The uniformity of /anime/random: Pearson's chi-square over 10 entries (9 degrees of freedom).
// UNIFORM_CRITICAL is the statistic a uniform random exceeds with probability 1e-7
// (scipy.stats.chi2.isf(1e-7, 9) = 50.1718), so the test fails falsely once in ten million runs.
// With RANDOM_DRAWS draws a biased random gives a noncentral chi-square, of noncentrality
// N·k·Σ(p_i − 1/k)²: 494 for Math.round in place of Math.floor, 204 for one entry 1.5 times as
// likely as the others (missed with probability 4e-54 and 1.6e-14), 76 for one entry 1.3 times as
// likely (missed 1.5% of the time). The simulations at the end of this file check the first two.
const RANDOM_DRAWS = 10_000;
const UNIFORM_CRITICAL = 50.17;

/** Pearson's chi-square statistic of `counts` against the same expected count for each. */
function chiSquare(counts: number[]): number {
  const expected = counts.reduce((sum, count) => sum + count, 0) / counts.length;
  return counts.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
}

/** A small seeded random in [0, 1) (mulberry32), for the simulated draws. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// One server: it starts with the shipped sample (LOAD_SAMPLE=on); then a fixture release is imported
// with --prune, which leaves exactly the fixture's ten entries. (An empty catalogue's 404s are in
// anime-refresh.test.ts, whose server starts empty.)
let server: TestServer;
let workDir: string;
let sampleIds: number[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "lumotist-anime-"));
  server = await startTestServer({ LOAD_SAMPLE: "on" });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(workDir, { recursive: true, force: true });
}, 30_000);

describe("the shipped sample (LOAD_SAMPLE=on)", () => {
  test("Tokyo Ghoul is served as API.md's example shows it", async () => {
    const id = (await idsBySource(server)).get(TOKYO_GHOUL.source);
    expect(id).toBeNumber();
    const { status, text, json, response } = await getJson<Anime>(server, `/anime/entry/${id}`);
    expect(status).toBe(200);
    expect(response.headers.get("content-type")).toStartWith("application/json");
    expect(Object.keys(json)).toEqual(ANIME_KEYS);
    const { tags, ...rest } = json;
    const { tags: exampleTags, ...exampleRest } = TOKYO_GHOUL;
    expect(rest).toEqual({ id: id!, ...exampleRest });
    for (const tag of exampleTags) expect(tags).toContain(tag);
    expectAnimeShape(json);
    // The body is JSON as the importer serialized it: no wrapper, nothing else.
    expect(JSON.parse(text)).toEqual(json);
  }, 30_000);

  test("every sample entry is a well-formed anime object, and /anime/random serves them", async () => {
    const ids = [...new Set((await idsBySource(server)).values())].sort((a, b) => a - b);
    expect(ids.length).toBeGreaterThan(1);
    sampleIds = ids;
    expect(server.running.services.catalogue.size).toBe(ids.length);
    const bodies = new Map<number, Anime>();
    for (let start = 0; start < ids.length; start += 32) {
      await Promise.all(
        ids.slice(start, start + 32).map(async (id) => {
          const { status, json } = await getJson<Anime>(server, `/anime/entry/${id}`);
          expect(status).toBe(200);
          expect(json.id).toBe(id);
          expectAnimeShape(json);
          bodies.set(id, json);
        }),
      );
    }
    for (const drawn of await drawRandom(server, 50)) {
      expect(bodies.get(drawn.id)).toEqual(drawn);
    }
  }, 30_000);
});

describe("a catalogue imported from a release file", () => {
  const ids: number[] = [];

  test("the release imports, replacing the sample (--prune)", async () => {
    expect(sampleIds.length).toBeGreaterThan(0);
    const file = await writeReleaseFile(join(workDir, "anime-offline-database-minified.json"), FIXTURE.map(({ entry }) => entry));
    const report = await importCatalogue(server.running.db.sql, readReleaseFile(file), { prune: true });
    expect(report).toMatchObject({ read: FIXTURE.length, inserted: FIXTURE.length, pruned: sampleIds.length, skipped: [] });
    // How a running server notices imports is anime-refresh.test.ts's subject; here it is told.
    await server.running.services.catalogue.reload();
    const bySource = await idsBySource(server);
    for (const { entry } of FIXTURE) {
      const id = bySource.get(entry.sources[0]!);
      expect(id).toBeNumber();
      for (const url of entry.sources) expect(bySource.get(url)).toBe(id!);
      ids.push(id!);
    }
    expect(new Set(ids).size).toBe(FIXTURE.length);
    expect(bySource.size).toBe(FIXTURE.flatMap(({ entry }) => entry.sources).length);
    expect(server.running.services.catalogue.size).toBe(FIXTURE.length);
  }, 30_000);

  test("each entry maps onto the anime object as API.md says", async () => {
    expect(ids).toHaveLength(FIXTURE.length);
    for (const [i, { expected }] of FIXTURE.entries()) {
      const { status, json, response } = await getJson<Anime>(server, `/anime/entry/${ids[i]}`);
      expect(status).toBe(200);
      expect(response.headers.get("content-type")).toStartWith("application/json");
      expect(Object.keys(json)).toEqual(ANIME_KEYS);
      expect(json).toEqual({ id: ids[i]!, ...expected });
      expectAnimeShape(json);
      // A second read (from the server's cache) is byte for byte the same.
      const again = await getJson<Anime>(server, `/anime/entry/${ids[i]}`);
      expect(again.json).toEqual(json);
    }
  }, 30_000);

  test("?format=json is accepted and changes nothing", async () => {
    const plain = await getJson<Anime>(server, `/anime/entry/${ids[0]}`);
    const withFormat = await getJson<Anime>(server, `/anime/entry/${ids[0]}?format=json`);
    expect(withFormat.status).toBe(200);
    expect(withFormat.text).toBe(plain.text);
    const random = await getJson<Anime>(server, "/anime/random?format=json");
    expect(random.status).toBe(200);
    expect(ids).toContain(random.json.id);
  }, 30_000);

  test("an Authorization header, however bad, is ignored", async () => {
    const headers = ["Token garbage", "Bearer ", "Token " + "0".repeat(64), "Basic dXNlcjpwYXNz", "garbage", "Token a b c"];
    for (const authorization of headers) {
      const entry = await getJson<Anime>(server, `/anime/entry/${ids[0]}`, { headers: { authorization } });
      expect(entry.status).toBe(200);
      expect(entry.json.id).toBe(ids[0]!);
      const random = await getJson<Anime>(server, "/anime/random", { headers: { authorization } });
      expect(random.status).toBe(200);
      const missing = await getJson(server, "/anime/entry/abc", { headers: { authorization } });
      expect(missing.status).toBe(404);
      expect(missing.json).toEqual(NOT_FOUND);
    }
  }, 30_000);

  test("404 Not found for ids that are not catalogue ids, never a 5xx", async () => {
    const unknownId = Math.max(...ids) + 1000;
    const notIds = [
      String(sampleIds[0]), // pruned
      "0", "-1", "1.5", "abc", "99999999999999999999", "2147483648", "%20", String(unknownId), "2147483647",
      "1e3", "0x10", "+5", "NaN", "Infinity", "-0", "%00", "%F0%9F%98%80", "1%2F2", "9".repeat(400),
    ];
    for (const id of notIds) {
      for (const query of ["", "?format=json"]) {
        const { status, json } = await getJson(server, `/anime/entry/${id}${query}`);
        expect({ id, query, status }).toEqual({ id, query, status: 404 });
        expect(json).toEqual(NOT_FOUND);
      }
    }
  }, 30_000);

  test(`/anime/random is uniform over the catalogue (chi-square, df = 9, ${RANDOM_DRAWS} draws, p = 1e-7)`, async () => {
    expect(ids).toHaveLength(10);
    const counts = new Map(ids.map((id) => [id, 0]));
    for (const anime of await drawRandom(server, RANDOM_DRAWS)) {
      expect(counts.has(anime.id)).toBe(true);
      counts.set(anime.id, counts.get(anime.id)! + 1);
      const [fixture] = FIXTURE.filter((_, i) => ids[i] === anime.id);
      if (!fixture) throw new Error(`/anime/random drew id ${anime.id}, which no fixture entry has`);
      expect(anime).toEqual({ id: anime.id, ...fixture.expected });
    }
    // Every id is drawn (a miss has probability about 10 × 0.9^10000, nil), and the spread is what
    // uniform draws give (see UNIFORM_CRITICAL and the next describe for how likely a false failure
    // is, and which biases this catches).
    expect([...counts.values()].every((count) => count > 0)).toBe(true);
    expect(chiSquare([...counts.values()])).toBeLessThan(UNIFORM_CRITICAL);
  }, 30_000);
});

describe("the uniformity check itself, on simulated draws (seeded, so deterministic)", () => {
  const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
  /** RANDOM_DRAWS draws from `pick` over 10 entries, given a seeded random in [0, 1). */
  const simulate = (seed: number, pick: (random: () => number) => number) => {
    const random = mulberry32(seed);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < RANDOM_DRAWS; i++) {
      const drawn = pick(random);
      counts[drawn] = counts[drawn]! + 1;
    }
    return chiSquare(counts);
  };

  test("a fair draw passes", () => {
    for (const seed of SEEDS) expect(simulate(seed, (random) => Math.floor(random() * 10))).toBeLessThan(UNIFORM_CRITICAL);
  });

  test("Math.round instead of Math.floor (the first and last entries half as likely) fails", () => {
    // Noncentrality 494: a run that misses this bias has probability 4e-54.
    for (const seed of SEEDS) expect(simulate(seed, (random) => Math.round(random() * 9))).toBeGreaterThan(UNIFORM_CRITICAL);
  });

  test("one entry 1.5 times as likely as each other one fails", () => {
    // Noncentrality 204: a run that misses this bias has probability 1.6e-14.
    const pick = (random: () => number) => {
      const u = random() * 10.5; // [0, 1.5) is entry 0, then one unit per entry
      return u < 1.5 ? 0 : Math.floor(u - 0.5);
    };
    for (const seed of SEEDS) expect(simulate(seed, pick)).toBeGreaterThan(UNIFORM_CRITICAL);
  });
});
