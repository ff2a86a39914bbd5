// Whole lists kept in memory, so that GET /list, the public list and GET /list/random answer from
// memory instead of having PostgreSQL build every page. A copy is trusted only for an answer whose own
// statement re-read, after the request arrived, the versions the copy was read at: users.list_version
// (bumped by every write to the list, migration 009) and catalogue_state.version (bumped by every
// catalogue import; the anime's bodies are part of an entry). So a write acknowledged by any instance
// is what every instance answers next, and no notification is involved: trust comes from the database
// alone. A list not held (or found stale) is read whole in the background; meanwhile PostgreSQL builds
// the answer (one page costs less than reading the whole list), unless other lists are being read too:
// then the answer waits for its list. Answers that come while a list is being read wait for that read.
import { LRUCache } from "lru-cache";
import type { Queryable as Sql } from "../db/connect.ts";
import { isDatabaseUnreachable } from "../db/errors.ts";
import { type Logger, describeError } from "../log.ts";
import { type AnimeFilters, hasAnimeFilters } from "../shared/anime-filters.ts";
import { EntryTexts, jsonNotes } from "./entry-text.ts";
import * as queries from "./queries.ts";
import { type CacheableList, type ListVersions, NO_DATE } from "./queries.ts";
import { LIST_STATUSES, type ListSort, type ListStatus } from "./schemas.ts";

/** What /health reports of the cache. */
export interface ListCacheState {
  lists: number;
  bytes: number;
  hits: number;
  fills: number;
  filling: number;
}

/** Which entries an answer looks at. */
export interface CachedSelection {
  statuses?: ListStatus[];
  /** Public views leave private entries out, and their notes. */
  publicOnly: boolean;
}

/** What a page's entries are framed by, given how many the selection holds: the JSON before and after them. */
export type PageFrame = (count: number) => { head: Uint8Array; end: Uint8Array };

/** A list may take this share of the lists' budget at most; a larger one is answered from PostgreSQL. */
const LIST_SHARE = 1 / 16;
/**
 * Whole lists read at once, at most; more wait their turn. So reads of many new lists at once (a
 * restart, a burst of users) never take every connection of the pool (10 by default) from the
 * answers' short statements, nor queue those behind them. Four read a burst of 1,000 lists sooner
 * than two (the bench's random users' pages after a start: p99 14-32 ms against 18-44 in alternate runs).
 */
const CONCURRENT_FILLS = 4;
/** How long a list found too large is answered from PostgreSQL before it is read whole again. */
const TOO_LARGE_MS = 60_000;
/** The filtered random pick's rounds of draws, before it asks which of all the candidates pass. */
const FILTERED_ROUNDS = [16, 64];
const ENTRY_OPEN = Buffer.from('{"anime":');
const COMMA = 0x2c;
const NO_FRAME: ReturnType<PageFrame> = { head: new Uint8Array(), end: new Uint8Array() };
/** Offsets kept per entry (see CachedList.offsets). */
const OFFSETS = 4;
/** Candidate sets (entries of some statuses) a list keeps at most. */
const CANDIDATE_SETS = 3;
/**
 * Bytes a cached list's entry costs besides its text and notes: its values, offsets, up to six sort
 * orders (the title's ranks among them) and the candidate sets.
 */
const ENTRY_OVERHEAD_BYTES = 4 + 1 + 1 + 1 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + OFFSETS * 4 + 6 * 4 + CANDIDATE_SETS * 4;
/** What an entry's text takes, typically (without its notes): what a list is counted as holding before its texts are written. */
const TYPICAL_TEXT_BYTES = 220;
const BODY_OVERHEAD_BYTES = 64;

/**
 * A list as one snapshot read it: columns of values and the notes, and the JSON texts of the entries a
 * page has shown (written then, once: most entries of a long list are never shown).
 */
export class CachedList {
  readonly size: number;
  readonly versions: ListVersions;
  /** The entries' values, as the whole-list read returned them. */
  private readonly values: CacheableList;
  /** 1 << the status's place in LIST_STATUSES. */
  private readonly statusBits: Uint8Array;
  /** Read when a page first asks for a title order (setTitleOrder). */
  private titleRanks?: Int32Array;
  /** Per entry: where its text starts (-1: not written yet), where its notes (`,"notes":"…"`) start and end, where it ends. */
  private readonly offsets: Int32Array;
  /** The texts written so far: each entry's text after its anime's body (its fields, notes and times), so that a page copies it at once. */
  private readonly texts: EntryTexts;
  private readonly orders = new Map<ListSort, Int32Array>();
  private readonly candidatesByMask = new Map<number, Int32Array>();

  constructor(read: CacheableList) {
    this.size = read.animeIds.length;
    this.versions = read.versions;
    this.values = read;
    this.statusBits = read.statuses.map((status) => 1 << status);
    this.offsets = new Int32Array(OFFSETS * this.size).fill(-1);
    // Room for a page of texts at first (a page shows up to 100 entries).
    this.texts = new EntryTexts(Math.min(this.size, 100) * TYPICAL_TEXT_BYTES);
  }

  /** The memory the list takes: grows as its texts are written. */
  get byteLength(): number {
    return this.values.notes.byteLength + this.texts.byteLength + this.size * ENTRY_OVERHEAD_BYTES;
  }

  /** What the list will take once most of its texts are written: whether it fits is judged on this. */
  get expectedByteLength(): number {
    return 2 * this.values.notes.byteLength + this.size * (ENTRY_OVERHEAD_BYTES + TYPICAL_TEXT_BYTES);
  }

  /** Whether the sort needs the title order, not read yet. */
  lacksOrderFor(sort: ListSort): boolean {
    return (sort === "title" || sort === "-title") && !this.titleRanks;
  }

  /** Takes the title order findListTitleOrder read at this copy's versions. */
  setTitleOrder(titleOrder: Buffer): void {
    this.titleRanks = queries.titleRanksOf(this.values.animeIds, titleOrder);
  }

  animeIdAt(position: number): number {
    return this.values.animeIds[position]!;
  }

  /** How many entries the selection holds. */
  count(selection: CachedSelection): number {
    if (!selection.statuses && !selection.publicOnly) return this.size;
    const mask = selectionMask(selection);
    let count = 0;
    for (let i = 0; i < this.size; i++) if (this.matches(i, mask, selection.publicOnly)) count++;
    return count;
  }

  /** The positions of the selection's entries from `offset` on, at most `limit`, in the sort's order. */
  page(selection: CachedSelection, sort: ListSort, offset: number, limit: number): number[] {
    const order = this.order(sort);
    if (!selection.statuses && !selection.publicOnly) return Array.from(order.subarray(offset, offset + limit));
    const mask = selectionMask(selection);
    const positions: number[] = [];
    let skipped = 0;
    for (let k = 0; k < order.length && positions.length < limit; k++) {
      const i = order[k]!;
      if (!this.matches(i, mask, selection.publicOnly)) continue;
      if (skipped < offset) skipped++;
      else positions.push(i);
    }
    return positions;
  }

  /** The positions of the entries whose status is one of `statuses` (every entry without), computed once per set of statuses. */
  candidates(statuses: ListStatus[] | undefined): Int32Array {
    const mask = statuses ? statusMask(statuses) : ALL_STATUSES;
    let positions = this.candidatesByMask.get(mask);
    if (!positions) {
      const all = new Int32Array(this.size);
      let n = 0;
      for (let i = 0; i < this.size; i++) if (this.statusBits[i]! & mask) all[n++] = i;
      positions = all.slice(0, n);
      if (this.candidatesByMask.size >= CANDIDATE_SETS) this.candidatesByMask.clear(); // within the bytes counted for it
      this.candidatesByMask.set(mask, positions);
    }
    return positions;
  }

  /** The length of the entry's text after its anime's body (written now if it was not); the public form leaves the notes out. */
  tailLength(position: number, withNotes: boolean): number {
    const k = OFFSETS * position;
    if (this.offsets[k]! < 0) this.writeText(position);
    const length = this.offsets[k + 3]! - this.offsets[k]!;
    return withNotes ? length : length - (this.offsets[k + 2]! - this.offsets[k + 1]!);
  }

  /** Copies the entry's text after its anime's body (tailLength wrote it) into `target` at `at`; where it ends. */
  copyTail(position: number, withNotes: boolean, target: Buffer, at: number): number {
    const k = OFFSETS * position;
    const [start, notesStart, notesEnd, end] = [this.offsets[k]!, this.offsets[k + 1]!, this.offsets[k + 2]!, this.offsets[k + 3]!];
    if (withNotes) return at + this.texts.copyTo(target, at, start, end);
    at += this.texts.copyTo(target, at, start, notesStart);
    return at + this.texts.copyTo(target, at, notesEnd, end);
  }

  private writeText(position: number) {
    const v = this.values;
    const i = position;
    const date = (days: number) => (days === NO_DATE ? Number.NaN : days);
    const entry = {
      status: LIST_STATUSES[v.statuses[i]!]!,
      episodesWatched: v.episodes[i]!,
      score: v.scores[i]!,
      rewatches: v.rewatches[i]!,
      isPrivate: v.privates[i] === 1,
      startedDays: date(v.startedDays[i]!),
      finishedDays: date(v.finishedDays[i]!),
      createdMicros: v.createdMicros[i]!,
      updatedMicros: v.updatedMicros[i]!,
    };
    const [start, fields, notes, times] = this.texts.append(entry, jsonNotes(v.notes, v.notesStarts[i]!, v.notesStarts[i + 1]!));
    const k = OFFSETS * position;
    this.offsets[k] = start;
    this.offsets[k + 1] = start + fields;
    this.offsets[k + 2] = start + fields + notes;
    this.offsets[k + 3] = start + fields + notes + times;
  }

  private matches(position: number, mask: number, publicOnly: boolean): boolean {
    return (this.statusBits[position]! & mask) !== 0 && !(publicOnly && this.values.privates[position]);
  }

  /** The entries' positions in the sort's order (ties by anime id: positions are in anime id order), computed once. */
  private order(sort: ListSort): Int32Array {
    let order = this.orders.get(sort);
    if (!order) {
      order = Int32Array.from(Array.from({ length: this.size }, (_, i) => i).sort(this.comparator(sort)));
      this.orders.set(sort, order);
    }
    return order;
  }

  private comparator(sort: ListSort): (a: number, b: number) => number {
    const { updatedMicros: updated, scores } = this.values;
    const titleRank = (i: number) => {
      if (!this.titleRanks) throw new Error("a title sort before the list's title order was read");
      return this.titleRanks[i]!;
    };
    // No score sorts last both ways.
    const scoreKey = (i: number, descending: boolean) => (scores[i] === 0 ? Infinity : descending ? -scores[i]! : scores[i]!);
    switch (sort) {
      case "-updated":
        return (a, b) => updated[b]! - updated[a]! || a - b;
      case "updated":
        return (a, b) => updated[a]! - updated[b]! || a - b;
      case "title":
        return (a, b) => titleRank(a) - titleRank(b) || a - b;
      case "-title":
        return (a, b) => titleRank(b) - titleRank(a) || a - b;
      case "score":
        return (a, b) => compareNumbers(scoreKey(a, false), scoreKey(b, false)) || a - b;
      case "-score":
        return (a, b) => compareNumbers(scoreKey(a, true), scoreKey(b, true)) || a - b;
    }
  }
}

const compareNumbers = (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0);

const statusMask = (statuses: readonly ListStatus[]) => statuses.reduce((mask, status) => mask | (1 << LIST_STATUSES.indexOf(status)), 0);
const ALL_STATUSES = statusMask(LIST_STATUSES);
const selectionMask = (selection: CachedSelection) => (selection.statuses ? statusMask(selection.statuses) : ALL_STATUSES);

/** An answer computed from a copy that turned out stale: read the list again. */
const STALE = Symbol("stale");
type Stale = typeof STALE;

export class ListCache {
  private readonly lists: LRUCache<number, CachedList>;
  /** The anime's bodies, each after `{"anime":` (see openedEntry), shared by every list: valid for the catalogue version `bodiesCatalogue`. */
  private readonly bodies: LRUCache<number, Buffer>;
  private bodiesCatalogue = -1n;
  private fillsRunning = 0;
  private readonly fillsWaiting: (() => void)[] = [];
  /** The lists being read whole (or waiting for a slot), by user: answers that find their list being read wait for it. */
  private readonly filling = new Map<number, Promise<CachedList | undefined>>();
  /** Lists too large to hold (or that failed to read): until when they are answered from PostgreSQL. */
  private readonly notHeld = new LRUCache<number, number>({ max: 10_000 });
  private readonly maxListBytes: number;

  constructor(
    private readonly sql: Sql,
    budgetBytes: number,
    private readonly log: Logger,
  ) {
    const listsBytes = Math.max(1, Math.floor(budgetBytes * 0.75));
    this.maxListBytes = Math.max(1, Math.floor(listsBytes * LIST_SHARE));
    this.lists = new LRUCache({ maxSize: listsBytes, sizeCalculation: (list) => Math.max(1, list.byteLength) });
    this.bodies = new LRUCache({ maxSize: Math.max(1, Math.floor(budgetBytes * 0.25)), sizeCalculation: (body) => body.byteLength + BODY_OVERHEAD_BYTES });
  }

  private hits = 0;
  private fills = 0;

  state(): ListCacheState {
    const bytes = this.lists.calculatedSize + this.bodies.calculatedSize;
    return { lists: this.lists.size, bytes, hits: this.hits, fills: this.fills, filling: this.filling.size };
  }

  /**
   * A page of the user's own list, as the whole answer's bytes (its entries framed by `frame`);
   * undefined when the cache could not answer (the caller asks PostgreSQL).
   */
  ownPage(userId: number, selection: CachedSelection, sort: ListSort, offset: number, limit: number, frame: PageFrame): Promise<Uint8Array | undefined> {
    return this.withList(userId, async (list) => {
      if (!(await this.readOrderFor(list, sort))) return STALE;
      const positions = list.page(selection, sort, offset, limit);
      const ids = positions.map((position) => list.animeIdAt(position));
      const checked = await queries.findListVersions(this.sql, userId, this.missingBodies(ids, list.versions));
      if (!checked || !sameVersions(checked.versions, list.versions)) return STALE;
      return this.joinEntries(list, positions, checked.bodies, !selection.publicOnly, frame(list.count(selection)));
    });
  }

  /**
   * A page of a list whose versions were just read (the public view reads them with the username and
   * the list's publicness); undefined when the cache could not answer.
   */
  async pageAt(
    versions: ListVersions,
    selection: CachedSelection,
    sort: ListSort,
    offset: number,
    limit: number,
    frame: PageFrame,
  ): Promise<Uint8Array | undefined> {
    let list = this.lists.get(versions.userId);
    if (list && isOlder(list.versions, versions)) {
      this.lists.delete(versions.userId);
      list = undefined;
    }
    list ??= await this.filled(versions.userId);
    if (!list || !sameVersions(list.versions, versions) || !(await this.readOrderFor(list, sort))) return undefined;
    const positions = list.page(selection, sort, offset, limit);
    const ids = positions.map((position) => list.animeIdAt(position));
    const missing = this.missingBodies(ids, versions);
    let fetched = new Map<number, Buffer>();
    if (missing.length) {
      const read = await queries.findAnimeBodies(this.sql, missing);
      if (read.catalogue !== versions.catalogue) return undefined;
      fetched = read.bodies;
    }
    const page = this.joinEntries(list, positions, fetched, !selection.publicOnly, frame(list.count(selection)));
    if (page) this.hits++;
    return page;
  }

  /**
   * An entry drawn uniformly from the user's entries with one of `statuses` whose anime passes
   * `filters` (as queries.findRandomEntry draws): its JSON, null when none matches, undefined when
   * the cache could not answer.
   */
  random(userId: number, statuses: ListStatus[] | undefined, filters: AnimeFilters, columns: Set<string>): Promise<Uint8Array | null | undefined> {
    return this.withList(userId, async (list) => {
      const candidates = list.candidates(statuses);
      const pick = hasAnimeFilters(filters) ? await this.filteredPick(userId, list, candidates, filters, columns) : await this.plainPick(userId, list, candidates);
      if (pick === STALE || pick === null) return pick;
      const id = list.animeIdAt(pick.position);
      const bodies = pick.body === undefined ? new Map<number, Buffer>() : new Map([[id, pick.body]]);
      const entry = this.joinEntries(list, [pick.position], bodies, true);
      if (entry) return entry;
      // Its body left the cache meanwhile: read it, rather than draw again (which would favour cached bodies).
      const read = await queries.findAnimeBodies(this.sql, [id]);
      if (read.catalogue !== list.versions.catalogue) return STALE;
      return this.joinEntries(list, [pick.position], read.bodies, true) ?? STALE;
    });
  }

  /** One of the candidates, drawn uniformly, once the copy is confirmed current (and its body, when not cached). */
  private async plainPick(userId: number, list: CachedList, candidates: Int32Array): Promise<{ position: number; body?: Buffer } | null | Stale> {
    const position = candidates.length ? candidates[Math.floor(Math.random() * candidates.length)]! : undefined;
    const ids = position === undefined ? [] : [list.animeIdAt(position)];
    const checked = await queries.findListVersions(this.sql, userId, this.missingBodies(ids, list.versions));
    if (!checked || !sameVersions(checked.versions, list.versions)) return STALE;
    if (position === undefined) return null;
    return { position, body: checked.bodies.get(list.animeIdAt(position)) };
  }

  /**
   * Candidates drawn uniformly (with replacement) in rounds of FILTERED_ROUNDS draws, the first whose
   * anime passes taken; when no draw passes, one drawn from all the candidates that pass. PostgreSQL
   * says which pass, in the statement that checks the versions. Every draw is uniform and independent,
   * so the first that passes is uniform over the entries that pass, and so is the last resort; a
   * common filter costs one round of a few anime, a rare one all the candidates' anime once.
   */
  private async filteredPick(
    userId: number,
    list: CachedList,
    candidates: Int32Array,
    filters: AnimeFilters,
    columns: Set<string>,
  ): Promise<{ position: number; body?: Buffer } | null | Stale> {
    if (candidates.length > 0) {
      for (const draws of FILTERED_ROUNDS) {
        const drawn = Array.from({ length: draws }, () => candidates[Math.floor(Math.random() * candidates.length)]!);
        const ids = [...new Set(drawn.map((p) => list.animeIdAt(p)))];
        const tried = await queries.findAnimePassing(this.sql, userId, ids, this.missingBodies(ids, list.versions), filters, columns);
        if (!tried || !sameVersions(tried.versions, list.versions)) return STALE;
        const hit = drawn.find((position) => tried.passing.has(list.animeIdAt(position)));
        if (hit !== undefined) return { position: hit, body: tried.bodies.get(list.animeIdAt(hit)) };
      }
    }
    const allIds = Array.from(candidates, (p) => list.animeIdAt(p));
    const all = await queries.findAnimePassing(this.sql, userId, allIds, this.missingBodies(allIds, list.versions), filters, columns);
    if (!all || !sameVersions(all.versions, list.versions)) return STALE;
    const passing = Array.from(candidates).filter((position) => all.passing.has(list.animeIdAt(position)));
    if (!passing.length) return null;
    const position = passing[Math.floor(Math.random() * passing.length)]!;
    return { position, body: all.bodies.get(list.animeIdAt(position)) };
  }

  /**
   * Runs `answer` on the user's copy; undefined (the caller asks PostgreSQL) when no copy is held or
   * the answer found it stale.
   */
  private async withList<T>(userId: number, answer: (list: CachedList) => Promise<T | Stale>): Promise<T | undefined> {
    const list = this.lists.get(userId) ?? (await this.filled(userId));
    if (!list) return undefined;
    const result = await answer(list);
    if (result === STALE) {
      if (this.lists.peek(userId) === list) this.lists.delete(userId);
      this.startFill(userId);
      return undefined;
    }
    if (result !== undefined) this.hits++;
    return result;
  }

  /**
   * The list being read whole for another answer, when one is. Otherwise a read starts in the
   * background, and this answer waits for it only while other lists are being read too (a burst of
   * new lists, when a page built by PostgreSQL would add to its load); else it is undefined: PostgreSQL
   * builds this one page faster than the whole list can be read.
   */
  private async filled(userId: number): Promise<CachedList | undefined> {
    const filling = this.filling.get(userId);
    if (filling) return filling;
    const othersFilling = this.filling.size > 0;
    this.startFill(userId);
    return othersFilling ? this.filling.get(userId) : undefined;
  }

  /**
   * Starts reading the user's whole list, unless it is being read or was found too large (or not
   * readable as expected) lately: such a list is not read whole again for a while.
   */
  private startFill(userId: number): void {
    if (this.filling.has(userId)) return;
    const until = this.notHeld.get(userId);
    if (until !== undefined && until > Date.now()) return;
    this.fills++;
    const filling = this.inFillSlot(() => queries.findCacheableList(this.sql, userId, this.maxListBytes))
      .then((read) => {
        const list = read && new CachedList(read);
        if (!list || list.expectedByteLength > this.maxListBytes) {
          this.notHeld.set(userId, Date.now() + TOO_LARGE_MS);
          return undefined;
        }
        this.lists.set(userId, list);
        return list;
      })
      .catch((error: unknown) => {
        if (isDatabaseUnreachable(error)) {
          this.log.debug("a list could not be read whole: the database is unreachable", { userId, ...describeError(error) });
        } else {
          // Values the cache cannot write as PostgreSQL does (set by hand in the database): answer from PostgreSQL.
          this.log.warn("a list could not be read whole; answering it from the database", { userId, ...describeError(error) });
          this.notHeld.set(userId, Date.now() + TOO_LARGE_MS);
        }
        return undefined;
      })
      .finally(() => this.filling.delete(userId));
    this.filling.set(userId, filling);
  }

  /**
   * Reads the list's title order when the sort needs it and the copy has none (most pages never sort by
   * title, so a whole-list read leaves it out); false when the list changed since the copy was read.
   */
  private async readOrderFor(list: CachedList, sort: ListSort): Promise<boolean> {
    if (!list.lacksOrderFor(sort)) return true;
    const read = await queries.findListTitleOrder(this.sql, list.versions.userId);
    if (!read || !sameVersions(read.versions, list.versions)) return false;
    try {
      list.setTitleOrder(read.titleOrder);
    } catch (error) {
      this.log.warn("a list's title order did not match its entries; reading the list again", { userId: list.versions.userId, ...describeError(error) });
      return false;
    }
    return true;
  }

  /** Runs a whole-list read once one of the CONCURRENT_FILLS slots is free (handed over in turn). */
  private async inFillSlot<T>(read: () => Promise<T>): Promise<T> {
    if (this.fillsRunning < CONCURRENT_FILLS) this.fillsRunning++;
    else await new Promise<void>((resolve) => this.fillsWaiting.push(resolve));
    try {
      return await read();
    } finally {
      const next = this.fillsWaiting.shift();
      if (next) next();
      else this.fillsRunning--;
    }
  }

  /**
   * Counts the texts a page wrote against the budget, if the list is still held: lru-cache measures an
   * entry when it is set, and not again when the same value is set again.
   */
  private recount(list: CachedList): void {
    const userId = list.versions.userId;
    if (this.lists.peek(userId) !== list) return;
    this.lists.delete(userId);
    this.lists.set(userId, list);
  }

  /** The ids whose bodies are not cached for the list's catalogue version. */
  private missingBodies(ids: number[], versions: ListVersions): number[] {
    if (versions.catalogue !== this.bodiesCatalogue) return ids;
    return ids.filter((id) => !this.bodies.has(id));
  }

  /**
   * The entries' JSON joined by commas: each anime's body (read along with the check, or cached for the
   * catalogue version the check read) and the entry's text. Undefined when a body is missing (the
   * catalogue changed meanwhile: the caller reads again).
   */
  private joinEntries(
    list: CachedList,
    positions: number[],
    fetched: Map<number, Buffer>,
    withNotes: boolean,
    { head, end } = NO_FRAME,
  ): Uint8Array | undefined {
    const { catalogue } = list.versions;
    if (catalogue > this.bodiesCatalogue) {
      this.bodies.clear();
      this.bodiesCatalogue = catalogue;
    }
    const current = catalogue === this.bodiesCatalogue;
    // Every body is looked up before any read one is cached: caching one may evict another.
    const bodies: Buffer[] = [];
    const read: [number, Buffer][] = [];
    for (const position of positions) {
      const id = list.animeIdAt(position);
      let body = current ? this.bodies.get(id) : undefined;
      if (!body) {
        const fetchedBody = fetched.get(id);
        if (fetchedBody === undefined) return undefined;
        body = openedEntry(fetchedBody);
        read.push([id, body]);
      }
      bodies.push(body);
    }
    if (current) for (const [id, body] of read) this.bodies.set(id, body);
    const bytesBefore = list.byteLength;
    let length = head.byteLength + Math.max(0, positions.length - 1) + end.byteLength;
    for (let k = 0; k < positions.length; k++) length += bodies[k]!.length + list.tailLength(positions[k]!, withNotes);
    if (list.byteLength !== bytesBefore) this.recount(list);
    const joined = Buffer.allocUnsafe(length);
    joined.set(head, 0);
    let at = head.byteLength;
    for (let k = 0; k < positions.length; k++) {
      if (k > 0) joined[at++] = COMMA;
      at += bodies[k]!.copy(joined, at);
      at = list.copyTail(positions[k]!, withNotes, joined, at);
    }
    joined.set(end, at);
    return joined;
  }
}

/** Whether copy `a` was read before versions `b` (a copy read after them is left in place). */
function isOlder(a: ListVersions, b: ListVersions): boolean {
  return BigInt(a.list) < BigInt(b.list) || a.catalogue < b.catalogue;
}

/** An entry's JSON up to its anime's body included, `{"anime":{…}`: how the bodies are kept, so that a page copies each at once. */
function openedEntry(body: Uint8Array): Buffer {
  const opened = Buffer.allocUnsafe(ENTRY_OPEN.length + body.byteLength);
  ENTRY_OPEN.copy(opened, 0);
  opened.set(body, ENTRY_OPEN.length);
  return opened;
}

function sameVersions(a: ListVersions, b: ListVersions): boolean {
  return a.userId === b.userId && a.list === b.list && a.catalogue === b.catalogue;
}
