// SQL the catalogue's read side needs: the id index, bodies, the filter index's columns, the search
// index's documents, details, lookups by source, the catalogue's version.
import type { Sql } from "postgres";
import { ANIME_STATUSES, ANIME_TYPES, SEASONS, foldName } from "../shared/anime-filters.ts";
import type { IndexColumns } from "./filter-index.ts";

/** Every id, as one int4[] so that 400,000 ids arrive as one row, not 400,000 objects. */
export async function findAllAnimeIds(sql: Sql): Promise<Int32Array> {
  const [row] = await sql<{ ids: number[] | null }[]>`select array_agg(id order by id) as ids from anime`;
  return Int32Array.from(row?.ids ?? []);
}

export async function findAnimeBodyById(sql: Sql, id: number): Promise<string | undefined> {
  const [row] = await sql<{ body: string }[]>`select body from anime where id = ${id}`;
  return row?.body;
}

/** The next `limit` entries after id `after`, in id order (keyset pagination: each query is short). */
export async function findAnimeBodiesAfter(sql: Sql, after: number, limit: number): Promise<{ id: number; body: string }[]> {
  return sql<{ id: number; body: string }[]>`select id, body from anime where id > ${after} order by id limit ${limit}`;
}

export async function findCatalogueVersion(sql: Sql): Promise<number> {
  const [row] = await sql<{ version: string }[]>`select version from catalogue_state`;
  return Number(row?.version ?? 0);
}

interface IndexColumnsRow {
  ids: number[] | null;
  types: number[] | null;
  statuses: number[] | null;
  seasons: number[] | null;
  years: number[] | null;
  episodes: number[] | null;
  scores: number[] | null;
  title_ranks: number[] | null;
  tags: string;
  studios: string;
}

/**
 * Everything the filter index needs, in one statement (one snapshot, one round trip): a column per
 * field aggregated in id order, and the tag and studio names with the positions (ranks in id order)
 * of the entries that carry them. Titles are ranked here, by code point (COLLATE "C").
 */
export async function findIndexColumns(sql: Sql): Promise<IndexColumns> {
  const [row] = await sql<IndexColumnsRow[]>`
    with a as materialized (
      select id, (row_number() over (order by id) - 1)::int as pos, anime_type, status, season, year,
             num_episodes, score, tags, studios, (dense_rank() over (order by title collate "C"))::int as title_rank
      from anime
    )
    select
      array_agg(id order by id) as ids,
      array_agg(coalesce(array_position(${sql.array([...ANIME_TYPES])}::text[], anime_type), 1) - 1 order by id) as types,
      array_agg(coalesce(array_position(${sql.array([...ANIME_STATUSES])}::text[], status), 1) - 1 order by id) as statuses,
      array_agg(coalesce(array_position(${sql.array([...SEASONS])}::text[], season), 0) order by id) as seasons,
      array_agg(coalesce(year, -1) order by id) as years,
      array_agg(num_episodes order by id) as episodes,
      array_agg(coalesce(round(score * 100)::int, -1) order by id) as scores,
      array_agg(title_rank order by id) as title_ranks,
      (select coalesce(json_agg(json_build_array(name, positions)), '[]')::text from (
        select t.name, array_agg(a.pos order by a.pos) as positions from a, unnest(a.tags) as t(name) group by t.name) x) as tags,
      (select coalesce(json_agg(json_build_array(name, positions)), '[]')::text from (
        select t.name, array_agg(a.pos order by a.pos) as positions from a, unnest(a.studios) as t(name) group by t.name) x) as studios
    from a`;
  return {
    ids: Int32Array.from(row?.ids ?? []),
    types: Uint8Array.from(row?.types ?? []),
    statuses: Uint8Array.from(row?.statuses ?? []),
    seasons: Uint8Array.from(row?.seasons ?? []),
    years: Int32Array.from(row?.years ?? []),
    episodes: Int32Array.from(row?.episodes ?? []),
    scores: Int32Array.from(row?.scores ?? []),
    titleRanks: Int32Array.from(row?.title_ranks ?? []),
    tags: positionLists(row?.tags ?? "[]"),
    studios: positionLists(row?.studios ?? "[]"),
  };
}

/** Names folded as filters fold them; names that fold alike share one list. */
function positionLists(json: string): Map<string, Int32Array> {
  const lists = new Map<string, Int32Array>();
  for (const [name, positions] of JSON.parse(json) as [string, number[]][]) {
    const folded = foldName(name);
    const earlier = lists.get(folded);
    lists.set(folded, earlier ? mergedPositions(earlier, positions) : Int32Array.from(positions));
  }
  return lists;
}

function mergedPositions(a: Int32Array, b: number[]): Int32Array {
  const merged = Int32Array.from(new Set([...a, ...b])).sort();
  return merged;
}

/**
 * Titles and synonyms after id `after`, in id order, `limit` at a time (for the search index), as one
 * JSON text of [id, title, synonyms] triples: a string per batch instead of an object per entry, so
 * the documents can be parsed batch by batch while the index is built. `last` is the batch's last id.
 */
export async function findSearchDocumentsAfter(sql: Sql, after: number, limit: number): Promise<{ json: string; count: number; last: number }> {
  const [row] = await sql<[{ json: string | null; count: number; last: number | null }?]>`
    select json_agg(json_build_array(id, title, synonyms) order by id)::text as json, count(*)::int as count, max(id) as last
    from (select id, title, synonyms from anime where id > ${after} order by id limit ${limit}) batch`;
  return { json: row?.json ?? "[]", count: row?.count ?? 0, last: row?.last ?? after };
}

export async function findAnimeBodiesByIds(sql: Sql, ids: number[]): Promise<Map<number, string>> {
  const rows = await sql<{ id: number; body: string }[]>`select id, body from anime where id = any(${sql.array(ids)}::int[])`;
  return new Map(rows.map((row) => [row.id, row.body]));
}

/**
 * These entries' details answers (unknown ids are left out) as UTF-8 JSON: the anime object (the
 * Part 1 body) with the rest of the details after its fields, keys in the contract's order: season,
 * synonyms, sources (sorted by code point), thumbnail, duration_seconds, score, studios, producers,
 * related ([{id, title, anime_type, year}] sorted by id). Related entries are resolved through any
 * of their source URLs (an index scan of anime_sources' primary key per related URL, then one of
 * anime's). PostgreSQL writes the JSON (row_to_json is compact, as JSON.stringify is) and it is read
 * raw, as bytes: the server parses no array, builds no object and decodes no text (a miss made four
 * strings of ~1 KB before: the body, the details, their join and its UTF-8 copy).
 */
export async function findAnimeDetails(sql: Sql, ids: number[]): Promise<Map<number, Uint8Array>> {
  const rows = await sql`
    select a.id, left(a.body, -1) || ',' || substr(row_to_json(d)::text, 2) as answer
    from anime a, lateral (
      select a.season, a.synonyms,
             array(select s.url from anime_sources s where s.anime_id = a.id order by s.url collate "C") as sources,
             a.thumbnail, a.duration_seconds, a.score, a.studios, a.producers,
             array(
               select row_to_json(r) from (
                 select r.id, r.title, r.anime_type, r.year from anime r
                 where r.id <> a.id and r.id in (select s.anime_id from anime_sources s where s.url = any(a.related_urls))
                 order by r.id
               ) r
             ) as related
    ) d
    where a.id = any(${sql.array(ids)}::int[])`.raw();
  return new Map(rows.map(([id, answer]) => [Number(id!.toString("latin1")), answer!]));
}

/** The entry listing any of these source URLs (the lowest id if several do). */
export async function findAnimeIdBySource(sql: Sql, urls: string[]): Promise<number | undefined> {
  const [row] = await sql<[{ anime_id: number }?]>`
    select anime_id from anime_sources where url = any(${sql.array(urls)}::text[]) order by anime_id limit 1`;
  return row?.anime_id;
}
