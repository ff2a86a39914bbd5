// Helpers for the anime suites: dataset entries in the release format, running `bun run import` as a
// separate process against a test server's database, and reading the API's anime objects.
import { resolve } from "node:path";
import type { TestDatabase } from "./db.ts";
import type { TestServer } from "./server.ts";

export const ROOT = resolve(import.meta.dir, "..", "..");

/** The anime object's keys, in the contract's order. */
export const ANIME_KEYS = ["id", "title", "source", "anime_type", "num_episodes", "status", "year", "picture", "tags"];

export interface Anime {
  id: number;
  title: string;
  source: string;
  anime_type: string;
  num_episodes: number;
  status: string;
  year: number | null;
  picture: string;
  tags: string[];
}

export interface DatasetEntryFixture {
  sources: string[];
  title: string;
  type: string;
  episodes: number;
  status: string;
  animeSeason: { season: string; year?: number };
  picture: string;
  thumbnail: string;
  synonyms: string[];
  studios: string[];
  producers: string[];
  relatedAnime: string[];
  tags: string[];
  [other: string]: unknown;
}

/** A complete dataset entry (every field the release schema requires); `fields` override. */
export function datasetEntry(fields: Partial<DatasetEntryFixture> & { title: string; sources: string[] }): DatasetEntryFixture {
  const slug = fields.title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return {
    type: "TV",
    episodes: 12,
    status: "FINISHED",
    animeSeason: { season: "SPRING", year: 2001 },
    picture: `https://cdn.myanimelist.net/images/anime/1/${slug}.jpg`,
    thumbnail: `https://cdn.myanimelist.net/images/anime/1/${slug}t.jpg`,
    synonyms: [],
    studios: [],
    producers: [],
    relatedAnime: [],
    tags: [],
    ...fields,
  };
}

/** Writes a release document (an object whose `data` array holds the entries), as the dataset ships it. */
export async function writeReleaseFile(path: string, entries: unknown[]): Promise<string> {
  const document = {
    $schema: "https://raw.githubusercontent.com/manami-project/anime-offline-database/master/schemas/anime-offline-database-minified.schema.json",
    license: {
      name: "Open Data Commons Open Database License (ODbL) v1.0 + Database Contents License (DbCL) v1.0",
      url: "https://github.com/manami-project/anime-offline-database/blob/master/LICENSE",
    },
    repository: "https://github.com/manami-project/anime-offline-database",
    scoreRange: { minInclusive: 1.0, maxInclusive: 10.0 },
    lastUpdate: "2025-01-04",
    data: entries,
  };
  await Bun.write(path, JSON.stringify(document));
  return path;
}

export interface ImportRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * `bun run import <file> [args]` in a separate process, pointed at the test database the way an
 * operator would: DATABASE_URL, or the same DATA_DIR (it then goes through the running server's socket).
 */
export async function runImportCli(database: TestDatabase, file: string, ...args: string[]): Promise<ImportRun> {
  const env: Record<string, string | undefined> = { ...process.env, ...database.env };
  if (database.mode === "embedded") delete env.DATABASE_URL;
  const child = Bun.spawn(["bun", "run", "import", file, ...args], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (exitCode !== 0) throw new Error(`bun run import ${file} ${args.join(" ")} exited with ${exitCode}:\n${stdout}\n${stderr}`);
  return { exitCode, stdout, stderr };
}

/** Every source URL in the catalogue and its anime's id (read from the database the server uses). */
export async function idsBySource(server: TestServer): Promise<Map<string, number>> {
  const rows = await server.running.db.sql<{ url: string; anime_id: number }[]>`select url, anime_id from anime_sources`;
  return new Map(rows.map((row) => [row.url, row.anime_id]));
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 8_000, everyMs = 50): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`);
    }
    await Bun.sleep(everyMs);
  }
}

/** GET a path; the status, the raw body, and the parsed JSON. Fails on any 5xx. */
export async function getJson<T = unknown>(server: TestServer, path: string, init?: RequestInit): Promise<{ status: number; text: string; json: T; response: Response }> {
  const response = await server.request(path, init);
  const text = await response.text();
  if (response.status >= 500) throw new Error(`GET ${path} answered ${response.status}: ${text}`);
  return { status: response.status, text, json: JSON.parse(text) as T, response };
}

/** `count` draws from /anime/random, `concurrency` at a time; every draw must be a 200 anime object. */
export async function drawRandom(server: TestServer, count: number, concurrency = 16): Promise<Anime[]> {
  const drawn: Anime[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const { status, json, text } = await getJson<Anime>(server, "/anime/random");
      if (status !== 200) throw new Error(`/anime/random answered ${status}: ${text}`);
      drawn.push(json);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return drawn;
}
