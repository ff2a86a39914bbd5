// The list's rules (issue 12): defaults, validation, the 10,000-entry cap, what an import does, and
// the page around the entries' JSON (written by the list cache, or by PostgreSQL: src/list/queries.ts
// entryJson). No HTTP here.
// Pages and random picks come from the list cache (src/list/list-cache.ts) when it can answer: it
// re-reads the list's version in PostgreSQL for every answer, so every instance answers what the last
// write left; everything else reads PostgreSQL.
import type { Sql } from "postgres";
import type { Queryable } from "../db/connect.ts";
import { isDeadlock, violatedCheckConstraint } from "../db/errors.ts";
import { type FieldErrors, notFound, fieldFailure } from "../http/errors.ts";
import { type PageRequest, QueryReader, type RawQuery, pageHeadJson, pageOf, pageOffset, queryMessages } from "../http/query.ts";
import { readAnimeFilters } from "../shared/anime-filters.ts";
import { usernameKey } from "../shared/username-key.ts";
import type { ListCache, ListCacheState, PageFrame } from "./list-cache.ts";
import * as queries from "./queries.ts";
import type { EntryValues, ListSelection, ListVersions } from "./queries.ts";
import type { MalEntry } from "./mal-xml.ts";
import {
  DATE_MESSAGE,
  IMPORT_MODES,
  type ImportMode,
  LIST_STATUSES,
  type ListSort,
  type ListStatus,
  MAX_EPISODES,
  MAX_LIST_ENTRIES,
  MAX_NOTES,
  MAX_REWATCHES,
  PAGE_SIZE,
  type PatchEntryBody,
  type PutEntryBody,
  SORTS,
} from "./schemas.ts";

export const LIST_FULL = `A list holds at most ${MAX_LIST_ENTRIES} entries.`;
export const listFull = () => fieldFailure({ non_field_errors: [LIST_FULL] });
const DATES_ORDER = "Ensure this date is not before started_on.";

/** The columns of later catalogue migrations that the list reads when they exist. */
const OPTIONAL_ANIME_COLUMNS = ["season", "studios", "duration_seconds"];

/** An entry of a MyAnimeList export, as the parser gives it. */
export type ImportEntry = MalEntry;

export interface ImportResult {
  success: true;
  created: number;
  updated: number;
  unchanged: number;
  removed: number;
  unmatched: { mal_id: number; title: string }[];
}

export class Lists {
  private animeColumns?: Promise<Set<string>>;

  constructor(
    private readonly sql: Sql,
    /** Absent when LIST_CACHE_MB is 0: every answer is then read from PostgreSQL. */
    private readonly cache?: ListCache,
  ) {}

  /** What the list cache holds, for /health. */
  cacheState(): ListCacheState {
    return this.cache?.state() ?? { lists: 0, bytes: 0, hits: 0, fills: 0, filling: 0 };
  }

  /** The catalogue's optional columns, read once (migrations only add them, at start). */
  private optionalColumns(): Promise<Set<string>> {
    this.animeColumns ??= queries.findAnimeColumns(this.sql, OPTIONAL_ANIME_COLUMNS).catch((error) => {
      this.animeColumns = undefined;
      throw error;
    });
    return this.animeColumns;
  }

  async entry(userId: number, animeId: number | undefined): Promise<string> {
    const entry = animeId === undefined ? undefined : await queries.findEntry(this.sql, userId, animeId);
    if (!entry) throw notFound();
    return entry.json;
  }

  async put(userId: number, animeId: number | undefined, body: PutEntryBody): Promise<{ json: string; created: boolean }> {
    if (animeId === undefined) throw notFound();
    const values: EntryValues = {
      status: body.status,
      episodesWatched: body.episodes_watched ?? null,
      score: body.score ?? null,
      rewatches: body.rewatches ?? 0,
      private: body.private ?? false,
      startedOn: body.started_on ?? null,
      finishedOn: body.finished_on ?? null,
      notes: body.notes ?? "",
    };
    await this.rejectInvalid(animeId, entryProblems(values));
    const written = await writing(() => queries.upsertEntry(this.sql, userId, animeId, values));
    if (written) return { json: written.entry.json, created: written.created };
    // Nothing written: the anime is unknown, or has fewer episodes than that.
    const numEpisodes = await queries.findNumEpisodes(this.sql, animeId);
    if (numEpisodes === undefined) throw notFound();
    throw fieldFailure({ episodes_watched: [queryMessages.atMost(numEpisodes)] });
  }

  async patch(userId: number, animeId: number | undefined, body: PatchEntryBody): Promise<string> {
    const existing = animeId === undefined ? undefined : await queries.findEntry(this.sql, userId, animeId);
    if (!existing || animeId === undefined) throw notFound();
    // An anime whose episode count is unknown (0) keeps the count watched so far.
    const completing = body.status === "completed" && body.episodes_watched === undefined && existing.numEpisodes > 0;
    const values: EntryValues = {
      status: body.status ?? existing.status,
      episodesWatched: completing ? existing.numEpisodes : (body.episodes_watched ?? existing.episodesWatched),
      score: body.score === undefined ? existing.score : body.score,
      rewatches: body.rewatches ?? existing.rewatches,
      private: body.private ?? existing.private,
      startedOn: body.started_on === undefined ? existing.startedOn : body.started_on,
      finishedOn: body.finished_on === undefined ? existing.finishedOn : body.finished_on,
      notes: body.notes ?? existing.notes,
    };
    const problems = entryProblems(values);
    if (existing.numEpisodes > 0 && values.episodesWatched! > existing.numEpisodes) {
      problems.episodes_watched = [queryMessages.atMost(existing.numEpisodes)];
    }
    if (Object.keys(problems).length) throw fieldFailure(problems);
    const written = await writing(() => queries.updateEntry(this.sql, userId, animeId, values));
    if (!written) throw notFound();
    return written.json;
  }

  async remove(userId: number, animeId: number | undefined): Promise<{ success: true }> {
    if (animeId === undefined || !(await queries.deleteEntry(this.sql, userId, animeId))) throw notFound();
    return { success: true };
  }

  /** GET /list. */
  async page(userId: number, query: RawQuery, requestUrl: string): Promise<Uint8Array> {
    const { statuses, sort, request } = readPageQuery(query);
    const selection: ListSelection = { userId, statuses, publicOnly: false };
    const frame = pageFrame(requestUrl, request);
    const cached = await this.cache?.ownPage(userId, selection, sort, pageOffset(request), request.pageSize, frame);
    return cached ?? this.uncachedPage(selection, sort, request, frame);
  }

  /** GET /users/{username}/list: 404 when the user does not exist or keeps the list private. */
  async publicPage(username: string, query: RawQuery, requestUrl: string): Promise<Uint8Array> {
    const versions = await this.publicListVersions(username);
    const { statuses, sort, request } = readPageQuery(query);
    const selection: ListSelection = { userId: versions.userId, statuses, publicOnly: true };
    const frame = pageFrame(requestUrl, request);
    const cached = await this.cache?.pageAt(versions, selection, sort, pageOffset(request), request.pageSize, frame);
    return cached ?? this.uncachedPage(selection, sort, request, frame);
  }

  /** The page as PostgreSQL writes its entries. */
  private async uncachedPage(selection: ListSelection, sort: ListSort, request: PageRequest, frame: PageFrame): Promise<Uint8Array> {
    const { count, results } = await queries.findEntriesPage(this.sql, selection, sort, request.pageSize, pageOffset(request));
    const { head, end } = frame(count);
    return Buffer.concat([head, results, end]);
  }

  async random(userId: number, query: RawQuery): Promise<string | Uint8Array> {
    const reader = new QueryReader(query);
    const statuses = reader.choices("status", LIST_STATUSES);
    const filters = readAnimeFilters(reader, "anime_status");
    reader.finish();
    const columns = await this.optionalColumns();
    const cached = await this.cache?.random(userId, statuses, filters, columns);
    const entry = cached === undefined ? await queries.findRandomEntry(this.sql, { userId, statuses, publicOnly: false }, filters, columns) : cached;
    if (entry === undefined || entry === null) throw notFound();
    return entry;
  }

  async stats(userId: number, publicOnly: boolean) {
    const stats = await queries.findStats(this.sql, { userId, publicOnly }, await this.optionalColumns());
    const byStatus = Object.fromEntries(LIST_STATUSES.map((status) => [status, stats.byStatus[status] ?? 0])) as Record<ListStatus, number>;
    return {
      total: Object.values(byStatus).reduce((sum, n) => sum + n, 0),
      by_status: byStatus,
      episodes_watched: stats.episodesWatched,
      mean_score: stats.meanScore,
      days_watched: stats.daysWatched,
    };
  }

  /** The owner of a public list; 404 when the user does not exist or keeps the list private. */
  async publicOwner(username: string): Promise<number> {
    return (await this.publicListVersions(username)).userId;
  }

  private async publicListVersions(username: string): Promise<ListVersions> {
    // No username is that long or holds a NUL (PostgreSQL text cannot: looking it up would fail).
    const unusable = username.length > 256 || username.includes("\u0000");
    const versions = unusable ? undefined : await queries.findPublicListVersions(this.sql, usernameKey(username));
    if (versions === undefined) throw notFound();
    return versions;
  }

  async settings(userId: number) {
    return { success: true as const, data: { list_public: await queries.findListPublic(this.sql, userId) } };
  }

  async changeSettings(userId: number, listPublic: boolean) {
    return { success: true as const, data: { list_public: await queries.updateListPublic(this.sql, userId, listPublic) } };
  }

  /** Reads `mode` (merge or replace) before the body is read. */
  importMode(query: RawQuery): ImportMode {
    const reader = new QueryReader(query);
    const mode = reader.choices("mode", IMPORT_MODES, false)?.[0] ?? "merge";
    reader.finish();
    return mode;
  }

  /**
   * One transaction: the user's row is locked (their imports queue), entries are matched by MyAnimeList
   * id, values brought into range, unchanged entries left alone, the rest written in one statement.
   */
  async importEntries(userId: number, entries: ImportEntry[], mode: ImportMode): Promise<ImportResult> {
    const run = async (tx: Queryable): Promise<ImportResult> => {
      await queries.lockForImport(tx, userId);
      const matches = new Map((await queries.findAnimeByMalIds(tx, [...new Set(entries.map((e) => e.malId))])).map((m) => [m.malId, m]));
      const unmatched: ImportResult["unmatched"] = [];
      const byAnime = new Map<number, queries.ImportedEntry>();
      for (const entry of entries) {
        const match = matches.get(entry.malId);
        if (match) byAnime.set(match.animeId, clampedEntry(entry, match.animeId, match.numEpisodes));
        else unmatched.push({ mal_id: entry.malId, title: entry.title });
      }
      const animeIds = [...byAnime.keys()];
      const existing = await queries.findEntriesForUpdate(tx, userId, animeIds);
      const changed = [...byAnime.values()].filter((entry) => {
        const before = existing.get(entry.anime_id);
        return !before || !sameImportedValues(before, entry);
      });
      const created = changed.filter((entry) => !existing.has(entry.anime_id)).length;
      const removed = mode === "replace" ? await queries.deleteEntriesExcept(tx, userId, animeIds) : 0;
      await queries.upsertImportedEntries(tx, userId, changed);
      return { success: true, created, updated: changed.length - created, unchanged: byAnime.size - changed.length, removed, unmatched };
    };
    return writing(() => this.sql.begin((tx) => run(tx)) as Promise<ImportResult>);
  }

  async exportRows(userId: number) {
    const [username, rows] = await Promise.all([queries.findUsername(this.sql, userId), queries.findExportRows(this.sql, userId)]);
    return { username: username ?? "", rows };
  }

  /** Field problems found by the service come after the anime's existence: an unknown anime is a 404. */
  private async rejectInvalid(animeId: number, problems: FieldErrors) {
    if (!Object.keys(problems).length) return;
    if ((await queries.findNumEpisodes(this.sql, animeId)) === undefined) throw notFound();
    throw fieldFailure(problems);
  }
}

/** How many times a write (one statement, or the import's transaction) is run when PostgreSQL ends it to break a deadlock. */
const DEADLOCK_TRIES = 3;

/**
 * Runs a write; the database's own checks (the cap, the dates' order) become the contract's 400s. A
 * write that PostgreSQL chose to end in a deadlock had no effect and is run again. Every list write
 * locks its user's row before any entry (queries.ts lockedOwner; an import too), so none is expected
 * between them; the retry covers what is left (e.g. the anime rows an import and a catalogue import
 * both lock).
 */
async function writing<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (isDeadlock(error) && attempt < DEADLOCK_TRIES) continue;
      throw writeFailure(error);
    }
  }
}

/** The contract's 400 for a check the write violated; any other error as it is. */
function writeFailure(error: unknown): unknown {
  const constraint = violatedCheckConstraint(error);
  if (constraint === "users_list_size_limit") return listFull();
  if (constraint === "list_entries_dates_order") return fieldFailure({ finished_on: [DATES_ORDER] });
  return error;
}

/** The rules beyond the body's schema: real dates in order, notes' length in characters and no NUL. */
function entryProblems(values: EntryValues): FieldErrors {
  const problems: FieldErrors = {};
  const started = values.startedOn;
  const finished = values.finishedOn;
  if (started !== null && !isCalendarDate(started)) problems.started_on = [DATE_MESSAGE];
  if (finished !== null && !isCalendarDate(finished)) problems.finished_on = [DATE_MESSAGE];
  if (!problems.started_on && !problems.finished_on && started !== null && finished !== null && finished < started) {
    problems.finished_on = [DATES_ORDER];
  }
  if (countCharacters(values.notes) > MAX_NOTES) problems.notes = [`Ensure this field has no more than ${MAX_NOTES} characters.`];
  // DRF's CharField says so too; PostgreSQL text cannot hold one.
  else if (values.notes.includes("\u0000")) problems.notes = ["Null characters are not allowed."];
  return problems;
}

/** YYYY-MM-DD naming a day that exists, from year 1 (PostgreSQL's date has no year 0). */
export function isCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  return day <= (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/** Characters as PostgreSQL's char_length counts them (code points). */
function countCharacters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** A file's values brought into the contract's ranges. */
function clampedEntry(entry: ImportEntry, animeId: number, numEpisodes: number): queries.ImportedEntry {
  const maxEpisodes = numEpisodes > 0 ? numEpisodes : MAX_EPISODES;
  const whole = (n: number) => (Number.isFinite(n) ? Math.trunc(n) : 0);
  const startedOn = entry.startedOn !== null && isCalendarDate(entry.startedOn) ? entry.startedOn : null;
  let finishedOn = entry.finishedOn !== null && isCalendarDate(entry.finishedOn) ? entry.finishedOn : null;
  if (startedOn !== null && finishedOn !== null && finishedOn < startedOn) finishedOn = null;
  const score = entry.score !== null && Number.isInteger(entry.score) && entry.score >= 1 && entry.score <= 10 ? entry.score : null;
  return {
    anime_id: animeId,
    status: LIST_STATUSES.includes(entry.status) ? entry.status : "plan_to_watch",
    episodes_watched: Math.min(Math.max(whole(entry.episodesWatched), 0), maxEpisodes),
    score,
    rewatches: Math.min(Math.max(whole(entry.rewatches), 0), MAX_REWATCHES),
    started_on: startedOn,
    finished_on: finishedOn,
    notes: [...entry.notes.replaceAll("\u0000", "")].slice(0, MAX_NOTES).join(""), // PostgreSQL text holds no NUL
  };
}

function sameImportedValues(before: EntryValues, after: queries.ImportedEntry): boolean {
  return (
    before.status === after.status &&
    before.episodesWatched === after.episodes_watched &&
    before.score === after.score &&
    before.rewatches === after.rewatches &&
    before.startedOn === after.started_on &&
    before.finishedOn === after.finished_on &&
    before.notes === after.notes
  );
}

/** A list page's parameters; a 400 naming every bad one. */
function readPageQuery(query: RawQuery): { statuses: ListStatus[] | undefined; sort: ListSort; request: PageRequest } {
  const reader = new QueryReader(query);
  const statuses = reader.choices("status", LIST_STATUSES);
  const sort: ListSort = reader.choice("sort", SORTS) ?? "-updated";
  const page = reader.page();
  const pageSize = reader.pageSize(PAGE_SIZE.min, PAGE_SIZE.max, PAGE_SIZE.default);
  reader.finish();
  return { statuses, sort, request: { page, pageSize } };
}

/**
 * What frames a page's entries (their JSON texts joined by commas, UTF-8) once their count is known:
 * `{"count":…,"next":…,"previous":…,"results":[` and `]}`. Past the last page: 404.
 */
const pageFrame =
  (requestUrl: string, request: PageRequest): PageFrame =>
  (count) => ({ head: Buffer.from(pageHeadJson(pageOf(requestUrl, count, request, []))), end: PAGE_END });

const PAGE_END = Buffer.from("]}");
