// The catalogue importer: the dataset-to-API mapping, the shipped sample, the release formats, id
// stability across re-imports, updates, pruning, what is skipped and what aborts (and rolls back),
// and `bun run import` end to end. Runs on PostgreSQL when DATABASE_URL is set, else on the
// embedded database (which the CLI then reaches through this process's socket).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { type GeneratedEntry, generateEntries, serializeRelease, writeRelease } from "../scripts/generate-catalogue.ts";
import { apiTags, type DatasetEntry, entryProblem, primarySource, serializeAnime, toAnimeRow } from "../src/anime/catalogue-data.ts";
import {
  ImportError,
  type ImportReport,
  importCatalogue,
  loadSampleIfEmpty,
  readReleaseFile,
  SAMPLE_PATH,
} from "../src/anime/import/importer.ts";
import { loadConfig } from "../src/config.ts";
import { CHANGES_CHANNEL } from "../src/db/changes.ts";
import { type Database, openDatabaseForTool } from "../src/db/connect.ts";
import { createLogger } from "../src/log.ts";
import { migrate } from "../src/db/migrate.ts";
import { createTestDatabase, type TestDatabase } from "./support/db.ts";

const ROOT = resolve(import.meta.dir, "..");

/** A complete dataset entry; `fields` override. */
function entry(fields: Partial<GeneratedEntry> & { title: string; sources: string[] }): GeneratedEntry {
  return {
    type: "TV",
    episodes: 12,
    status: "FINISHED",
    animeSeason: { season: "SPRING", year: 2001 },
    picture: "https://cdn.myanimelist.net/images/anime/1/1.jpg",
    thumbnail: "https://cdn.myanimelist.net/images/anime/1/1t.jpg",
    synonyms: [],
    studios: [],
    producers: [],
    relatedAnime: [],
    tags: [],
    ...fields,
  };
}

describe("mapping a dataset entry to the API anime object", () => {
  test("tags: first letter upper-cased, the rest kept, duplicates removed, sorted by code point", () => {
    expect(apiTags(["sci-fi", "action", "école", "Action", "action", "mecha", "ZZ top", "14th century", "ǆ"])).toEqual([
      "14th century",
      "Action",
      "Mecha",
      "Sci-fi",
      "ZZ top",
      "École",
      "Ǆ",
    ]);
  });

  test("source: anidb.net first, then myanimelist, anilist, kitsu, then alphabetical", () => {
    const anidb = "https://anidb.net/anime/4563";
    const mal = "https://myanimelist.net/anime/1535";
    const anilist = "https://anilist.co/anime/1535";
    const kitsu = "https://kitsu.app/anime/1376";
    const others = ["https://notify.moe/anime/0-A-5Fimg", "https://anime-planet.com/anime/death-note"];
    expect(primarySource([...others, kitsu, anilist, mal, anidb])).toBe(anidb);
    expect(primarySource([...others, kitsu, anilist, mal])).toBe(mal);
    expect(primarySource([...others, kitsu, anilist])).toBe(anilist);
    expect(primarySource([...others, "https://kitsu.io/anime/1376"])).toBe("https://kitsu.io/anime/1376");
    expect(primarySource(others)).toBe("https://anime-planet.com/anime/death-note");
  });

  test("type, status, episodes, year (null when unknown), picture; all sources kept", () => {
    const row = toAnimeRow(
      entry({
        title: "Kimi no Na wa.",
        sources: ["https://myanimelist.net/anime/32281", "https://anilist.co/anime/21519", "https://myanimelist.net/anime/32281"],
        type: "MOVIE",
        episodes: 1,
        status: "UPCOMING",
        animeSeason: { season: "UNDEFINED" },
        tags: ["romance", "drama"],
      }) as DatasetEntry,
    );
    const { details, ...part1 } = row;
    expect(details.season).toBeNull();
    expect(part1).toEqual({
      title: "Kimi no Na wa.",
      source: "https://myanimelist.net/anime/32281",
      sources: ["https://myanimelist.net/anime/32281", "https://anilist.co/anime/21519"],
      anime_type: "Movie",
      num_episodes: 1,
      status: "Upcoming",
      year: null,
      picture: "https://cdn.myanimelist.net/images/anime/1/1.jpg",
      tags: ["Drama", "Romance"],
    });
    const types = ["TV", "MOVIE", "OVA", "ONA", "SPECIAL", "UNKNOWN"].map((type) => toAnimeRow(entry({ title: "t", sources: ["u"], type }) as DatasetEntry).anime_type);
    expect(types).toEqual(["TV", "Movie", "OVA", "ONA", "Special", "Unknown"]);
    const statuses = ["FINISHED", "ONGOING", "UPCOMING", "UNKNOWN"].map((status) => toAnimeRow(entry({ title: "t", sources: ["u"], status }) as DatasetEntry).status);
    expect(statuses).toEqual(["Finished", "Ongoing", "Upcoming", "Unknown"]);
  });

  test("the body is the contract's anime object, keys in order", () => {
    const row = toAnimeRow(entry({ title: "A", sources: ["https://anidb.net/anime/1"], animeSeason: { season: "FALL", year: 1999 } }) as DatasetEntry);
    expect(serializeAnime(7, row)).toBe(
      '{"id":7,"title":"A","source":"https://anidb.net/anime/1","anime_type":"TV","num_episodes":12,"status":"Finished","year":1999,"picture":"https://cdn.myanimelist.net/images/anime/1/1.jpg","tags":[]}',
    );
  });

  test("entries lacking what the API needs are refused with a reason", () => {
    const ok = entry({ title: "Fine", sources: ["https://anidb.net/anime/1"] });
    expect(entryProblem(ok)).toBeUndefined();
    expect(entryProblem({ ...ok, synonyms: undefined, thumbnail: undefined })).toBeUndefined(); // unused fields
    expect(entryProblem([ok])).toBe("not a JSON object");
    expect(entryProblem({ ...ok, title: undefined })).toBe("missing title");
    expect(entryProblem({ ...ok, title: "  " })).toBe("missing title");
    expect(entryProblem({ ...ok, sources: [] })).toBe("missing sources");
    expect(entryProblem({ ...ok, type: "MUSIC" })).toBe('unknown type "MUSIC"');
    expect(entryProblem({ ...ok, status: undefined })).toBe("unknown status undefined");
    expect(entryProblem({ ...ok, episodes: -1 })).toBe("episodes must be a whole number from 0");
    expect(entryProblem({ ...ok, episodes: 2.5 })).toBe("episodes must be a whole number from 0");
    expect(entryProblem({ ...ok, animeSeason: { season: "FALL", year: "1999" } })).toBe("animeSeason.year must be a whole number");
    expect(entryProblem({ ...ok, picture: undefined })).toBe("missing picture");
    expect(entryProblem({ ...ok, tags: ["ok", 3] })).toBe("tags must be a list of strings");
    expect(entryProblem({ ...ok, tags: ["nul\0"] })).toBe("tags must be a list of strings");
    expect(entryProblem({ ...ok, title: "lone \ud800 surrogate" })).toBe("missing title");
  });
});

describe("the shipped sample", () => {
  const REQUIRED = ["sources", "title", "type", "episodes", "status", "animeSeason", "picture", "thumbnail", "synonyms", "studios", "producers", "relatedAnime", "tags"];

  test("is a minified release that satisfies the dataset schema", async () => {
    const text = await Bun.file(SAMPLE_PATH).text();
    expect(text.trim().split("\n")).toHaveLength(1);
    const release = JSON.parse(text);
    const schema = await Bun.file(join(ROOT, "..", "shared", "dataset", "anime-offline-database-minified.schema.json")).json().catch(() => undefined);
    if (schema) {
      for (const key of schema.required) expect(release).toHaveProperty(key);
      expect(release.license.name).toBe(schema.properties.license.properties.name.const);
      expect(release.repository).toBe(schema.properties.repository.const);
    }
    expect(release.lastUpdate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(release.data.length).toBeGreaterThanOrEqual(30);
    const allSources = release.data.flatMap((item: GeneratedEntry) => item.sources);
    expect(new Set(allSources).size).toBe(allSources.length);
    for (const item of release.data) {
      for (const key of REQUIRED) expect(item).toHaveProperty(key);
      expect(entryProblem(item)).toBeUndefined();
      expect(["SPRING", "SUMMER", "FALL", "WINTER", "UNDEFINED"]).toContain(item.animeSeason.season);
      for (const url of [...item.sources, item.picture, item.thumbnail]) expect(URL.canParse(url)).toBe(true);
      for (const tag of item.tags) expect(tag).toBe(tag.toLowerCase());
    }
  });

  test("holds the contract's two examples, field for field", async () => {
    const release = JSON.parse(await Bun.file(SAMPLE_PATH).text());
    const body = (title: string) => {
      const found = release.data.find((item: GeneratedEntry) => item.title === title);
      return JSON.parse(serializeAnime(0, toAnimeRow(found)));
    };
    expect(body("Tokyo Ghoul")).toEqual({
      id: 0,
      title: "Tokyo Ghoul",
      source: "https://anidb.net/anime/10401",
      anime_type: "TV",
      num_episodes: 12,
      status: "Finished",
      year: 2014,
      picture: "https://cdn.myanimelist.net/images/anime/5/64449.jpg",
      tags: ["Action", "Crime", "Dark fantasy", "Drama", "Gore", "Horror", "Human experimentation", "Male protagonist", "Mystery", "Police", "Psychological", "Seinen", "Supernatural", "Survival", "Tragedy", "Violence"],
    });
    expect(body("Nisekoi")).toEqual({
      id: 0,
      title: "Nisekoi",
      source: "https://anidb.net/anime/9903",
      anime_type: "TV",
      num_episodes: 20,
      status: "Finished",
      year: 2014,
      picture: "https://cdn.myanimelist.net/images/anime/13/75587.jpg",
      tags: ["Comedy", "Female protagonist", "Gangs", "Harem", "Love polygon", "Love triangle", "Mafia", "Male protagonist", "Romance", "Romantic comedy", "School", "School life", "Shounen", "Slice of life"],
    });
  });
});

describe("reading release files", () => {
  let dir: string;
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "lumotist-release-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const values = async (path: string) => {
    const read: unknown[] = [];
    for await (const item of readReleaseFile(path)) read.push(item.value);
    return read;
  };

  test("every published form gives the same entries, told apart by content", async () => {
    const entries = generateEntries(120, 7);
    const forms = ["a-minified.json", "a.json", "a.jsonl", "a-minified.json.zst", "a.jsonl.zst"];
    for (const name of forms) await writeRelease(join(dir, name), entries, { pretty: name === "a.json" });
    await Bun.write(join(dir, "jsonl-named.json"), serializeRelease(entries, "jsonl")); // the name lies
    await Bun.write(join(dir, "crlf.jsonl"), "\uFEFF" + serializeRelease(entries, "jsonl").replaceAll("\n", "\r\n"));
    for (const name of [...forms, "jsonl-named.json", "crlf.jsonl"]) expect(await values(join(dir, name))).toEqual(entries);
  });

  test("entries carry their place in the file", async () => {
    const entries = generateEntries(2, 1);
    await writeRelease(join(dir, "b.jsonl"), entries);
    await writeRelease(join(dir, "b.json"), entries);
    const locations = async (path: string) => (await Array.fromAsync(readReleaseFile(path))).map((item) => item.location);
    expect(await locations(join(dir, "b.jsonl"))).toEqual(["line 2", "line 3"]);
    expect(await locations(join(dir, "b.json"))).toEqual(["data[0]", "data[1]"]);
  });

  test("a broken file is refused with where it breaks", async () => {
    const fails = async (name: string, text: string | Uint8Array) => {
      await Bun.write(join(dir, name), text);
      const error = await values(join(dir, name)).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ImportError);
      return (error as Error).message;
    };
    const lines = serializeRelease(generateEntries(5, 1), "jsonl").split("\n");
    lines[3] = lines[3]!.slice(0, -5);
    expect(await fails("broken.jsonl", lines.join("\n"))).toContain("line 4 is not valid JSON");

    const pretty = serializeRelease(generateEntries(3, 1), "json", true).replace('"episodes": ', '"episodes": ,');
    expect(await fails("broken.json", pretty)).toMatch(/not valid JSON at line \d+, column \d+ \(in data\[0\]\.episodes\)/);
    const minified = JSON.stringify({ data: [{ title: "ok" }, { title: "ok" }, { title: "no" }] }).replace('"no"}', '"no",}');
    expect(await fails("broken-minified.json", minified)).toContain("(in data[2]");

    expect(await fails("array.json", "[1, 2]")).toContain('a JSON object with a "data" array');
    expect(await fails("nodata.json", '{\n  "license": {}\n}\n')).toContain('a JSON object with a "data" array');
    expect(await fails("headerless.jsonl", `${JSON.stringify(generateEntries(1, 1)[0])}\n`)).toContain("line 1 is an anime entry");
    expect(await fails("empty.json", "\n\n")).toContain("the file is empty");
    expect(await fails("bad.zst", new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4]))).toContain("cannot read the file");
    expect(await values(join(dir, "missing.json")).catch((e: Error) => e.message)).toContain("no such file");
  });
});

describe("importing into the database", () => {
  let database: TestDatabase;
  let db: Database;
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await openDatabaseForTool(loadConfig(database.env), createLogger("silent"));
    await migrate(db.sql);
    dir = mkdtempSync(join(tmpdir(), "lumotist-import-"));
  }, 60_000); // a fresh embedded database takes seconds to initialise on a busy machine

  afterAll(async () => {
    await db?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  beforeEach(async () => {
    await db.sql`truncate anime, anime_sources, list_entries restart identity`;
  });

  /** id and body of every row, and the owner of every source URL. */
  async function snapshot() {
    const rows = await db.sql<{ id: number; body: string }[]>`select id, body from anime order by id`;
    const sources = await db.sql<{ url: string; anime_id: number }[]>`select url, anime_id from anime_sources order by url`;
    return { bodies: new Map(rows.map((row) => [row.id, row.body])), owners: new Map(sources.map((s) => [s.url, s.anime_id])) };
  }

  async function catalogueVersion(): Promise<number> {
    const [row] = await db.sql<[{ version: string }?]>`select version::text from catalogue_state`;
    if (!row) throw new Error("catalogue_state has no row");
    return Number(row.version);
  }

  const counts = (report: ImportReport) => ({
    inserted: report.inserted,
    updated: report.updated,
    unchanged: report.unchanged,
    pruned: report.pruned,
    skipped: report.skipped.length,
  });

  test("a release is imported, and re-importing it in another form changes no id", async () => {
    const entries = generateEntries(6_000, 3);
    const progress: number[] = [];
    const first = await importCatalogue(db.sql, entries, { onProgress: (n) => progress.push(n) });
    expect(counts(first)).toEqual({ inserted: 6_000, updated: 0, unchanged: 0, pruned: 0, skipped: 0 });
    expect(progress).toEqual([5_000, 6_000]);
    const before = await snapshot();
    expect(before.bodies.size).toBe(6_000);
    expect(before.owners.size).toBe(entries.reduce((n, item) => n + item.sources.length, 0));

    // The stored body is the mapping's, columns agree with it.
    const [sampleRow] = await db.sql<[{ id: number; body: string; title: string; tags: string[]; year: number | null }?]>`
      select id, body, title, tags, year from anime order by id limit 1`;
    if (!sampleRow) throw new Error("the import left the anime table empty");
    expect(sampleRow.body).toBe(serializeAnime(sampleRow.id, toAnimeRow(entries[0] as DatasetEntry)));
    expect(JSON.parse(sampleRow.body)).toMatchObject({ title: sampleRow.title, tags: sampleRow.tags, year: sampleRow.year });

    for (const name of ["again.jsonl.zst", "again.json"]) {
      await writeRelease(join(dir, name), entries);
      const again = await importCatalogue(db.sql, readReleaseFile(join(dir, name)));
      expect(counts(again)).toEqual({ inserted: 0, updated: 0, unchanged: 6_000, pruned: 0, skipped: 0 });
      expect(await snapshot()).toEqual(before);
    }
  });

  test("a changed entry keeps its id, matched through any one of its sources", async () => {
    const entries = [
      entry({ title: "Old title", sources: ["https://anidb.net/anime/1", "https://myanimelist.net/anime/1"], tags: ["b", "a"] }),
      entry({ title: "Other", sources: ["https://myanimelist.net/anime/2"] }),
    ];
    await importCatalogue(db.sql, entries);
    const before = await snapshot();
    const id = before.owners.get("https://anidb.net/anime/1")!;

    // anidb dropped, kitsu added: the entry is still recognised by its myanimelist URL.
    const changed = { ...entries[0], title: "New title", episodes: 13, sources: ["https://kitsu.app/anime/1", "https://myanimelist.net/anime/1"] };
    const report = await importCatalogue(db.sql, [changed, entries[1]]);
    expect(counts(report)).toEqual({ inserted: 0, updated: 1, unchanged: 1, pruned: 0, skipped: 0 });

    const after = await snapshot();
    expect(JSON.parse(after.bodies.get(id)!)).toMatchObject({ id, title: "New title", num_episodes: 13, source: "https://myanimelist.net/anime/1", tags: ["A", "B"] });
    expect(after.owners.get("https://kitsu.app/anime/1")).toBe(id);
    expect(after.owners.has("https://anidb.net/anime/1")).toBe(false);
    expect([...after.bodies.keys()]).toEqual([...before.bodies.keys()]);
  });

  test("when a release merges two entries, the merged one keeps the older id", async () => {
    await importCatalogue(db.sql, [
      entry({ title: "Half A", sources: ["https://anidb.net/anime/5"] }),
      entry({ title: "Half B", sources: ["https://myanimelist.net/anime/5"] }),
    ]);
    const before = await snapshot();
    const merged = entry({ title: "Whole", sources: ["https://anidb.net/anime/5", "https://myanimelist.net/anime/5"] });
    const report = await importCatalogue(db.sql, [merged]);
    expect(counts(report)).toEqual({ inserted: 0, updated: 1, unchanged: 0, pruned: 0, skipped: 0 });
    const after = await snapshot();
    const olderId = Math.min(...before.bodies.keys());
    expect(after.owners.get("https://anidb.net/anime/5")).toBe(olderId);
    expect(after.owners.get("https://myanimelist.net/anime/5")).toBe(olderId);
    expect(after.bodies.size).toBe(2); // the other row stays until a prune
  });

  test("rows missing from the release stay, unless pruning is asked for", async () => {
    const entries = generateEntries(50, 11);
    await importCatalogue(db.sql, entries);
    const kept = entries.slice(0, 30);

    const withoutPrune = await importCatalogue(db.sql, kept);
    expect(counts(withoutPrune)).toEqual({ inserted: 0, updated: 0, unchanged: 30, pruned: 0, skipped: 0 });
    expect((await snapshot()).bodies.size).toBe(50);

    const withPrune = await importCatalogue(db.sql, kept, { prune: true });
    expect(counts(withPrune)).toEqual({ inserted: 0, updated: 0, unchanged: 30, pruned: 20, skipped: 0 });
    const after = await snapshot();
    expect(after.bodies.size).toBe(30);
    expect(after.owners.size).toBe(kept.reduce((n, item) => n + item.sources.length, 0));

    const refused = await importCatalogue(db.sql, [{ title: "no sources" }], { prune: true }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(ImportError);
    expect((await snapshot()).bodies.size).toBe(30);
  });

  test("malformed entries are skipped and reported with their line or index", async () => {
    const good = generateEntries(4, 5);
    const lines = [good[0], { ...good[1], title: undefined }, good[2], { ...good[3], sources: [good[0]!.sources[0]] }];
    await writeRelease(join(dir, "skips.jsonl"), lines);
    const fromLines = await importCatalogue(db.sql, readReleaseFile(join(dir, "skips.jsonl")));
    expect(counts(fromLines)).toMatchObject({ inserted: 2, skipped: 2 });
    expect(fromLines.skipped).toEqual([
      { location: "line 3", reason: "missing title" },
      { location: "line 5", reason: `source ${good[0]!.sources[0]} is already listed by line 2` },
    ]);

    await writeRelease(join(dir, "skips.json"), [good[0], "not an entry", { ...good[2], type: "MUSIC" }]);
    const fromDocument = await importCatalogue(db.sql, readReleaseFile(join(dir, "skips.json")));
    expect(fromDocument.skipped).toEqual([
      { location: "data[1]", reason: "not a JSON object" },
      { location: "data[2]", reason: 'unknown type "MUSIC"' },
    ]);
    expect(fromDocument.read).toBe(3);
  });

  test("a broken file or a failure inside the transaction leaves the catalogue as it was", async () => {
    const entries = generateEntries(40, 9);
    await importCatalogue(db.sql, entries);
    const before = await snapshot();
    const version = await catalogueVersion();

    const broken = serializeRelease(generateEntries(60, 10), "jsonl").split("\n");
    broken[45] = "{not json";
    await Bun.write(join(dir, "broken.jsonl"), broken.join("\n"));
    const error = await importCatalogue(db.sql, readReleaseFile(join(dir, "broken.jsonl"))).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ImportError);
    expect((error as Error).message).toContain("line 46");

    // A failure half-way through the writes (the last batch) rolls everything back.
    await db.sql.unsafe(`
      create function fail_on_boom() returns trigger language plpgsql as $$
      begin if new.title = 'Boom' then raise exception 'boom'; end if; return new; end $$;
      create trigger fail_on_boom before insert on anime for each row execute function fail_on_boom();`);
    try {
      // Ten rows pruned and ten changed before the insert of "Boom" fails.
      const changed = entries.slice(0, 30).map((item, i) => (i < 10 ? { ...item, title: `${item.title} (changed)` } : item));
      const fresh = generateEntries(5, 99).map((item) => ({ ...item, sources: item.sources.map((url) => `${url}/x`) }));
      const failing = [...changed, ...fresh, entry({ title: "Boom", sources: ["https://anidb.net/anime/boom"] })];
      const failure = await importCatalogue(db.sql, failing, { prune: true }).catch((e: Error) => e);
      expect(failure).toBeInstanceOf(Error);
    } finally {
      await db.sql.unsafe("drop trigger fail_on_boom on anime; drop function fail_on_boom();");
    }
    expect(await snapshot()).toEqual(before);
    expect(await catalogueVersion()).toBe(version);
  });

  test("every import bumps the catalogue version and notifies the servers on commit", async () => {
    const version = await catalogueVersion();
    const notifications: unknown[] = [];
    const listener = database.url ? postgres(database.url, { max: 1, onnotice: () => {} }) : undefined;
    if (listener) await listener.listen(CHANGES_CHANNEL, (payload) => notifications.push(JSON.parse(payload)));

    const report = await importCatalogue(db.sql, generateEntries(3, 2));
    expect(report.version).toBe(version + 1);
    expect(await catalogueVersion()).toBe(version + 1);
    const [state] = await db.sql<[{ imported: boolean }?]>`select imported_at > now() - interval '1 minute' as imported from catalogue_state`;
    if (!state) throw new Error("catalogue_state has no row");
    expect(state.imported).toBe(true);

    if (listener) {
      for (let i = 0; i < 100 && notifications.length === 0; i++) await Bun.sleep(20);
      expect(notifications).toEqual([{ topic: "catalogue", data: { version: version + 1 }, origin: "importer" }]);
      await listener.end();
    }
  });

  test("the sample is loaded only into an empty catalogue", async () => {
    const report = await loadSampleIfEmpty(db.sql);
    expect(report).not.toBeNull();
    expect(report!.inserted).toBeGreaterThanOrEqual(30);
    expect(report!.skipped).toEqual([]);
    const [tokyoGhoul] = await db.sql<[{ body: string }?]>`select body from anime where title = 'Tokyo Ghoul'`;
    if (!tokyoGhoul) throw new Error("the sample has no 'Tokyo Ghoul' entry");
    expect(JSON.parse(tokyoGhoul.body).source).toBe("https://anidb.net/anime/10401");
    expect(await loadSampleIfEmpty(db.sql)).toBeNull();
  });

  describe("bun run import", () => {
    async function runCli(...args: string[]) {
      const env: Record<string, string | undefined> = { ...process.env, ...database.env, LOG_LEVEL: "silent" };
      if (database.mode === "embedded") delete env.DATABASE_URL;
      const child = Bun.spawn(["bun", "run", "import", ...args], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      return { stdout, stderr, exitCode };
    }

    test("imports a file, prints the report, re-imports without changing ids, prunes", async () => {
      const entries = generateEntries(300, 21);
      const file = join(dir, "cli.jsonl.zst");
      await writeRelease(file, entries);

      const first = await runCli(file);
      expect(first.exitCode).toBe(0);
      expect(first.stdout).toMatch(/inserted\s+300\b/);
      expect(first.stderr).toContain("read 300 entries");
      const before = await snapshot();
      expect(before.bodies.size).toBe(300);

      const again = await runCli(file);
      expect(again.exitCode).toBe(0);
      expect(again.stdout).toMatch(/unchanged\s+300\b/);
      expect(await snapshot()).toEqual(before);

      const smaller = join(dir, "cli-smaller.json");
      await writeRelease(smaller, entries.slice(0, 200));
      const pruned = await runCli(smaller, "--prune");
      expect(pruned.exitCode).toBe(0);
      expect(pruned.stdout).toMatch(/pruned\s+100\b/);
      expect((await snapshot()).bodies.size).toBe(200);
    });

    test("fails with a clear message and a non-zero exit code", async () => {
      await importCatalogue(db.sql, generateEntries(10, 4));
      const before = await snapshot();
      const broken = join(dir, "cli-broken.jsonl");
      await Bun.write(broken, serializeRelease(generateEntries(10, 4), "jsonl").replace(/\n[^\n]*\n$/, "\n{oops\n"));

      const failed = await runCli(broken, "--prune");
      expect(failed.exitCode).toBe(1);
      expect(failed.stderr).toContain("import failed:");
      expect(failed.stderr).toContain("line 11 is not valid JSON");
      expect(await snapshot()).toEqual(before);

      const usage = await runCli();
      expect(usage.exitCode).toBe(2);
      expect(usage.stderr).toContain("usage: bun run import");
      expect((await runCli(broken, "--purge")).exitCode).toBe(2);
    });
  });
});
