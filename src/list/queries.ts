// SQL for the list: one exported function per statement, rows mapped to the list's domain types here.
// An entry is read with its anime's stored API body (anime.body), which the service splices into the
// entry's JSON as it is.
import type { Queryable as Sql } from "../db/connect.ts";
import { type AnimeFilters, type AnimeType, hasAnimeFilters } from "../shared/anime-filters.ts";
import { CATALOGUE_IMPORT_LOCK } from "../shared/catalogue-import-lock.ts";
import type { MalEntry } from "./mal-xml.ts";
import { LIST_STATUSES, type ListSort, type ListStatus } from "./schemas.ts";

/** What a client sets on an entry. */
export interface EntryValues {
  status: ListStatus;
  /** null on creation: 0, or the anime's num_episodes when the status is completed. */
  episodesWatched: number | null;
  score: number | null;
  rewatches: number;
  private: boolean;
  startedOn: string | null;
  finishedOn: string | null;
  notes: string;
}

export interface StoredEntry extends EntryValues {
  animeId: number;
  episodesWatched: number;
  numEpisodes: number;
  /** The entry as the contract writes it (with `notes`), built by PostgreSQL (entryJson below). */
  json: string;
}

interface RawEntry {
  anime_id: number;
  num_episodes: number;
  status: ListStatus;
  episodes_watched: number;
  score: number | null;
  rewatches: number;
  private: boolean;
  started_on: string | null;
  finished_on: string | null;
  notes: string;
  json: string;
}

const toEntry = (row: RawEntry): StoredEntry => ({
  animeId: row.anime_id,
  numEpisodes: row.num_episodes,
  status: row.status,
  episodesWatched: row.episodes_watched,
  score: row.score,
  rewatches: row.rewatches,
  private: row.private,
  startedOn: row.started_on,
  finishedOn: row.finished_on,
  notes: row.notes,
  json: row.json,
});

/**
 * The contract's entry as JSON text, over the entry `l` (any alias) and its anime `a`: the anime's
 * stored API body spliced in as it is. Built here rather than in JavaScript: a page of 100 entries is
 * then one text value for the server to pass on, not 1,300 values to parse and write out again.
 * to_json escapes a string as JSON.stringify does. The public form has no `notes`.
 */
const entryJson = (sql: Sql, l: string, withNotes: boolean) => {
  const parts = entryJsonParts(sql, l);
  return sql`'{"anime":' || a.body || ${parts.fields} ${withNotes ? sql`|| ${parts.notes}` : sql``} || ${parts.times}`;
};

/**
 * What follows the anime's body in an entry's JSON, in three texts: the fields, `,"notes":…` (which the
 * public form leaves out), and the times with the closing brace. The list cache keeps them as they are.
 */
const entryJsonParts = (sql: Sql, l: string) => {
  const c = (column: string) => sql`${sql(l)}.${sql(column)}`;
  const dateOrNull = (column: string) => sql`coalesce('"' || to_char(${c(column)}, 'YYYY-MM-DD') || '"', 'null')`;
  // As JavaScript's toISOString writes a timestamp: UTC, milliseconds (both truncate the microseconds).
  const isoTime = (column: string) => sql`to_char(${c(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  return {
    fields: sql`(',"status":"' || ${c("status")} || '","episodes_watched":' || ${c("episodes_watched")}
      || ',"score":' || coalesce(${c("score")}::text, 'null') || ',"rewatches":' || ${c("rewatches")} || ',"private":' || ${c("private")}
      || ',"started_on":' || ${dateOrNull("started_on")} || ',"finished_on":' || ${dateOrNull("finished_on")})`,
    notes: sql`(',"notes":' || to_json(${c("notes")})::text)`,
    times: sql`(',"created":"' || ${isoTime("created_at")} || '","updated":"' || ${isoTime("updated_at")} || '"}')`,
  };
};

/** The columns of an entry joined with its anime as `a` (dates as text: YYYY-MM-DD), and its JSON. */
const entryColumns = (sql: Sql, l = "l") => sql`
  ${sql(l)}.anime_id, a.num_episodes, ${sql(l)}.status, ${sql(l)}.episodes_watched, ${sql(l)}.score,
  ${sql(l)}.rewatches, ${sql(l)}.private, to_char(${sql(l)}.started_on, 'YYYY-MM-DD') as started_on,
  to_char(${sql(l)}.finished_on, 'YYYY-MM-DD') as finished_on, ${sql(l)}.notes, ${entryJson(sql, l, true)} as json`;

/** Which of the optional anime columns (added by the catalogue's later migrations) exist. */
export async function findAnimeColumns(sql: Sql, names: string[]): Promise<Set<string>> {
  const rows = await sql<{ column_name: string }[]>`
    select column_name from information_schema.columns
    where table_schema = current_schema() and table_name = 'anime' and column_name in ${sql(names)}`;
  return new Set(rows.map((row) => row.column_name));
}

export async function findNumEpisodes(sql: Sql, animeId: number): Promise<number | undefined> {
  const [row] = await sql<[{ num_episodes: number }?]>`select num_episodes from anime where id = ${animeId}`;
  return row?.num_episodes;
}

export async function findEntry(sql: Sql, userId: number, animeId: number): Promise<StoredEntry | undefined> {
  const [row] = await sql<[RawEntry?]>`
    select ${entryColumns(sql)} from list_entries l join anime a on a.id = l.anime_id
    where l.user_id = ${userId} and l.anime_id = ${animeId}`;
  return row && toEntry(row);
}

/**
 * The user's row, locked first by every write to the list: its triggers update that row (the list's
 * size and version, migration 009) after the entry, and an import locks it before its entries, so a
 * write that locked the entry first could deadlock with an import.
 */
const lockedOwner = (sql: Sql, userId: number) => sql`owner as (select id from users where id = ${userId} for no key update)`;

/**
 * Creates or replaces the entry in one statement (`created` tells which). Nothing is written, and
 * undefined comes back, when the anime does not exist or has fewer episodes than `episodesWatched`;
 * a list at its limit fails with the users_list_size_limit check (the insert trigger counts).
 */
export async function upsertEntry(
  sql: Sql,
  userId: number,
  animeId: number,
  values: EntryValues,
): Promise<{ entry: StoredEntry; created: boolean } | undefined> {
  const [row] = await sql<[(RawEntry & { created: boolean })?]>`
    with ${lockedOwner(sql, userId)},
    written as (
      insert into list_entries as l
        (user_id, anime_id, status, episodes_watched, score, rewatches, private, started_on, finished_on, notes, title)
      select owner.id, a.id, ${values.status},
        coalesce(${values.episodesWatched}::int, case when ${values.status} = 'completed' then a.num_episodes else 0 end),
        ${values.score}::smallint, ${values.rewatches}::int, ${values.private}::boolean, ${values.startedOn}::date,
        ${values.finishedOn}::date, ${values.notes}::text, a.title
      from owner, anime a
      where a.id = ${animeId} and (a.num_episodes = 0 or coalesce(${values.episodesWatched}::int, 0) <= a.num_episodes)
      for share of a
      on conflict (user_id, anime_id) do update set
        status = excluded.status, episodes_watched = excluded.episodes_watched, score = excluded.score,
        rewatches = excluded.rewatches, private = excluded.private, started_on = excluded.started_on,
        finished_on = excluded.finished_on, notes = excluded.notes, updated_at = now()
      returning l.*, (xmax = 0) as created)
    select ${entryColumns(sql, "written")}, written.created
    from written join anime a on a.id = written.anime_id`;
  return row && { entry: toEntry(row), created: row.created };
}

/** Overwrites an existing entry; undefined when it is not on the list (any more). */
export async function updateEntry(sql: Sql, userId: number, animeId: number, values: EntryValues): Promise<StoredEntry | undefined> {
  const [row] = await sql<[RawEntry?]>`
    with ${lockedOwner(sql, userId)},
    written as (
      update list_entries set
        status = ${values.status}, episodes_watched = ${values.episodesWatched}::int, score = ${values.score}::smallint,
        rewatches = ${values.rewatches}::int, private = ${values.private}::boolean, started_on = ${values.startedOn}::date,
        finished_on = ${values.finishedOn}::date, notes = ${values.notes}::text, updated_at = now()
      where user_id = ${userId} and anime_id = ${animeId} and exists (select from owner)
      returning *)
    select ${entryColumns(sql, "written")} from written join anime a on a.id = written.anime_id`;
  return row && toEntry(row);
}

export async function deleteEntry(sql: Sql, userId: number, animeId: number): Promise<boolean> {
  const result = await sql`
    with ${lockedOwner(sql, userId)}
    delete from list_entries where user_id = ${userId} and anime_id = ${animeId} and exists (select from owner)`;
  return result.count > 0;
}

export interface ListSelection {
  userId: number;
  statuses?: ListStatus[];
  /** Public views leave private entries out. */
  publicOnly: boolean;
}

const selectionFilter = (sql: Sql, { userId, statuses, publicOnly }: ListSelection) => sql`
  l.user_id = ${userId}
  ${statuses ? sql`and l.status in ${sql(statuses)}` : sql``}
  ${publicOnly ? sql`and not l.private` : sql``}`;

/**
 * Each sort's order, over the entry `l`. Migration 008 gives each an index in exactly this order, but
 * `updated`, which reads the -updated index backwards (ties put back in anime_id order as it goes).
 */
const orderings = (sql: Sql): Record<ListSort, ReturnType<Sql>> => ({
  "-updated": sql`l.updated_at desc, l.anime_id`,
  updated: sql`l.updated_at, l.anime_id`,
  title: sql`l.title, l.anime_id`,
  "-title": sql`l.title desc, l.anime_id`,
  score: sql`l.score nulls last, l.anime_id`,
  "-score": sql`l.score desc nulls last, l.anime_id`,
});

/**
 * A page of entries, as the JSON texts of its entries joined by commas (UTF-8 bytes, as PostgreSQL
 * sent them: passed on to the response without being decoded and encoded again), and how many the
 * selection holds, in one statement (one snapshot). The page's keys are read from the sort's index
 * alone (status and private are in it), skipping `offset` index entries; only the page's rows are then
 * fetched. The whole list's size is the users.list_size counter; a filtered or public count is
 * counted, from an index too.
 */
export async function findEntriesPage(
  sql: Sql,
  selection: ListSelection,
  sort: ListSort,
  limit: number,
  offset: number,
): Promise<{ count: number; results: Uint8Array }> {
  const order = orderings(sql)[sort];
  const total =
    selection.statuses || selection.publicOnly
      ? sql`(select count(*)::int from list_entries l where ${selectionFilter(sql, selection)})`
      : sql`(select list_size from users where id = ${selection.userId})`;
  const [row] = await sql`
    with keys as (
      select l.anime_id from list_entries l
      where ${selectionFilter(sql, selection)}
      order by ${order}
      limit ${limit}::int offset ${offset}::bigint)
    select ${total} as total,
      (select string_agg(${entryJson(sql, "l", !selection.publicOnly)}, ',' order by ${order})
       from keys k join list_entries l on l.user_id = ${selection.userId} and l.anime_id = k.anime_id
       join anime a on a.id = l.anime_id) as results`.raw();
  // A select without FROM: always one row; results is null when the page is empty.
  const [counted, results] = row ?? [];
  return { count: counted ? Number(counted.toString()) : 0, results: results ?? new Uint8Array() };
}

/**
 * The SQL form of the anime filters, over the anime row `a`. `season` and `studios` are columns of a
 * later catalogue migration: when `columns` lacks one, a filter on it matches nothing (and the
 * column is never named, so the statement stays valid).
 */
function animeFilterSql(sql: Sql, filters: AnimeFilters, columns: Set<string>) {
  const parts = [];
  if (filters.types) parts.push(sql`a.anime_type in ${sql(filters.types)}`);
  if (filters.statuses) parts.push(sql`a.status in ${sql(filters.statuses)}`);
  if (filters.seasons) parts.push(columns.has("season") ? sql`a.season in ${sql(filters.seasons)}` : sql`false`);
  if (filters.yearFrom !== undefined) parts.push(sql`a.year >= ${filters.yearFrom}`);
  if (filters.yearTo !== undefined) parts.push(sql`a.year <= ${filters.yearTo}`);
  if (filters.episodesMin !== undefined) parts.push(sql`a.num_episodes >= ${filters.episodesMin}`);
  if (filters.episodesMax !== undefined) parts.push(sql`a.num_episodes <= ${filters.episodesMax}`);
  // PostgreSQL text holds no NUL: no anime has a name holding one (and sending one would fail the statement).
  const storable = (name: string) => !name.includes("\u0000");
  if (filters.tags) {
    parts.push(filters.tags.every(storable) ? sql`array(select lower(tag) from unnest(a.tags) tag) @> ${filters.tags}::text[]` : sql`false`);
  }
  const excludeTags = filters.excludeTags?.filter(storable);
  if (excludeTags?.length) parts.push(sql`not array(select lower(tag) from unnest(a.tags) tag) && ${excludeTags}::text[]`);
  if (filters.studio !== undefined) {
    const studio = filters.studio;
    parts.push(columns.has("studios") && storable(studio) ? sql`exists (select 1 from unnest(a.studios) studio where lower(studio) = ${studio})` : sql`false`);
  }
  return parts.reduce((all, part) => sql`${all} and ${part}`, sql`true`);
}

/** How many entries the filtered draw first picks from all that pass `status`, before it counts. */
const RANDOM_TRIES = 64;

/**
 * One entry drawn uniformly from those that match, as its JSON text.
 *  - Only `status` (or nothing): the candidates' ids are read from an index into an array (or, with no
 *    filter at all, one is skipped to at a random offset below users.list_size), and one is drawn.
 *  - Anime filters too: up to RANDOM_TRIES candidates are drawn (uniformly, with replacement) and the
 *    first whose anime passes is taken; only when none does are all candidates' anime read, and one
 *    drawn from those that pass. The first passing draw is uniform over the passing entries, and so is
 *    the fallback, so the result is too; but a large list costs a handful of anime reads, not thousands.
 */
export async function findRandomEntry(
  sql: Sql,
  selection: ListSelection,
  filters: AnimeFilters,
  columns: Set<string>,
): Promise<string | undefined> {
  const pick = !selection.statuses && !selection.publicOnly && !hasAnimeFilters(filters) ? wholeListPick(sql, selection.userId) : filteredPick(sql, selection, filters, columns);
  const [row] = await sql<[{ json: string }?]>`
    with ${pick}
    select ${entryJson(sql, "l", true)} as json
    from picked p join list_entries l on l.user_id = ${selection.userId} and l.anime_id = p.anime_id
    join anime a on a.id = l.anime_id`;
  return row?.json;
}

/** `picked`: an entry at a random offset into the list's primary key, below the list's size (same snapshot). */
const wholeListPick = (sql: Sql, userId: number) => sql`
  picked as (
    select anime_id from list_entries where user_id = ${userId} order by anime_id
    offset floor(random() * (select list_size from users where id = ${userId}))::bigint limit 1)`;

function filteredPick(sql: Sql, selection: ListSelection, filters: AnimeFilters, columns: Set<string>) {
  const candidates = sql`
    candidates as materialized (
      select array_agg(l.anime_id) as ids from list_entries l where ${selectionFilter(sql, selection)})`;
  const draw = sql`c.ids[1 + floor(random() * cardinality(c.ids))::int]`;
  if (!hasAnimeFilters(filters)) {
    return sql`${candidates}, picked as (select ${draw} as anime_id from candidates c where cardinality(c.ids) > 0)`;
  }
  const passes = animeFilterSql(sql, filters, columns);
  return sql`${candidates},
    tries as (
      select ${draw} as anime_id, try from candidates c, generate_series(1, ${RANDOM_TRIES}::int) try where cardinality(c.ids) > 0),
    hit as (
      select t.anime_id from tries t join anime a on a.id = t.anime_id where ${passes} order by t.try limit 1),
    matching as materialized (
      select a.id from candidates c cross join unnest(c.ids) as u(id) join anime a on a.id = u.id where ${passes}),
    picked as (
      select coalesce(
        (select anime_id from hit),
        (select id from matching offset floor(random() * (select count(*) from matching))::bigint limit 1)) as anime_id)`;
}

export interface ListStats {
  byStatus: Record<string, number>;
  episodesWatched: number;
  meanScore: number | null;
  daysWatched: number;
}

export async function findStats(sql: Sql, selection: ListSelection, columns: Set<string>): Promise<ListStats> {
  const duration = columns.has("duration_seconds") ? sql`coalesce(a.duration_seconds, 0)` : sql`0`;
  const [row] = await sql<[{ by_status: Record<string, number> | null; episodes: number; mean: number | null; days: number }]>`
    select
      (select json_object_agg(status, n) from (
         select status, count(*)::int as n from list_entries l where ${selectionFilter(sql, selection)} group by status) s) as by_status,
      coalesce(sum(l.episodes_watched), 0)::float8 as episodes,
      round(avg(l.score), 2)::float8 as mean,
      round(coalesce(sum(${duration}::numeric * l.episodes_watched), 0) / 86400, 2)::float8 as days
    from list_entries l join anime a on a.id = l.anime_id
    where ${selectionFilter(sql, selection)}`;
  return { byStatus: row.by_status ?? {}, episodesWatched: row.episodes, meanScore: row.mean, daysWatched: row.days };
}

export async function findListPublic(sql: Sql, userId: number): Promise<boolean> {
  const [row] = await sql<[{ list_public: boolean }?]>`select list_public from users where id = ${userId}`;
  return row?.list_public ?? false;
}

export async function updateListPublic(sql: Sql, userId: number, listPublic: boolean): Promise<boolean> {
  const [row] = await sql<[{ list_public: boolean }?]>`
    update users set list_public = ${listPublic} where id = ${userId} returning list_public`;
  return row?.list_public ?? listPublic;
}

// ---------------------------------------------------------------------------------------------------
// The list cache's reads (src/list/list-cache.ts): whole lists with the versions they were read at, and
// the versions alone, which every cached answer reads again.

/** users.list_version (migration 009; only compared, so kept as its text) and catalogue_state.version (compared by order too). */
export interface ListVersions {
  userId: number;
  list: string;
  catalogue: bigint;
}

/** The versions as the statements below read them (bigints as text). */
const toVersions = (userId: number, list: string, catalogue: string): ListVersions => ({ userId, list, catalogue: BigInt(catalogue) });

/**
 * The ids of these anime (those that pass `where`, on `a`), the byte lengths of their bodies and the
 * bodies one after another as bytes (splitBodies cuts them apart): an array of texts would come
 * JSON-escaped and be parsed character by character.
 */
const bodiesOf = (sql: Sql, ids: number[], where = sql`true`) =>
  sql`(select array_agg(a.id order by a.id) as ids, array_agg(octet_length(a.body) order by a.id) as lengths,
         string_agg(convert_to(a.body, 'UTF8'), ''::bytea order by a.id) as bodies
       from anime a where a.id = any(${ids}::int[]) and ${where})`;

/** A whole list as the cache keeps it, in anime_id order: a column per value, and the notes. */
export interface CacheableList {
  versions: ListVersions;
  animeIds: Int32Array;
  /** The status's place in LIST_STATUSES. */
  statuses: Uint8Array;
  privates: Uint8Array;
  /** 0 for no score. */
  scores: Int8Array;
  episodes: Int32Array;
  rewatches: Int32Array;
  /** Days since 1970, NO_DATE for none (years 1–9999). */
  startedDays: Int32Array;
  finishedDays: Int32Array;
  /** created_at and updated_at in microseconds since 1970 (exact in a double: years 1715–2284). */
  createdMicros: Float64Array;
  updatedMicros: Float64Array;
  /** The entries' notes one after another, as UTF-8; entry i's from notesStarts[i] to notesStarts[i + 1]. */
  notes: Buffer;
  notesStarts: Int32Array;
}

/** Bytes per entry in the keys of findCacheableList (big-endian, as int4send and timestamptz_send write them). */
const KEY_BYTES = 44;
/** Where each value sits in an entry's keys. */
const KEY = { animeId: 0, statusScore: 4, episodes: 8, rewatches: 12, started: 16, finished: 20, created: 24, updated: 32, notesLength: 40 } as const;
/** A date that is none, in the keys. */
export const NO_DATE = -2147483648;
/** 0001-01-01 and 9999-12-31, in days since 1970. */
const FIRST_DAY = -719_162;
const LAST_DAY = 2_932_896;
/** timestamptz_send counts microseconds from 2000-01-01, this many after 1970-01-01. */
const MICROS_1970_TO_2000 = 946_684_800_000_000;
/** The most bytes an entry's notes can take: 2,000 characters (the table's check) of up to 4 UTF-8 bytes. */
const MAX_NOTES_BYTES = 2_000 * 4;

/**
 * The user's whole list with the versions it was read at, in one statement (one snapshot); undefined
 * for no such user, and for a list whose notes take more than `maxNotesBytes`. A single row: the
 * entries' values in anime_id order as one byte string of KEY_BYTES each (the status's place + 1 times
 * 256, plus 128 if private, plus the score, 0 for none; a date in days since 1970, NO_DATE for none),
 * and their notes one after another as bytes (the title order is read when a page first asks for it:
 * findListTitleOrder). Values are read in binary: PostgreSQL writes a number or a time as text
 * several times slower than it writes its bytes. The entries' JSON texts are written from these
 * values when a page first shows them (entry-text.ts), as entryJsonParts writes them in SQL:
 * PostgreSQL's to_char takes several times longer than reading the columns.
 */
export async function findCacheableList(sql: Sql, userId: number, maxNotesBytes: number): Promise<CacheableList | undefined> {
  const [row] = await sql`
    select u.list_version::text, c.version::text, e.keys, e.notes
    from users u cross join catalogue_state c cross join lateral (
      -- Both aggregates read the subquery's rows in its order (the JS side checks it): an aggregate's ORDER BY would sort again.
      select string_agg(int4send(l.anime_id)
          || int4send(coalesce(array_position(${LIST_STATUSES as unknown as string[]}::text[], l.status), 0) * 256 + l.private::int * 128 + coalesce(l.score, 0))
          || int4send(l.episodes_watched) || int4send(l.rewatches)
          || int4send(coalesce(l.started_on - date '1970-01-01', ${NO_DATE})) || int4send(coalesce(l.finished_on - date '1970-01-01', ${NO_DATE}))
          || timestamptz_send(l.created_at) || timestamptz_send(l.updated_at) || int4send(octet_length(l.notes)), ''::bytea) as keys,
        string_agg(l.notes, '') as notes
      from (select * from list_entries l where l.user_id = ${userId} order by l.anime_id) l) e
    where u.id = ${userId}
      -- octet_length reads a stored text's size without reading the text; a short list needs no look.
      and case when u.list_size <= ${Math.floor(maxNotesBytes / MAX_NOTES_BYTES)} then true
               else (select coalesce(sum(octet_length(l.notes)), 0) from list_entries l where l.user_id = ${userId}) <= ${maxNotesBytes} end`.raw();
  if (!row) return undefined;
  const [listVersion, catalogueVersion, rawKeys, notes] = row as (Buffer | null)[];
  const keys = fromByteaText(rawKeys);
  const n = keys.byteLength / KEY_BYTES;
  if (!Number.isInteger(n)) throw new Error("a list's values did not read as expected");
  const view = new DataView(keys.buffer, keys.byteOffset, keys.byteLength);
  const int = (i: number, key: number) => view.getInt32(i * KEY_BYTES + key);
  const micros1970 = (i: number, key: number) => {
    const at = i * KEY_BYTES + key;
    const high = view.getInt32(at);
    // Exact in a double within 2^53 µs (285 years) of 2000; PostgreSQL writes a time outside that.
    if (Math.abs(high) >= 2 ** 21) throw new Error("a time outside the years 1715-2284");
    return high * 2 ** 32 + view.getUint32(at + 4) + MICROS_1970_TO_2000;
  };
  const animeIds = new Int32Array(n);
  const statuses = new Uint8Array(n);
  const privates = new Uint8Array(n);
  const scores = new Int8Array(n);
  const episodes = new Int32Array(n);
  const rewatches = new Int32Array(n);
  const startedDays = new Int32Array(n);
  const finishedDays = new Int32Array(n);
  const createdMicros = new Float64Array(n);
  const updatedMicros = new Float64Array(n);
  const notesBytes = notes ?? Buffer.alloc(0);
  const notesStarts = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    animeIds[i] = int(i, KEY.animeId);
    if (i > 0 && animeIds[i - 1]! >= animeIds[i]!) throw new Error("a list's entries did not read in anime id order");
    const statusScore = int(i, KEY.statusScore);
    const status = (statusScore >> 8) - 1;
    if (LIST_STATUSES[status] === undefined) throw new Error("an entry's status is not one of LIST_STATUSES");
    statuses[i] = status;
    privates[i] = (statusScore >> 7) & 1;
    scores[i] = statusScore & 127;
    episodes[i] = int(i, KEY.episodes);
    rewatches[i] = int(i, KEY.rewatches);
    startedDays[i] = checkedDays(int(i, KEY.started));
    finishedDays[i] = checkedDays(int(i, KEY.finished));
    createdMicros[i] = micros1970(i, KEY.created);
    updatedMicros[i] = micros1970(i, KEY.updated);
    notesStarts[i + 1] = notesStarts[i]! + int(i, KEY.notesLength);
  }
  if (notesStarts[n] !== notesBytes.byteLength) throw new Error("a list's notes did not read as expected");
  return {
    versions: toVersions(userId, listVersion!.toString(), catalogueVersion!.toString()),
    animeIds,
    statuses,
    privates,
    scores,
    episodes,
    rewatches,
    startedDays,
    finishedDays,
    createdMicros,
    updatedMicros,
    notes: notesBytes,
    notesStarts,
  };
}

/** Days since 1970 of a date in the years 1–9999 (as to_char writes them), or NO_DATE; others are not written as PostgreSQL would. */
function checkedDays(days: number): number {
  if (days !== NO_DATE && (days < FIRST_DAY || days > LAST_DAY)) throw new Error("a date outside the years 1-9999");
  return days;
}

/** A bytea column as postgres.js's raw mode hands it over (its text form, `\x` and hex digits), as bytes. */
function fromByteaText(text: Buffer | null | undefined): Buffer {
  if (!text || text.byteLength === 0) return Buffer.alloc(0);
  if (text[0] !== 0x5c || text[1] !== 0x78) throw new Error("a bytea did not read in hex");
  return Buffer.from(text.toString("latin1", 2), "hex");
}

/**
 * The anime ids of the user's list in title order (negated when the title equals the one before), 4
 * bytes each, read from the title index alone, with the versions they were read at (one snapshot).
 */
export async function findListTitleOrder(sql: Sql, userId: number): Promise<{ versions: ListVersions; titleOrder: Buffer } | undefined> {
  const [row] = await sql`
    select u.list_version::text, c.version::text,
      (select string_agg(int4send(case when t.same then -t.anime_id else t.anime_id end), ''::bytea)
       from (select l.anime_id, l.title is not distinct from lag(l.title) over (order by l.title, l.anime_id) as same
             from list_entries l where l.user_id = ${userId} order by l.title, l.anime_id) t) as title_order
    from users u cross join catalogue_state c
    where u.id = ${userId}`.raw();
  if (!row) return undefined;
  const [listVersion, catalogueVersion, titleOrder] = row as (Buffer | null)[];
  return { versions: toVersions(userId, listVersion!.toString(), catalogueVersion!.toString()), titleOrder: fromByteaText(titleOrder) };
}

/**
 * Each entry's place in the title order (equal titles share one), from findListTitleOrder's ids;
 * the entries' anime ids in list order.
 */
export function titleRanksOf(animeIds: Int32Array, titleOrder: Buffer): Int32Array {
  if (titleOrder.byteLength !== 4 * animeIds.length) throw new Error("a list's title order did not read as expected");
  const positions = new Map<number, number>();
  for (let i = 0; i < animeIds.length; i++) positions.set(animeIds[i]!, i);
  const ranks = new Int32Array(animeIds.length).fill(-1);
  let rank = 0;
  for (let k = 0; k < animeIds.length; k++) {
    const item = titleOrder.readInt32BE(4 * k);
    const position = positions.get(Math.abs(item));
    if (position === undefined || ranks[position] !== -1) throw new Error("a list's title order did not read as expected");
    if (item > 0 && k > 0) rank++;
    ranks[position] = rank;
  }
  return ranks;
}

/** The versions of the user's list, and the bodies of `bodyIds` (anime that are gone are left out): one snapshot. */
export async function findListVersions(
  sql: Sql,
  userId: number,
  bodyIds: number[],
): Promise<{ versions: ListVersions; bodies: Map<number, Buffer> } | undefined> {
  const [row] = await sql<[({ list_version: string; catalogue_version: string } & Partial<ReadBodies>)?]>`
    select u.list_version::text as list_version, c.version::text as catalogue_version
      ${bodyIds.length ? sql`, b.ids as body_ids, b.lengths as body_lengths, b.bodies` : sql``}
    from users u cross join catalogue_state c
      ${bodyIds.length ? sql`cross join ${bodiesOf(sql, bodyIds)} b` : sql``}
    where u.id = ${userId}`;
  if (!row) return undefined;
  return { versions: toVersions(userId, row.list_version, row.catalogue_version), bodies: splitBodies(row) };
}

/** The versions of the list of the user whose username key this is, if that list is public. */
export async function findPublicListVersions(sql: Sql, usernameKey: string): Promise<ListVersions | undefined> {
  const [row] = await sql<[{ id: number; list_version: string; catalogue_version: string }?]>`
    select u.id, u.list_version::text as list_version, c.version::text as catalogue_version
    from users u cross join catalogue_state c
    where u.username_key = ${usernameKey} and u.list_public`;
  return row && toVersions(row.id, row.list_version, row.catalogue_version);
}

/** These anime's bodies and the catalogue's version they were read at. */
export async function findAnimeBodies(sql: Sql, ids: number[]): Promise<{ catalogue: bigint; bodies: Map<number, Buffer> }> {
  const [row] = await sql<[{ catalogue_version: string } & ReadBodies]>`
    select c.version::text as catalogue_version, b.ids as body_ids, b.lengths as body_lengths, b.bodies
    from catalogue_state c
    cross join ${bodiesOf(sql, ids)} b`;
  return { catalogue: BigInt(row.catalogue_version), bodies: splitBodies(row) };
}

/**
 * The versions of the user's list, which of `ids` name anime that pass the filters, and the bodies of
 * those of them in `bodyIds` (one snapshot).
 */
export async function findAnimePassing(
  sql: Sql,
  userId: number,
  ids: number[],
  bodyIds: number[],
  filters: AnimeFilters,
  columns: Set<string>,
): Promise<{ versions: ListVersions; passing: Set<number>; bodies: Map<number, Buffer> } | undefined> {
  const passes = animeFilterSql(sql, filters, columns);
  const [row] = await sql<[({ list_version: string; catalogue_version: string; passing: number[] | null } & Partial<ReadBodies>)?]>`
    select u.list_version::text as list_version, c.version::text as catalogue_version, p.passing
      ${bodyIds.length ? sql`, b.ids as body_ids, b.lengths as body_lengths, b.bodies` : sql``}
    from users u cross join catalogue_state c
    cross join (select array_agg(a.id) as passing from anime a where a.id = any(${ids}::int[]) and ${passes}) p
      ${bodyIds.length ? sql`cross join ${bodiesOf(sql, bodyIds, passes)} b` : sql``}
    where u.id = ${userId}`;
  if (!row) return undefined;
  return { versions: toVersions(userId, row.list_version, row.catalogue_version), passing: new Set(row.passing ?? []), bodies: splitBodies(row) };
}

/** The columns bodiesOf reads (all null when no anime was found). */
interface ReadBodies {
  body_ids: number[] | null;
  body_lengths: number[] | null;
  bodies: Buffer | null;
}

/** The bodies bodiesOf read, by anime id (each a copy: the read bytes are not kept). */
function splitBodies(row: Partial<ReadBodies>): Map<number, Buffer> {
  const map = new Map<number, Buffer>();
  const { body_ids: ids, body_lengths: lengths, bodies } = row;
  if (!ids || !lengths || !bodies) return map;
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const end = at + lengths[i]!;
    map.set(ids[i]!, Buffer.from(bodies.subarray(at, end)));
    at = end;
  }
  if (at !== bodies.byteLength) throw new Error("the anime bodies did not read as expected");
  return map;
}

// ---------------------------------------------------------------------------------------------------
// Import and export.

export interface MatchedAnime {
  malId: number;
  animeId: number;
  numEpisodes: number;
}

/** The catalogue's anime for MyAnimeList ids, through the source https://myanimelist.net/anime/<id>. */
export async function findAnimeByMalIds(sql: Sql, malIds: number[]): Promise<MatchedAnime[]> {
  if (malIds.length === 0) return [];
  const rows = await sql<{ mal_id: number; anime_id: number; num_episodes: number }[]>`
    select m.mal_id, s.anime_id, a.num_episodes
    from unnest(${malIds}::int[]) as m(mal_id)
    join anime_sources s on s.url = 'https://myanimelist.net/anime/' || m.mal_id
    join anime a on a.id = s.anime_id`;
  return rows.map((row) => ({ malId: row.mal_id, animeId: row.anime_id, numEpisodes: row.num_episodes }));
}

/** Every entry of the user for these anime, locked until the transaction ends. */
export async function findEntriesForUpdate(sql: Sql, userId: number, animeIds: number[]): Promise<Map<number, EntryValues>> {
  const rows = await sql<RawEntry[]>`
    select l.anime_id, l.status, l.episodes_watched, l.score, l.rewatches, l.private,
      to_char(l.started_on, 'YYYY-MM-DD') as started_on, to_char(l.finished_on, 'YYYY-MM-DD') as finished_on, l.notes
    from list_entries l
    where l.user_id = ${userId} and l.anime_id = any(${animeIds}::int[])
    for update`;
  return new Map(rows.map((row) => [row.anime_id, { ...toEntry(row), episodesWatched: row.episodes_watched }]));
}

/**
 * Waits for a catalogue import under way (and holds one off until this transaction ends), then queues
 * the user's concurrent imports and list writes behind this transaction.
 */
export async function lockForImport(sql: Sql, userId: number): Promise<void> {
  await sql`select pg_advisory_xact_lock_shared(${CATALOGUE_IMPORT_LOCK})`;
  await sql`select 1 from users where id = ${userId} for no key update`;
}

/** An entry's values as its columns name them (dates as YYYY-MM-DD text). */
interface RawEntryValues {
  status: ListStatus;
  episodes_watched: number;
  score: number | null;
  rewatches: number;
  started_on: string | null;
  finished_on: string | null;
  notes: string;
}

/** An imported entry, in the columns' names: sent to PostgreSQL as JSON records. */
export interface ImportedEntry extends RawEntryValues {
  anime_id: number;
}

/**
 * Creates or overwrites the entries in one statement; an existing entry keeps its `private` flag. The
 * anime's title is read FOR SHARE here (see migration 008), which spares the trigger a lookup per row.
 */
export async function upsertImportedEntries(sql: Sql, userId: number, entries: ImportedEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await sql`
    insert into list_entries as l (user_id, anime_id, status, episodes_watched, score, rewatches, started_on, finished_on, notes, title)
    select ${userId}, e.anime_id, e.status, e.episodes_watched, e.score, e.rewatches, e.started_on, e.finished_on, e.notes, a.title
    from json_to_recordset(${JSON.stringify(entries)}::text::json) as e(
      anime_id int, status text, episodes_watched int, score smallint, rewatches int, started_on date, finished_on date, notes text)
    join anime a on a.id = e.anime_id
    for share of a
    on conflict (user_id, anime_id) do update set
      status = excluded.status, episodes_watched = excluded.episodes_watched, score = excluded.score,
      rewatches = excluded.rewatches, started_on = excluded.started_on, finished_on = excluded.finished_on,
      notes = excluded.notes, updated_at = now()`;
}

/** Removes the user's entries for every anime but `keep`; how many went. */
export async function deleteEntriesExcept(sql: Sql, userId: number, keep: number[]): Promise<number> {
  const result = await sql`delete from list_entries where user_id = ${userId} and not (anime_id = any(${keep}::int[]))`;
  return result.count;
}

/** An entry as the export writes it: the file's fields, the anime's type and episodes, and its MyAnimeList id if any. */
export interface ExportRow extends Omit<MalEntry, "malId"> {
  malId: number | null;
  type: AnimeType;
  numEpisodes: number;
}

/** The whole list with each anime's MyAnimeList id (the lowest, when an entry lists several; null when none). */
export async function findExportRows(sql: Sql, userId: number): Promise<ExportRow[]> {
  const rows = await sql<(RawEntryValues & { mal_id: number | null; title: string; anime_type: AnimeType; num_episodes: number })[]>`
    select
      (select min(substring(s.url from '^https://myanimelist\\.net/anime/([0-9]{1,9})$')::int)
       from anime_sources s where s.anime_id = l.anime_id and s.url like 'https://myanimelist.net/anime/%') as mal_id,
      a.title, a.anime_type, a.num_episodes, l.status, l.episodes_watched, l.score, l.rewatches,
      to_char(l.started_on, 'YYYY-MM-DD') as started_on, to_char(l.finished_on, 'YYYY-MM-DD') as finished_on, l.notes
    from list_entries l join anime a on a.id = l.anime_id
    where l.user_id = ${userId}
    order by l.anime_id`;
  return rows.map((row) => ({
    malId: row.mal_id,
    title: row.title,
    type: row.anime_type,
    numEpisodes: row.num_episodes,
    status: row.status,
    episodesWatched: row.episodes_watched,
    score: row.score,
    rewatches: row.rewatches,
    startedOn: row.started_on,
    finishedOn: row.finished_on,
    notes: row.notes,
  }));
}

export async function findUsername(sql: Sql, userId: number): Promise<string | undefined> {
  const [row] = await sql<[{ username: string }?]>`select username from users where id = ${userId}`;
  return row?.username;
}
