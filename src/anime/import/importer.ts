// Imports an anime-offline-database release into the catalogue.
//
// The release is read, validated and mapped before the database is touched; then one transaction,
// under an advisory lock so imports never interleave, reads the current ids and bodies, writes only
// what changed in batches, bumps catalogue_state.version and notifies the servers (NOTIFY is delivered
// on commit). Any failure rolls the whole import back.
//
// Skipped, and reported with where they are: entries that are not objects or lack a field the API
// needs (see entryProblem), and entries sharing a source URL with an earlier entry of the file.
// Fatal: an unreadable or syntactically broken file, a line that is not JSON, a document that is not
// a release, and --prune with no importable entry (it would empty the catalogue).
import { join } from "node:path";
import type { Sql, TransactionSql } from "postgres";
import { notifyWithin } from "../../db/changes.ts";
import { TOPIC_CATALOGUE_IMPORTED } from "../catalogue.ts";
import { type AnimeRow, type DatasetEntry, entryProblem, toAnimeRow } from "../catalogue-data.ts";
import { ImportError } from "./errors.ts";
import {
  type CataloguePlan,
  type CurrentCatalogue,
  matchExistingIds,
  planChanges,
  type SourceAssignment,
  type StoredEntry,
} from "./plan.ts";
import { ReleaseEntry, readReleaseFile } from "./release-file.ts";
import { CATALOGUE_IMPORT_LOCK } from "../../shared/catalogue-import-lock.ts";

export { ImportError } from "./errors.ts";
export { ReleaseEntry, readReleaseFile } from "./release-file.ts";

export const SAMPLE_PATH = join(import.meta.dir, "..", "sample", "anime-offline-database-sample.json");

export interface SkippedEntry {
  /** `line 12` (JSON lines), `data[10]` (JSON document) or `entry 10` (index in a plain iterable). */
  location: string;
  reason: string;
}

export interface ImportReport {
  /** Entries read from the release, skipped ones included. */
  read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  pruned: number;
  /** Rows a prune kept because the anime is on someone's list. */
  keptListed: number;
  skipped: SkippedEntry[];
  /** catalogue_state.version after the import. */
  version: number;
}

export interface ImportOptions {
  /** Delete the rows whose entry is not in the release. */
  prune?: boolean;
  /** Called with the number of entries read so far, every PROGRESS_INTERVAL entries and at the end. */
  onProgress?: (entriesRead: number) => void;
}

export const PROGRESS_INTERVAL = 5_000;
const BATCH_SIZE = 5_000;

/**
 * Entries are raw dataset entries, or the ReleaseEntry items readReleaseFile yields (which carry
 * their place in the file for the report).
 */
export async function importCatalogue(
  sql: Sql,
  entries: AsyncIterable<unknown> | Iterable<unknown>,
  options: ImportOptions = {},
): Promise<ImportReport> {
  return (await runImport(sql, entries, { ...options, onlyIfEmpty: false }))!;
}

/** Imports the shipped sample when the catalogue is empty; null when it was not. */
export async function loadSampleIfEmpty(sql: Sql): Promise<ImportReport | null> {
  if (await hasAnime(sql)) return null;
  return runImport(sql, readReleaseFile(SAMPLE_PATH), { onlyIfEmpty: true });
}

async function runImport(
  sql: Sql,
  entries: AsyncIterable<unknown> | Iterable<unknown>,
  options: ImportOptions & { onlyIfEmpty: boolean },
): Promise<ImportReport | null> {
  const { rows, skipped, read } = await prepareEntries(entries, options.onProgress);
  if (options.prune && rows.length === 0) {
    throw new ImportError("refusing to prune with a release that holds no importable entry: it would empty the catalogue");
  }
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${CATALOGUE_IMPORT_LOCK})`;
    if (options.onlyIfEmpty && (await hasAnime(tx))) return null;

    const current = await readCurrentCatalogue(tx);
    if (options.prune) current.listedIds = await readListedIds(tx);
    const ids = await assignIds(tx, rows, current);
    const plan = planChanges(rows, ids, current, options.prune ?? false);
    await applyPlan(tx, plan);
    const version = await bumpCatalogueVersion(tx);
    return { read, ...plan.counts, skipped, version };
  }) as Promise<ImportReport | null>;
}

interface PreparedRelease {
  /** The importable entries, mapped. */
  rows: AnimeRow[];
  skipped: SkippedEntry[];
  read: number;
}

async function prepareEntries(
  entries: AsyncIterable<unknown> | Iterable<unknown>,
  onProgress?: (entriesRead: number) => void,
): Promise<PreparedRelease> {
  const rows: AnimeRow[] = [];
  const skipped: SkippedEntry[] = [];
  const sourceListedBy = new Map<string, string>();
  let read = 0;

  for await (const item of entries) {
    const { location, value } = item instanceof ReleaseEntry ? item : new ReleaseEntry(`entry ${read}`, item);
    if (++read % PROGRESS_INTERVAL === 0) onProgress?.(read);

    const problem = entryProblem(value);
    if (problem) {
      skipped.push({ location, reason: problem });
      continue;
    }
    const row = toAnimeRow(value as DatasetEntry);
    const shared = row.sources.find((url) => sourceListedBy.has(url));
    if (shared) {
      skipped.push({ location, reason: `source ${shared} is already listed by ${sourceListedBy.get(shared)}` });
      continue;
    }
    for (const url of row.sources) sourceListedBy.set(url, location);
    rows.push(row);
  }
  if (read % PROGRESS_INTERVAL !== 0) onProgress?.(read);
  return { rows, skipped, read };
}

async function hasAnime(sql: Sql | TransactionSql): Promise<boolean> {
  const [row] = await sql<[{ found: boolean }]>`select exists (select 1 from anime) as found`;
  return row.found;
}

async function readCurrentCatalogue(tx: TransactionSql): Promise<CurrentCatalogue> {
  const bodies = new Map<number, string>();
  const details = new Map<number, string | null>();
  const sourceOwners = new Map<string, number>();
  for (const row of await tx<{ id: number; body: string; details: string | null }[]>`select id, body, details from anime`) {
    bodies.set(row.id, row.body);
    details.set(row.id, row.details);
  }
  for (const { url, anime_id } of await tx<{ url: string; anime_id: number }[]>`select url, anime_id from anime_sources`) {
    sourceOwners.set(url, anime_id);
  }
  return { bodies, details, sourceOwners };
}

/** The anime on someone's list: a prune must not take an entry off anyone's list. */
async function readListedIds(tx: TransactionSql): Promise<Set<number>> {
  const rows = await tx<{ id: number }[]>`select id from anime a where exists (select 1 from list_entries l where l.anime_id = a.id)`;
  return new Set(rows.map((row) => row.id));
}

/** Matched entries keep their row's id; new ones draw from the table's identity sequence. */
async function assignIds(tx: TransactionSql, rows: AnimeRow[], current: CurrentCatalogue): Promise<number[]> {
  const matched = matchExistingIds(rows, current.sourceOwners);
  const fresh = await allocateIds(tx, matched.filter((id) => id === undefined).length);
  return matched.map((id) => id ?? fresh.shift()!);
}

async function allocateIds(tx: TransactionSql, count: number): Promise<number[]> {
  if (count === 0) return [];
  const rows = await tx<{ id: number }[]>`
    select nextval(pg_get_serial_sequence('anime', 'id'))::int as id from generate_series(1, ${count})`;
  return rows.map((row) => row.id).sort((a, b) => a - b);
}

async function applyPlan(tx: TransactionSql, plan: CataloguePlan): Promise<void> {
  for (const urls of batches(plan.staleSources)) {
    await tx`delete from anime_sources where url in (select json_array_elements_text(${JSON.stringify(urls)}::text::json))`;
  }
  for (const ids of batches(plan.prunedIds)) {
    // An entry listed since readListedIds stays too (a list entry's reference would refuse the delete).
    await tx`
      delete from anime where id in (select json_array_elements_text(${JSON.stringify(ids)}::text::json)::int)
        and not exists (select 1 from list_entries l where l.anime_id = anime.id)`;
  }
  for (const entries of batches(plan.inserts)) {
    await tx`
      insert into anime (id, title, source, anime_type, num_episodes, status, year, picture, tags, body,
                         details, season, synonyms, thumbnail, duration_seconds, score, studios, producers, related_urls)
      select r.id, r.title, r.source, r.anime_type, r.num_episodes, r.status, r.year, r.picture, r.tags, e.body::text,
             e.details::text, d.season, d.synonyms, d.thumbnail, d.duration_seconds, d.score, d.studios, d.producers, d.related
      from ${animeRecords(tx, entries)}`;
  }
  for (const entries of batches(plan.updates)) {
    await tx`
      update anime a set
        title = r.title, source = r.source, anime_type = r.anime_type, num_episodes = r.num_episodes,
        status = r.status, year = r.year, picture = r.picture, tags = r.tags, body = e.body::text,
        details = e.details::text, season = d.season, synonyms = d.synonyms, thumbnail = d.thumbnail,
        duration_seconds = d.duration_seconds, score = d.score, studios = d.studios, producers = d.producers,
        related_urls = d.related, updated_at = now()
      from ${animeRecords(tx, entries)}
      where a.id = r.id`;
  }
  for (const sources of batches(plan.newSources)) {
    await tx`insert into anime_sources (url, anime_id) select s.url, s.anime_id from ${sourceRecords(tx, sources)}`;
  }
  for (const sources of batches(plan.movedSources)) {
    await tx`update anime_sources a set anime_id = s.anime_id from ${sourceRecords(tx, sources)} where a.url = s.url`;
  }
}

/**
 * Entries go over as two JSON arrays, the bodies and their details, zipped by ROWS FROM; each
 * element's text is stored verbatim (the json type keeps its input text), and the columns are read
 * out of the same JSON, so they always agree.
 */
function animeRecords(tx: TransactionSql, entries: StoredEntry[]) {
  const bodies = `[${entries.map((entry) => entry.body).join(",")}]`;
  const details = `[${entries.map((entry) => entry.details).join(",")}]`;
  return tx`
    rows from (json_array_elements(${bodies}::text::json), json_array_elements(${details}::text::json)) as e(body, details),
    json_to_record(e.body) as r(id int, title text, source text, anime_type text, num_episodes int,
                                status text, year int, picture text, tags text[]),
    json_to_record(e.details) as d(season text, synonyms text[], thumbnail text, duration_seconds int,
                                   score double precision, studios text[], producers text[], related text[])`;
}

function sourceRecords(tx: TransactionSql, sources: SourceAssignment[]) {
  return tx`json_to_recordset(${JSON.stringify(sources)}::text::json) as s(url text, anime_id int)`;
}

/** Bumps the version and tells the servers; both take effect when the transaction commits. */
async function bumpCatalogueVersion(tx: TransactionSql): Promise<number> {
  const [row] = await tx<[{ version: string }]>`
    update catalogue_state set version = version + 1, imported_at = now() returning version::text`;
  const version = Number(row.version);
  await notifyWithin(tx, TOPIC_CATALOGUE_IMPORTED, { version }, "importer");
  return version;
}

function* batches<T>(items: T[]): Generator<T[]> {
  for (let start = 0; start < items.length; start += BATCH_SIZE) yield items.slice(start, start + BATCH_SIZE);
}
