// A running server picks up catalogue imports made by another process, without a restart:
// `bun run import` is run as a separate process against the server's database (PostgreSQL: the
// importer NOTIFYs the servers; embedded: it goes through the running server's socket, and the server
// polls catalogue_state.version every CATALOGUE_POLL). New entries are served and drawn by
// /anime/random, changed entries replace their cached bodies, pruned ones are gone.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Sql } from "postgres";
import { Catalogue, TOPIC_CATALOGUE_IMPORTED } from "../src/anime/catalogue.ts";
import type { ChangeFeed } from "../src/db/changes.ts";
import { createLogger } from "../src/log.ts";
import { type Anime, datasetEntry, eventually, getJson, idsBySource, runImportCli, writeReleaseFile } from "./support/anime.ts";
import { type TestServer, startTestServer } from "./support/server.ts";

/** How long a running server may take to notice an import (the poll interval is 1 s). */
const REFRESH_WITHIN_MS = 8_000;

const entry = (key: string, n: number, title = `Refresh ${key}`) =>
  datasetEntry({
    title,
    sources: [`https://anidb.net/anime/${n}`, `https://myanimelist.net/anime/${n}`],
    animeSeason: { season: "SPRING", year: 2000 + (n % 20) },
    tags: ["action", key.toLowerCase()],
  });

const FIRST = ["A1", "A2", "A3", "A4", "A5"].map((key, i) => entry(key, 9001 + i));
const ADDED = ["B1", "B2", "B3", "B4", "B5"].map((key, i) => entry(key, 9101 + i));
const RETITLED = entry("A1", 9001, "Refresh A1: the new title");
const SECOND = [RETITLED, ...FIRST.slice(1), ...ADDED];
/** A4, A5 and B5 left out, imported with --prune. */
const PRUNED = [FIRST[3]!, FIRST[4]!, ADDED[4]!];
const THIRD = SECOND.filter((e) => !PRUNED.includes(e));

let server: TestServer;
let workDir: string;
const idOf = new Map<string, number>(); // first source URL -> id

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "lumotist-anime-refresh-"));
  server = await startTestServer({ LOAD_SAMPLE: "off" });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(workDir, { recursive: true, force: true });
}, 30_000);

async function importRelease(name: string, entries: unknown[], ...args: string[]) {
  const file = await writeReleaseFile(join(workDir, name), entries);
  const run = await runImportCli(server.database, file, ...args);
  for (const [url, id] of await idsBySource(server)) idOf.set(url, id);
  return run.stdout;
}

const id = (e: { sources: string[] }) => idOf.get(e.sources[0]!)!;

async function entryTitle(anime: { sources: string[] }): Promise<string | number> {
  const { status, json } = await getJson<Anime>(server, `/anime/entry/${id(anime)}`);
  return status === 200 ? json.title : status;
}

/** Draws from /anime/random until every wanted id has come up; fails at once on an id outside `allowed`. */
async function untilRandomCovers(wanted: number[], allowed: number[]): Promise<void> {
  const missing = new Set(wanted);
  const deadline = performance.now() + REFRESH_WITHIN_MS;
  while (missing.size) {
    if (performance.now() > deadline) {
      throw new Error(`/anime/random did not return ${[...missing].join(", ")} within ${REFRESH_WITHIN_MS} ms`);
    }
    const { status, json } = await getJson<Anime>(server, "/anime/random");
    if (status === 200) {
      expect(allowed).toContain(json.id);
      missing.delete(json.id);
    } else {
      expect({ status, json: json as unknown }).toEqual({ status: 404, json: { detail: "Not found." } });
      await Bun.sleep(20);
    }
  }
}

test("an empty catalogue: /anime/random and every id answer 404 Not found", async () => {
  for (const path of ["/anime/random", "/anime/random?format=json", "/anime/entry/1", "/anime/entry/1?format=json"]) {
    const { status, json } = await getJson(server, path);
    expect({ path, status, json }).toEqual({ path, status: 404, json: { detail: "Not found." } });
  }
}, 30_000);

test("a release imported by another process is served without a restart", async () => {
  expect((await getJson(server, "/anime/random")).status).toBe(404);

  const report = await importRelease("first.json", FIRST);
  expect(report).toMatch(/inserted\s+5\b/);
  const ids = FIRST.map(id);
  expect(ids.every((n) => Number.isInteger(n))).toBe(true);

  for (const anime of FIRST) {
    expect(await eventually(`entry ${id(anime)} is served`, async () => (await entryTitle(anime)) === anime.title, REFRESH_WITHIN_MS)).toBe(true);
  }
  await untilRandomCovers(ids, ids);
}, 30_000);

test("a re-import adds entries, keeps ids, and replaces the cached body of a changed entry", async () => {
  const before = FIRST.map(id);
  // Cache A1's body (and the others') in the server before the import changes A1.
  for (const anime of FIRST) expect(await entryTitle(anime)).toBe(anime.title);
  expect(await entryTitle(FIRST[0]!)).toBe("Refresh A1");

  const report = await importRelease("second.json", SECOND);
  expect(report).toMatch(/inserted\s+5\b/);
  expect(report).toMatch(/updated\s+1\b/);
  expect(FIRST.map(id)).toEqual(before);

  await eventually("the server serves A1's new title", async () => (await entryTitle(RETITLED)) === RETITLED.title, REFRESH_WITHIN_MS);
  for (const anime of SECOND) expect(await entryTitle(anime)).toBe(anime.title);
  const { json } = await getJson<Anime>(server, `/anime/entry/${id(RETITLED)}`);
  expect(json).toMatchObject({ id: id(RETITLED), title: RETITLED.title, source: "https://anidb.net/anime/9001" });

  const all = SECOND.map(id);
  await untilRandomCovers(ADDED.map(id), all);
  await untilRandomCovers(all, all);
}, 30_000);

test("--prune removes the entries missing from the release: their ids 404 and /anime/random skips them", async () => {
  const prunedIds = PRUNED.map(id);
  // Cache the doomed entries' bodies first: the server must drop them.
  for (const anime of PRUNED) expect(await entryTitle(anime)).toBe(anime.title);

  const report = await importRelease("third.json", THIRD, "--prune");
  expect(report).toMatch(/pruned\s+3\b/);

  for (const pruned of prunedIds) {
    await eventually(
      `entry ${pruned} answers 404`,
      async () => {
        const { status, json } = await getJson(server, `/anime/entry/${pruned}`);
        return status === 404 && JSON.stringify(json) === JSON.stringify({ detail: "Not found." });
      },
      REFRESH_WITHIN_MS,
    );
  }
  const kept = THIRD.map(id);
  for (const anime of THIRD) expect(await entryTitle(anime)).toBe(anime.title);

  // After the refresh, /anime/random draws only from what is left, and from all of it.
  const seen = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const { status, json } = await getJson<Anime>(server, "/anime/random");
    expect(status).toBe(200);
    expect(prunedIds).not.toContain(json.id);
    seen.set(json.id, (seen.get(json.id) ?? 0) + 1);
  }
  expect([...seen.keys()].sort((a, b) => a - b)).toEqual([...kept].sort((a, b) => a - b));
}, 30_000);

// The server's Catalogue directly, on a stand-in for the database whose answers the test releases
// one by one: the interleavings the HTTP tests above can only hit by chance.
describe("Catalogue refresh interleavings", () => {
  interface Table {
    version: number;
    rows: Map<number, string>;
  }

  /** Answers the catalogue's three queries from `state.table` as it was when the query was sent, once released. */
  function fakeDatabase(state: { table: Table }) {
    const pending: (() => void)[] = [];
    const sql = ((strings: TemplateStringsArray, ...values: unknown[]) => {
      const text = strings.join("$");
      const snapshot = state.table;
      let rows: unknown[];
      if (text.includes("from catalogue_state")) rows = [{ version: String(snapshot.version) }];
      else if (text.includes("array_agg")) rows = [{ ids: [...snapshot.rows.keys()].sort((a, b) => a - b) }];
      else if (text.includes("row_to_json(d)")) {
        // Read raw: each row as its columns' bytes (id, the answer's JSON).
        const ids = (values[0] as number[]).filter((id) => snapshot.rows.has(id));
        const answer = (id: number) => `${snapshot.rows.get(id)!.slice(0, -1)},"details":${snapshot.version}}`;
        const raw = ids.map((id) => [Buffer.from(String(id)), Buffer.from(answer(id))]);
        return { raw: () => new Promise((resolve) => pending.push(() => resolve(raw))) };
      } else if (text.includes("select body from anime")) rows = snapshot.rows.has(values[0] as number) ? [{ body: snapshot.rows.get(values[0] as number) }] : [];
      else if (text.includes("title, synonyms")) rows = [{ json: "[]", count: 0, last: null }]; // the search index's documents
      else throw new Error(`unexpected query: ${text}`);
      return new Promise((resolve) => pending.push(() => resolve(rows)));
    }) as unknown as Sql;
    Object.assign(sql, { array: (values: unknown[]) => values });
    return {
      sql,
      /** Answers every query sent so far, and the ones they lead to, until none is left. */
      async settle() {
        while (pending.length) {
          pending.shift()!();
          await Bun.sleep(0);
        }
      },
      /** Answers the oldest query sent so far, or the `index`th. */
      async answerOne(index = 0) {
        const [answer] = pending.splice(index, 1);
        if (!answer) throw new Error(`no query #${index} is waiting (${pending.length} are)`);
        answer();
        await Bun.sleep(0);
      },
      get waiting() {
        return pending.length;
      },
    };
  }

  /** What the catalogue uses of a change feed; `notify` is a notification arriving. */
  function fakeChangeFeed() {
    const handlers = new Map<string, ((data: unknown) => void)[]>();
    const feed = {
      trusted: true,
      on: (topic: string, _check: unknown, handler: (data: unknown) => void) => handlers.set(topic, [...(handlers.get(topic) ?? []), handler]),
      onResync: () => {},
    };
    return { feed: feed as unknown as ChangeFeed, notify: (topic: string, data: unknown) => handlers.get(topic)?.forEach((h) => h(data)) };
  }

  const table = (version: number, ids: number[]): Table => ({ version, rows: new Map(ids.map((id) => [id, `{"id":${id},"v":${version}}`])) });

  /** A catalogue loaded from a fake table of entries 1 and 2 (version 1), with its fake database and feed. */
  async function loadedCatalogue() {
    const state = { table: table(1, [1, 2]) };
    const db = fakeDatabase(state);
    const changes = fakeChangeFeed();
    const catalogue = new Catalogue(db.sql, changes.feed, { animeCacheMB: 1, detailsCacheMB: 1, cataloguePollMs: 1_000 }, createLogger("silent"));
    const loading = catalogue.load();
    await db.settle();
    await loading;
    return { state, db, changes, catalogue };
  }

  test("an import announced while a reload is reading the table is not lost", async () => {
    const { state, db, changes, catalogue } = await loadedCatalogue();
    expect(catalogue.size).toBe(2);

    // A reload starts (an earlier import's notification, a resync…) and reads the version…
    const first = catalogue.reload();
    await db.answerOne();
    // …the id query is on its way when the next import commits and announces itself.
    expect(db.waiting).toBe(1);
    state.table = table(2, [1, 2, 3]);
    changes.notify(TOPIC_CATALOGUE_IMPORTED, { version: 2 });
    await db.settle();
    await first;
    await db.settle();
    expect(catalogue.size).toBe(3);
    const body = catalogue.entryBody(3);
    await db.settle();
    expect(await body).toBe('{"id":3,"v":2}');
  });

  test("a body read before an import but answered after the reload is not cached", async () => {
    const { state, db, changes, catalogue } = await loadedCatalogue();

    // A request reads entry 1 (the pool's connection for it is slow to answer)…
    const stale = catalogue.entryBody(1);
    await Bun.sleep(0);
    // …an import changes entry 1 and the server reloads on another connection, before that answer.
    state.table = table(2, [1, 2]);
    changes.notify(TOPIC_CATALOGUE_IMPORTED, { version: 2 });
    await Bun.sleep(0);
    while (db.waiting > 1) await db.answerOne(1);
    await db.settle();
    expect(await stale).toBe('{"id":1,"v":1}'); // answered from before the import: fine once
    // The next read must not be served that body from the cache.
    const fresh = catalogue.entryBody(1);
    await db.settle();
    expect(await fresh).toBe('{"id":1,"v":2}');
  });

  test("a details answer read before an import but answered after the reload is not cached", async () => {
    const { state, db, changes, catalogue } = await loadedCatalogue();
    const text = async (answer: ReturnType<Catalogue["detailsOf"]>) => new TextDecoder().decode((await answer)?.body);
    const untilSent = async () => {
      while (db.waiting === 0) await Bun.sleep(1); // misses are sent in batches, a turn of the event loop later
    };

    // A details request reads entry 1 (its connection is slow to answer)…
    const stale = catalogue.detailsOf(1);
    await untilSent();
    // …an import changes entry 1 and the server reloads before that answer arrives.
    state.table = table(2, [1, 2]);
    changes.notify(TOPIC_CATALOGUE_IMPORTED, { version: 2 });
    await Bun.sleep(0);
    while (db.waiting > 1) await db.answerOne(1);
    await db.settle();
    expect(await text(stale)).toBe('{"id":1,"v":1,"details":1}'); // answered from before the import: fine once
    const fresh = catalogue.detailsOf(1);
    expect(fresh).toBeInstanceOf(Promise); // not from the cache
    await untilSent();
    await db.settle();
    expect(await text(fresh)).toBe('{"id":1,"v":2,"details":2}');
    // Read after the reload, it is kept: the next request is answered from memory.
    const cached = catalogue.detailsOf(1);
    expect(cached).not.toBeInstanceOf(Promise);
    expect(await text(cached)).toBe('{"id":1,"v":2,"details":2}');
  });
});
