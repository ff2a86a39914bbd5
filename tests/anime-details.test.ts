// GET /anime/entry/{id}/details (API.md Part 2) and the importer keeping the whole entry: the
// details object exactly, related entries resolved through any source URL (also when the relative is
// imported later), a re-import filling the details into rows imported before they were kept, and
// imports made by another process reaching a running server's indexes (search, filters, random).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importCatalogue } from "../src/anime/import/importer.ts";
import { type Anime, datasetEntry, eventually, getJson, runImportCli, writeReleaseFile } from "./support/anime.ts";
import { type TestServer, startTestServer } from "./support/server.ts";

const GHOUL = datasetEntry({
  title: "Tokyo Ghoul",
  sources: ["https://myanimelist.net/anime/22319", "https://anidb.net/anime/10401", "https://anilist.co/anime/20605", "https://kitsu.app/anime/8271"],
  episodes: 12,
  animeSeason: { season: "SUMMER", year: 2014 },
  picture: "https://cdn.myanimelist.net/images/anime/5/64449.jpg",
  thumbnail: "https://cdn.myanimelist.net/images/anime/5/64449t.jpg",
  duration: { value: 1440, unit: "SECONDS" },
  score: { arithmeticGeometricMean: 7.8149, arithmeticMean: 7.82, median: 7.8 },
  synonyms: ["Tokyo Kushu", "東京喰種", "Tokyo Ghoul"],
  studios: ["pierrot"],
  producers: ["marvelous", "dentsu"],
  relatedAnime: ["https://myanimelist.net/anime/27899", "https://anidb.net/anime/99999", "https://myanimelist.net/anime/22319"],
  tags: ["action", "horror"],
});
/** Related to Tokyo Ghoul by its anilist URL (not the one Tokyo Ghoul lists), imported later. */
const ROOT_A = datasetEntry({
  title: "Tokyo Ghoul √A",
  sources: ["https://anilist.co/anime/20850", "https://myanimelist.net/anime/27899"],
  animeSeason: { season: "WINTER", year: 2015 },
  duration: { value: 24, unit: "MINUTES" },
  relatedAnime: ["https://anilist.co/anime/20605"],
  tags: ["action"],
});
const BARE = datasetEntry({
  title: "Bare",
  sources: ["https://anidb.net/anime/5"],
  type: "ONA",
  animeSeason: { season: "UNDEFINED" },
  thumbnail: undefined as unknown as string,
});

let server: TestServer;
let workDir: string;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "lumotist-anime-details-"));
  server = await startTestServer({ LOAD_SAMPLE: "off" });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(workDir, { recursive: true, force: true });
}, 30_000);

async function importNow(entries: unknown[]) {
  const report = await importCatalogue(server.running.db.sql, entries);
  await server.running.services.catalogue.reload();
  return report;
}

async function idBySource(url: string): Promise<number> {
  const { status, json } = await getJson<Anime>(server, `/anime/lookup?source=${encodeURIComponent(url)}`);
  expect(status).toBe(200);
  return json.id;
}

type Details = Anime & Record<string, unknown>;

describe("GET /anime/entry/{id}/details", () => {
  test("the anime object, byte for byte, then what the dataset knows besides, keys in the contract's order", async () => {
    await importNow([GHOUL, BARE]);
    const id = await idBySource("https://anidb.net/anime/10401");
    const entry = (await getJson(server, `/anime/entry/${id}`)).text;
    const { status, text, json } = await getJson<Details>(server, `/anime/entry/${id}/details`);
    expect(status).toBe(200);
    expect(text.startsWith(entry.slice(0, -1) + ',"season":')).toBe(true);
    expect(Object.keys(json).slice(9)).toEqual(["season", "synonyms", "sources", "thumbnail", "duration_seconds", "score", "studios", "producers", "related"]);
    expect(json).toMatchObject({
      id,
      title: "Tokyo Ghoul",
      source: "https://anidb.net/anime/10401",
      season: "Summer",
      synonyms: ["Tokyo Kushu", "東京喰種", "Tokyo Ghoul"], // the dataset's order
      sources: ["https://anidb.net/anime/10401", "https://anilist.co/anime/20605", "https://kitsu.app/anime/8271", "https://myanimelist.net/anime/22319"],
      thumbnail: "https://cdn.myanimelist.net/images/anime/5/64449t.jpg",
      duration_seconds: 1440,
      score: 7.81,
      studios: ["pierrot"],
      producers: ["marvelous", "dentsu"],
      related: [], // its relative is not in the catalogue yet; its own URL is not a relation
    });
  });

  test("unknown fields are null: season UNDEFINED, no duration, no score, no thumbnail", async () => {
    const id = await idBySource("https://anidb.net/anime/5");
    const { json } = await getJson<Details>(server, `/anime/entry/${id}/details`);
    expect(json).toMatchObject({ season: null, duration_seconds: null, score: null, thumbnail: null, synonyms: [], studios: [], producers: [], related: [] });
  });

  test("related entries are resolved when served: an entry imported before its relative finds it, through any source URL", async () => {
    await importNow([GHOUL, BARE, ROOT_A]);
    const ghoul = await idBySource("https://anidb.net/anime/10401");
    const rootA = await idBySource("https://anilist.co/anime/20850");
    const { json } = await getJson<Details>(server, `/anime/entry/${ghoul}/details`);
    expect(json.related).toEqual([{ id: rootA, title: "Tokyo Ghoul √A", anime_type: "TV", year: 2015 }]);
    const { json: back } = await getJson<Details>(server, `/anime/entry/${rootA}/details`);
    expect(back.related).toEqual([{ id: ghoul, title: "Tokyo Ghoul", anime_type: "TV", year: 2014 }]);
    expect(back.duration_seconds).toBe(24 * 60); // MINUTES converted
  });

  test("a re-import fills the details into rows imported before they were kept, ids unchanged", async () => {
    const sql = server.running.db.sql;
    const before = await sql<{ id: number; body: string }[]>`select id, body from anime order by id`;
    await sql`update anime set details = null, season = null, synonyms = '{}', thumbnail = null, duration_seconds = null,
                score = null, studios = '{}', producers = '{}', related_urls = '{}'`;
    const report = await importNow([GHOUL, BARE, ROOT_A]);
    expect(report).toMatchObject({ inserted: 0, updated: 3, unchanged: 0 });
    const after = await sql<{ id: number; body: string }[]>`select id, body from anime order by id`;
    expect(after).toEqual(before); // the Part 1 bodies did not change by a byte
    const { json } = await getJson<Details>(server, `/anime/entry/${await idBySource("https://anidb.net/anime/10401")}/details`);
    expect(json).toMatchObject({ season: "Summer", score: 7.81, studios: ["pierrot"], related: [{ title: "Tokyo Ghoul √A" }] });
    expect((await importNow([GHOUL, BARE, ROOT_A])).unchanged).toBe(3);
  });

  test("a changed detail is an update and is served at once", async () => {
    const changed = { ...GHOUL, synonyms: ["TG"], score: { arithmeticGeometricMean: 8.005 } };
    const report = await importNow([changed, BARE, ROOT_A]);
    expect(report).toMatchObject({ updated: 1, unchanged: 2 });
    const { json } = await getJson<Details>(server, `/anime/entry/${await idBySource("https://anidb.net/anime/10401")}/details`);
    expect(json).toMatchObject({ synonyms: ["TG"], score: 8.01 });
  });

  test("unknown ids and ids that are not positive 32-bit integers: 404", async () => {
    for (const id of ["999999", "0", "-1", "2147483648", "abc", "1.5", "9".repeat(1000)]) {
      const { status, json } = await getJson(server, `/anime/entry/${id}/details`);
      expect({ id, status, json }).toEqual({ id, status: 404, json: { detail: "Not found." } });
    }
  });
});

describe("imports made by another process reach a running server's indexes", () => {
  test("search, filters and filtered random see the new release without a restart", async () => {
    const release = [
      datasetEntry({ title: "Refreshed Moonlight", sources: ["https://anidb.net/anime/7001"], tags: ["refreshtag"], studios: ["refresh studio"] }),
      datasetEntry({ title: "Refreshed Sunlight", sources: ["https://anidb.net/anime/7002"], tags: ["refreshtag"], type: "MOVIE" }),
    ];
    const file = await writeReleaseFile(join(workDir, "refresh.json"), release);
    await runImportCli(server.database, file);
    const found = await eventually("the new entries are searchable", async () => {
      const { json } = await getJson<{ count: number; results: Anime[] }>(server, "/anime/search?q=refreshed%20moonlight");
      return json.count > 0 && json.results;
    });
    expect(found[0]!.title).toBe("Refreshed Moonlight");
    const browse = await getJson<{ count: number; results: Anime[] }>(server, "/anime/search?tags=refreshtag");
    expect(browse.json.results.map((a) => a.title)).toEqual(["Refreshed Moonlight", "Refreshed Sunlight"]);
    const studio = await getJson<Anime>(server, "/anime/random?studio=Refresh%20Studio");
    expect(studio.json.title).toBe("Refreshed Moonlight");
    const movie = await getJson<Anime>(server, "/anime/random?tags=refreshtag&type=movie");
    expect(movie.json.title).toBe("Refreshed Sunlight");
  }, 30_000);

  test("a cached details answer is replaced, with a new ETag, once an import changes the entry or brings its relative", async () => {
    const source = "https://anidb.net/anime/7101";
    const before = datasetEntry({ title: "Cached Details", sources: [source], synonyms: ["Before"], relatedAnime: ["https://anidb.net/anime/7102"] });
    await runImportCli(server.database, await writeReleaseFile(join(workDir, "details-1.json"), [before]));
    await eventually("the entry is searchable (the server has reloaded)", async () => (await getJson<{ count: number }>(server, "/anime/search?q=cached%20details")).json.count > 0);
    const path = `/anime/entry/${await idBySource(source)}/details`;
    const first = await getJson<Details>(server, path);
    expect(first.json).toMatchObject({ synonyms: ["Before"], related: [] });
    const etag = first.response.headers.get("etag")!;
    const hits = () => server.running.services.catalogue.cacheState().details.hits;
    const hitsBefore = hits();
    const again = await getJson<Details>(server, path);
    expect(again.text).toBe(first.text);
    expect(hits()).toBe(hitsBefore + 1); // answered from the details cache

    const after = { ...before, synonyms: ["After"] };
    const relative = datasetEntry({ title: "Cached Details Relative", sources: ["https://anidb.net/anime/7102"], type: "MOVIE" });
    await runImportCli(server.database, await writeReleaseFile(join(workDir, "details-2.json"), [after, relative]));
    const relativeId = await idBySource("https://anidb.net/anime/7102");
    const changed = await eventually("the details show the import", async () => {
      const answer = await getJson<Details>(server, path);
      return (answer.json.synonyms as string[])[0] === "After" && answer;
    });
    expect(changed.json.related).toEqual([{ id: relativeId, title: "Cached Details Relative", anime_type: "Movie", year: 2001 }]);
    const newTag = changed.response.headers.get("etag");
    expect(newTag).not.toBe(etag);
    const revalidated = await server.request(path, { headers: { "if-none-match": etag } });
    expect(revalidated.status).toBe(200); // the old tag no longer matches
    expect(revalidated.headers.get("etag")).toBe(newTag);
    expect(await revalidated.text()).toBe(changed.text);
  }, 30_000);
});
