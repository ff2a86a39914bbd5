// Helpers for the list suites: a small catalogue whose every anime has a myanimelist.net source, and
// calls to the list routes.
import { importCatalogue } from "../../src/anime/import/importer.ts";
import { type Answer, call } from "../account-support.ts";
import { datasetEntry } from "./anime.ts";
import type { TestServer } from "./server.ts";

export interface FixtureAnime {
  id: number;
  malId: number;
  title: string;
  type: string;
  episodes: number;
  status: string;
  year: number | undefined;
  tags: string[];
}

const TYPES = ["TV", "MOVIE", "OVA", "ONA", "SPECIAL"];
const STATUSES = ["FINISHED", "ONGOING", "UPCOMING"];
const TAGS = ["action", "drama", "comedy", "Romance", "sci-fi"];

/** `count` anime: MAL ids 1000+i, titles with mixed case (code point order matters), varied fields. */
export function fixtureEntries(count: number) {
  return Array.from({ length: count }, (_, i) => {
    const title = `${i % 2 ? "a" : "B"}-Fixture ${String(i).padStart(3, "0")}`;
    return datasetEntry({
      title,
      sources: [`https://myanimelist.net/anime/${1000 + i}`, `https://anidb.net/anime/${5000 + i}`],
      type: TYPES[i % TYPES.length]!,
      episodes: i % 7 === 6 ? 0 : 12 + (i % 3),
      status: STATUSES[i % STATUSES.length]!,
      animeSeason: i % 5 === 4 ? { season: "UNDEFINED" } : { season: "SPRING", year: 2000 + (i % 10) },
      tags: [TAGS[i % TAGS.length]!, TAGS[(i + 2) % TAGS.length]!],
    });
  });
}

/** Loads the fixture catalogue into the server's database; the anime as the API serves them, by MAL id. */
export async function loadFixtureCatalogue(server: TestServer, count = 40): Promise<FixtureAnime[]> {
  const entries = fixtureEntries(count);
  await importCatalogue(server.running.db.sql, entries);
  await server.running.services.catalogue.load();
  const rows = await server.running.db.sql<{ url: string; anime_id: number }[]>`
    select url, anime_id from anime_sources where url like 'https://myanimelist.net/anime/%'`;
  const ids = new Map(rows.map((row) => [row.url, row.anime_id]));
  return entries.map((entry, i) => ({
    id: ids.get(entry.sources[0]!)!,
    malId: 1000 + i,
    title: entry.title,
    type: entry.type,
    episodes: entry.episodes,
    status: entry.status,
    year: entry.animeSeason.year,
    tags: entry.tags,
  }));
}

type Init = RequestInit & { token?: string; json?: unknown };

export const putEntry = (server: TestServer, token: string, animeId: number | string, json: unknown): Promise<Answer> =>
  call(server, `/list/${animeId}`, { method: "PUT", token, json });
export const patchEntry = (server: TestServer, token: string, animeId: number | string, json: unknown): Promise<Answer> =>
  call(server, `/list/${animeId}`, { method: "PATCH", token, json });
export const getList = (server: TestServer, token: string, query = "", init: Init = {}): Promise<Answer> =>
  call(server, `/list${query}`, { ...init, token });
