// The catalogue's read side. Every id sits in a compact in-memory index (an Int32Array), so a
// uniformly random entry costs one random number. Serialized entries are kept in memory, within
// ANIME_CACHE_MB: after every (re)load the whole catalogue is packed, in the background, into one
// UTF-8 buffer (PackedBodies: the full release is ~15 MB); a catalogue larger than the budget, and
// the moments before the packing is done, are served through an LRU of the hot entries instead.
// Either way a hot id needs no database round trip. An import (by any process) replaces all of it
// without a restart.
import { LRUCache } from "lru-cache";
import type { Sql } from "postgres";
import type { Config } from "../config.ts";
import { type ChangeFeed, isAnything } from "../db/changes.ts";
import { type AnimeFilters, hasAnimeFilters } from "../shared/anime-filters.ts";
import { type AnimeSort, type BrowseSort, FilterIndex, type MatchSet, filtersKey } from "./filter-index.ts";
import { type Logger, describeError } from "../log.ts";
import { BatchedReads, type DetailsAnswer, DetailsCache, type DetailsCacheState, detailsAnswer } from "./details-cache.ts";
import { PackedBodies } from "./packed-bodies.ts";
import * as queries from "./queries.ts";
import { type SearchDocument, SearchIndex } from "./search/index.ts";
import { RANKED_AT_LEAST, type RankedSearch, rankSearch } from "./search-ranking.ts";

export const TOPIC_CATALOGUE_IMPORTED = "catalogue";
const MAX_ID = 2_147_483_647;
const RANDOM_ATTEMPTS = 5;
const WARM_BATCH = 5_000;
/** Per cached entry, beyond its body's characters: the key, the LRU's slots, the string header. */
const ENTRY_OVERHEAD_BYTES = 64;
/**
 * Searches with q: their count and first ranks (rankSearch; all of them for a sort other than relevance
 * or a deep page), kept per canonical request (q, filters, sort) until the next load.
 */
const RESULT_CACHE_BYTES = { min: 8 * 1024 * 1024, max: 64 * 1024 * 1024, perEntry: 64 };
const RESULT_CACHE_ENTRIES = 2_000;
/**
 * A quarter of those places is kept for searches that took at least COSTLY_SEARCH_MS to rank. A broad
 * word at 400,000 entries ("Ghost": 56,000 matches) takes ~2.5 ms, a typical query ~0.25 ms: in one
 * LRU the costly results were evicted as often as the cheap ones, though a hit on one saves ten times
 * as much.
 */
const COSTLY_RESULT_SHARE = 0.25;
const COSTLY_SEARCH_MS = 1;
const SEARCH_BATCH = 10_000;
/** Details misses read in one statement at most (those asked for during one turn of the event loop). */
const DETAILS_BATCH = 32;
/**
 * The entries matching each filter combination asked, kept until the next load: at most an eighth of
 * 4 bytes an entry each (bits or a short position list), within this budget (`perEntry` bytes per
 * catalogue entry, about 300 dense sets).
 */
const MATCH_SET_CACHE_BYTES = { min: 2 * 1024 * 1024, max: 48 * 1024 * 1024, perEntry: 40 };
const MATCH_SET_CACHE_ENTRIES = 2_000;

/** What a search found: positions in the index it ran on (`ids`), and that load's catalogue version. */
export interface SearchResult {
  count: number;
  /** The positions ranked `from` to `to` (exclusive; `to` at most the ranks the search was asked for), in the index the search ran on (`ids`). */
  page(from: number, to: number): Int32Array;
  ids: Int32Array;
  version: number;
}

/** What a search asks: `q` (optional), the filters, and the order. */
export interface SearchRequest {
  q?: string;
  filters: AnimeFilters;
  sort: AnimeSort;
}

/** A serialized entry: a string from the database or the LRU, UTF-8 bytes from the packed buffer. */
export type Body = string | Uint8Array;

type CatalogueConfig = Pick<Config, "animeCacheMB" | "detailsCacheMB" | "cataloguePollMs">;

export class Catalogue {
  private ids: Int32Array = new Int32Array(0);
  private index = new FilterIndex(emptyColumns());
  /** The load `index` belongs to: it is read in the background after the ids, so it may lag. */
  private indexGeneration = -1;
  private indexLoading: Promise<FilterIndex> | undefined;
  /** The search index of the current load; built after the filter index, so searches with q wait for it. */
  private searchIndex: Promise<SearchIndex> | undefined;
  private builtSearchIndex: SearchIndex | undefined;
  private results = new SearchResultCache(0);
  private readonly details: DetailsCache;
  private readonly detailsReads = new BatchedReads((ids) => queries.findAnimeDetails(this.sql, ids), DETAILS_BATCH);
  private matchSets = matchSetCache(0);
  private version = -1;
  private readonly bodies: LRUCache<number, string>;
  private packed: PackedBodies | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain: Promise<void> | undefined;
  /** Bumped by every reload: a body read before one may predate the import, and is not cached. */
  private generation = 0;
  private pollTimer: Timer | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly changes: ChangeFeed,
    private readonly config: CatalogueConfig,
    private readonly log: Logger,
    /** The embedded database cannot carry LISTEN for other processes: poll for their imports. */
    private readonly pollForImports = false,
  ) {
    this.bodies = new LRUCache({
      maxSize: config.animeCacheMB * 1024 * 1024,
      sizeCalculation: (body) => body.length + ENTRY_OVERHEAD_BYTES,
    });
    this.details = new DetailsCache(config.detailsCacheMB * 1024 * 1024);
    changes.on(TOPIC_CATALOGUE_IMPORTED, isAnything, () => this.reloadInBackground("an import was announced"));
    changes.onResync(() => this.reloadInBackground("the change feed resynchronised"));
  }

  /** Whether the whole catalogue is in the packed buffer (else hot entries are in the LRU), and the memory it takes. */
  cacheState(): { packed: boolean; bytes: number; search_ready: boolean; index_bytes: number; details: DetailsCacheState } {
    return {
      packed: this.packed !== undefined,
      bytes: this.packed?.byteLength ?? this.bodies.calculatedSize,
      search_ready: this.builtSearchIndex !== undefined,
      index_bytes: this.index.byteLength + (this.builtSearchIndex?.memoryBytes ?? 0),
      details: this.details.state(),
    };
  }

  get size(): number {
    return this.ids.length;
  }

  /** The version of the catalogue the in-memory indexes were read from (bumped by every import). */
  get loadedVersion(): number {
    return this.version;
  }

  /** Whether a body that arrived synchronously can be tagged by the loaded version (it came from this load's caches). */
  get cachesTrusted(): boolean {
    return this.changes.trusted;
  }

  /** Loads the id index; with `pollForImports`, starts watching for imports. */
  async load(): Promise<void> {
    await this.reload();
    if (this.pollForImports && !this.pollTimer) {
      this.pollTimer = setInterval(
        () => void this.reloadIfImported().catch((error) => this.log.warn("polling for imports failed", describeError(error))),
        this.config.cataloguePollMs,
      );
      this.pollTimer.unref();
    }
  }

  stop(): void {
    clearInterval(this.pollTimer);
  }

  /** A reload nobody waits for: a failure is logged (the next notification, poll or resync retries). */
  private reloadInBackground(why: string): void {
    this.reload().catch((error) => this.log.warn("catalogue reload failed", { why, ...describeError(error) }));
  }

  /**
   * Reloads the index and drops cached bodies. A call while a reload runs gets one more reload after
   * it (shared by every such call): the running one may have read the table before the change that
   * asked for this one.
   */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain ??= this.reloading
        .catch(() => {}) // its failure is its own callers' to see; the reload after it runs regardless
        .then(() => {
          this.reloadAgain = undefined;
          return this.reload();
        });
      return this.reloadAgain;
    }
    this.reloading = (async () => {
      const version = await queries.findCatalogueVersion(this.sql);
      const ids = await queries.findAllAnimeIds(this.sql);
      this.ids = ids;
      this.version = version;
      this.generation++;
      this.packed = undefined;
      this.bodies.clear();
      this.results = new SearchResultCache(ids.length);
      this.matchSets = matchSetCache(ids.length);
      this.details.clear();
      this.builtSearchIndex = undefined;
      this.indexLoading = undefined;
      // In the background, one after the other (their transient memory would add up): the filter
      // index, the packed bodies, the search index. Requests that need one wait for it.
      const generation = this.generation;
      const indexed = Promise.resolve(this.currentIndex()).catch((error) => this.log.warn("filter index load failed", describeError(error)));
      const warmed = indexed
        .then(() => this.warm(generation))
        .catch((error) => this.log.warn("packing the catalogue failed; entries are served through the LRU", describeError(error)));
      this.searchIndex = this.buildSearchIndex(generation, warmed);
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  /** Reads every body in id order, in short queries (the embedded database has one connection). */
  private async *bodiesInIdOrder(generation: number): AsyncGenerator<{ id: number; body: string }[]> {
    for (let after = 0; generation === this.generation && this.changes.trusted; ) {
      const rows = await queries.findAnimeBodiesAfter(this.sql, after, WARM_BATCH);
      if (generation !== this.generation || !this.changes.trusted) return;
      yield rows;
      const last = rows.at(-1);
      if (rows.length < WARM_BATCH || !last) return;
      after = last.id;
    }
  }

  /** Once `previous` is done, reads every title and synonym in short queries and indexes them. */
  private buildSearchIndex(generation: number, previous: Promise<unknown> = Promise.resolve()): Promise<SearchIndex> {
    const built = (async () => {
      await previous;
      const batches: string[] = [];
      for (let after = 0; ; ) {
        const batch = await queries.findSearchDocumentsAfter(this.sql, after, SEARCH_BATCH);
        batches.push(batch.json);
        if (batch.count < SEARCH_BATCH) break;
        after = batch.last;
      }
      // In slices, the event loop free between them: requests keep their latency while it builds.
      const index = await SearchIndex.buildInBackground(documentsOf(batches));
      batches.length = 0;
      Bun.gc(true);
      if (generation === this.generation) this.builtSearchIndex = index;
      return index;
    })();
    // A failed build (database unreachable) is retried by the next search rather than remembered.
    built.catch(() => {
      if (generation === this.generation && this.searchIndex === built) this.searchIndex = undefined;
    });
    return built;
  }

  /** Packs the whole catalogue; when it does not fit the budget, warms the LRU instead. */
  private async warm(generation: number): Promise<void> {
    const builder = PackedBodies.builder(this.bodies.maxSize);
    for await (const rows of this.bodiesInIdOrder(generation)) {
      if (!rows.every(({ id, body }) => builder.add(id, body))) return this.warmLru(generation);
    }
    if (generation !== this.generation || !this.changes.trusted) return;
    this.packed = builder.build();
    this.bodies.clear(); // everything it held is in the packed buffer now
    Bun.gc(true); // the rows read: collected now rather than left to grow the heap under load
  }

  /** Fills the LRU in id order until it is full. */
  private async warmLru(generation: number): Promise<void> {
    const budget = this.bodies.maxSize;
    for await (const rows of this.bodiesInIdOrder(generation)) {
      for (const { id, body } of rows) {
        if (this.bodies.calculatedSize + body.length + ENTRY_OVERHEAD_BYTES > budget) return;
        if (!this.bodies.has(id)) this.bodies.set(id, body);
      }
    }
  }

  private async reloadIfImported(): Promise<void> {
    if ((await queries.findCatalogueVersion(this.sql)) !== this.version) await this.reload();
  }

  /**
   * The entry's JSON body; undefined for an id that is not a catalogue id. A cached body comes back
   * synchronously (no promise on the hot path), anything else as a promise.
   */
  entryBody(id: number): Body | undefined | Promise<Body | undefined> {
    if (!Number.isSafeInteger(id) || id < 1 || id > MAX_ID) return undefined;
    if (!this.changes.trusted) return this.fetchBody(id);
    return this.packed?.get(id) ?? this.bodies.get(id) ?? this.fetchBody(id);
  }

  private async fetchBody(id: number): Promise<string | undefined> {
    const trusted = this.changes.trusted;
    const generation = this.generation;
    const body = await queries.findAnimeBodyById(this.sql, id);
    if (body !== undefined && trusted && generation === this.generation) this.bodies.set(id, body);
    return body;
  }

  /** A uniformly random entry's body; undefined when the catalogue is empty. Synchronous when cached. */
  randomBody(): Body | undefined | Promise<Body | undefined> {
    if (this.ids.length === 0) return undefined;
    const position = Math.floor(Math.random() * this.ids.length);
    const id = this.ids[position]!;
    // The packed buffer holds the same ids in the same order, unless the catalogue changed while it
    // was built: then at(position) holds another id, and the lookup by id below applies.
    const packed = this.changes.trusted ? this.packed?.at(position, id) : undefined;
    if (packed) return packed;
    const body = this.entryBody(id);
    return body instanceof Promise ? body.then((found) => found ?? this.retryRandom()) : (body ?? this.retryRandom());
  }

  /** The filter index of the current load; a promise while it loads. */
  private currentIndex(): FilterIndex | Promise<FilterIndex> {
    if (this.indexGeneration === this.generation) return this.index;
    this.indexLoading ??= this.loadFilterIndex(this.generation);
    return this.indexLoading;
  }

  private loadFilterIndex(generation: number): Promise<FilterIndex> {
    const loading = queries.findIndexColumns(this.sql).then((columns) => {
      const index = new FilterIndex(columns);
      if (generation === this.generation) {
        this.index = index;
        this.indexGeneration = generation;
      }
      return index;
    });
    // A failed load (database unreachable) is retried by the next request rather than remembered.
    loading.catch(() => {
      if (this.indexLoading === loading) this.indexLoading = undefined;
    });
    return loading;
  }

  /** Whether results computed on `index` may be cached: it is the current load's. */
  private isCurrent(index: FilterIndex): boolean {
    return index === this.index && this.indexGeneration === this.generation;
  }

  /** A uniformly random entry among those matching the filters; undefined when none does. */
  randomMatchingBody(filters: AnimeFilters, key = filtersKeyOf(filters)): Body | undefined | Promise<Body | undefined> {
    if (!hasAnimeFilters(filters)) return this.randomBody();
    const index = this.currentIndex();
    if (index instanceof Promise) return index.then((loaded) => this.drawMatching(loaded, filters, key));
    return this.drawMatching(index, filters, key);
  }

  private drawMatching(index: FilterIndex, filters: AnimeFilters, key: string): Body | undefined | Promise<Body | undefined> {
    const set = this.matchSet(index, filters, key);
    if (set.count === 0) return undefined;
    const position = index.member(set, Math.floor(Math.random() * set.count));
    const id = index.ids[position]!;
    // The packed buffer's lookup by position checks the id: it may belong to another load.
    const packed = this.changes.trusted ? this.packed?.at(position, id) : undefined;
    return packed ?? this.entryBody(id);
  }

  /**
   * The positions of the entries a search finds, in the order asked (cached per canonical request
   * until the next load); `ranks`: how many of the first the caller reads at most (a page's end). With
   * q, ranked by the search index (which may still be building: then a promise).
   */
  search(request: SearchRequest, key = searchKey(request), ranks = Infinity): SearchResult | Promise<SearchResult> {
    const index = this.currentIndex();
    if (index instanceof Promise) return index.then((loaded) => this.searchIn(loaded, request, key, ranks));
    return this.searchIn(index, request, key, ranks);
  }

  private searchIn(index: FilterIndex, request: SearchRequest, key: string, ranks: number): SearchResult | Promise<SearchResult> {
    const generation = this.generation;
    const current = this.isCurrent(index);
    // A result from another load's index is not tagged by this load's version (the route then hashes the bytes).
    const version = current ? this.version : -1;
    const listed = ({ count, positions, complete }: RankedSearch): SearchResult => ({
      count,
      page: (from, to) => {
        if (!complete && to > positions.length) throw new Error(`ranks up to ${to} read from a search ranked to ${positions.length}`);
        return positions.subarray(from, to);
      },
      ids: index.ids,
      version,
    });
    const cached = current ? this.results.get(key) : undefined;
    if (cached && (cached.complete || cached.positions.length >= ranks)) return listed(cached);
    const remember = (ranked: RankedSearch, tookMs = 0): SearchResult => {
      if (current && generation === this.generation) this.results.set(key, ranked, tookMs);
      return listed(ranked);
    };
    const { q, filters } = request;
    if (q === undefined) {
      const sort = request.sort === "relevance" ? "title" : request.sort;
      if (!hasAnimeFilters(filters)) return listed(completeList(index.order(sort)));
      const key = filtersKeyOf(filters);
      const set = this.matchSet(index, filters, key);
      const ordered = () => this.orderedSet(index, set, sort, key);
      return { count: set.count, page: (from, to) => index.pageOfSet(set, sort, from, to, filters, ordered), ids: index.ids, version };
    }
    const { sort } = request;
    this.searchIndex ??= this.buildSearchIndex(generation);
    // The first pages: the first ranks only (RANKED_AT_LEAST); a deeper page: every rank, once.
    const wanted = ranks <= RANKED_AT_LEAST ? ranks : Infinity;
    return this.searchIndex.then((searchIndex) => {
      const started = performance.now();
      const ranked = rankSearch(searchIndex, index, q, filters, sort, wanted);
      return remember(ranked, performance.now() - started);
    });
  }

  /** The entries matching the filters (kept per canonical filters until the next load, when `index` is current). */
  private matchSet(index: FilterIndex, filters: AnimeFilters, key: string): MatchSet {
    return this.keptWithSets(index, key, () => index.matchSet(filters));
  }

  /** A dense set's members in a sort's order (kept with the sets, when `index` is current). */
  private orderedSet(index: FilterIndex, set: MatchSet, sort: BrowseSort, key: string): MatchSet {
    return this.keptWithSets(index, `${sort}\u0000${key}`, () => index.orderedSet(set, sort));
  }

  /** A set made by `make`, kept in the match-set cache under `key` while `index` is this load's. */
  private keptWithSets(index: FilterIndex, key: string, make: () => MatchSet): MatchSet {
    if (!this.isCurrent(index)) return make();
    const cached = this.matchSets.get(key);
    if (cached) return cached;
    const set = make();
    this.matchSets.set(key, set);
    return set;
  }

  /**
   * The bodies of a slice of a search's result, in order; synchronous when every one is in this
   * load's caches. Entries a concurrent import removed are left out.
   */
  bodiesAt(result: SearchResult, from: number, to: number): Body[] | Promise<Body[]> {
    const positions = result.page(from, to);
    // The packed buffer is checked by id: a result computed before a reload still finds its entries.
    const packed = this.changes.trusted ? this.packed : undefined;
    const ids: number[] = new Array(positions.length);
    const bodies: (Body | undefined)[] = new Array(positions.length);
    let complete = true;
    for (let i = 0; i < positions.length; i++) {
      const position = positions[i]!;
      const id = result.ids[position]!;
      ids[i] = id;
      const body = packed?.at(position, id) ?? this.cachedBody(id);
      bodies[i] = body;
      if (body === undefined) complete = false;
    }
    return complete ? (bodies as Body[]) : this.completeBodies(ids, bodies);
  }

  /** The bodies of these ids, in order; unknown ids are left out. */
  bodiesOf(ids: number[]): Body[] | Promise<Body[]> {
    const valid = ids.every(isCatalogueId) ? ids : ids.filter(isCatalogueId);
    const bodies: (Body | undefined)[] = new Array(valid.length);
    let complete = true;
    for (let i = 0; i < valid.length; i++) {
      const body = this.cachedBody(valid[i]!);
      bodies[i] = body;
      if (body === undefined) complete = false;
    }
    return complete ? (bodies as Body[]) : this.completeBodies(valid, bodies);
  }

  private cachedBody(id: number): Body | undefined {
    if (!this.changes.trusted) return undefined;
    return this.packed?.get(id) ?? this.bodies.get(id);
  }

  /** Fills the bodies missing from the caches with one query; synchronous when none is missing. */
  private completeBodies(ids: number[], bodies: (Body | undefined)[]): Body[] | Promise<Body[]> {
    const missing = ids.filter((_, i) => bodies[i] === undefined);
    if (missing.length === 0) return bodies as Body[];
    return queries.findAnimeBodiesByIds(this.sql, missing).then((found) =>
      ids.map((id, i) => bodies[i] ?? found.get(id)).filter((body) => body !== undefined),
    );
  }

  /**
   * The details object (the anime object plus what the dataset knows besides) as bytes with their
   * ETag; undefined for an unknown id. Synchronous when this load's details cache has it.
   */
  detailsOf(id: number): DetailsAnswer | undefined | Promise<DetailsAnswer | undefined> {
    const trusted = this.changes.trusted;
    return (trusted ? this.details.get(id) : undefined) ?? this.readDetails(id, trusted);
  }

  /** A details answer from the database, kept only when no load started meanwhile (it may predate an import). */
  private async readDetails(id: number, trusted: boolean): Promise<DetailsAnswer | undefined> {
    const generation = this.generation;
    const json = await this.detailsReads.get(id);
    if (!json) return undefined;
    const answer = detailsAnswer(json);
    if (trusted && generation === this.generation) this.details.set(id, answer);
    return answer;
  }

  /** The id of the entry listing this source URL; `http:`/`https:` and a trailing slash do not matter. */
  idBySource(url: string): Promise<number | undefined> {
    // No source holds a NUL (PostgreSQL text cannot: looking it up would fail).
    if (url.includes("\u0000")) return Promise.resolve(undefined);
    return queries.findAnimeIdBySource(this.sql, sourceUrlVariants(url));
  }

  private randomId(): number {
    return this.ids[Math.floor(Math.random() * this.ids.length)]!; // callers check the index is not empty
  }

  /** The first pick was not in the table: another import removed it and our index is behind. */
  private async retryRandom(): Promise<Body | undefined> {
    for (let attempt = 1; attempt < RANDOM_ATTEMPTS && this.ids.length; attempt++) {
      const body = await this.entryBody(this.randomId());
      if (body !== undefined) return body;
    }
    // Every pick missed: the index is older than the table (an import we have not heard of yet).
    if (this.ids.length) this.reloadInBackground("a random pick missed every time");
    return undefined;
  }
}

/** Search results by canonical request: the costly ones in their own share of the places (COSTLY_RESULT_SHARE). */
export class SearchResultCache {
  private readonly plain: LRUCache<string, RankedSearch>;
  private readonly costly: LRUCache<string, RankedSearch>;

  /** A result holds up to 4 bytes per entry: the budget grows with the catalogue (8 MB up to 128,000 entries). */
  constructor(entries: number) {
    const bytes = Math.min(RESULT_CACHE_BYTES.max, Math.max(RESULT_CACHE_BYTES.min, entries * RESULT_CACHE_BYTES.perEntry));
    const costlyPlaces = Math.round(RESULT_CACHE_ENTRIES * COSTLY_RESULT_SHARE);
    this.costly = resultLru(costlyPlaces, bytes * COSTLY_RESULT_SHARE);
    this.plain = resultLru(RESULT_CACHE_ENTRIES - costlyPlaces, bytes * (1 - COSTLY_RESULT_SHARE));
  }

  get(key: string): RankedSearch | undefined {
    return this.costly.get(key) ?? this.plain.get(key);
  }

  set(key: string, ranked: RankedSearch, tookMs: number): void {
    const [kept, other] = tookMs >= COSTLY_SEARCH_MS ? [this.costly, this.plain] : [this.plain, this.costly];
    other.delete(key);
    kept.set(key, ranked);
  }
}

function resultLru(places: number, bytes: number): LRUCache<string, RankedSearch> {
  return new LRUCache<string, RankedSearch>({
    max: places,
    maxSize: Math.floor(bytes),
    // Keys count too: filters can be long (up to 50 tags of 200 characters).
    sizeCalculation: (value, key) => value.positions.byteLength + key.length * 2 + ENTRY_OVERHEAD_BYTES,
  });
}

function completeList(positions: Int32Array): RankedSearch {
  return { count: positions.length, positions, complete: true };
}

function matchSetCache(entries: number): LRUCache<string, MatchSet> {
  const bytes = Math.min(MATCH_SET_CACHE_BYTES.max, Math.max(MATCH_SET_CACHE_BYTES.min, entries * MATCH_SET_CACHE_BYTES.perEntry));
  return new LRUCache<string, MatchSet>({
    max: MATCH_SET_CACHE_ENTRIES,
    maxSize: bytes,
    sizeCalculation: (set, key) =>
      (set.positions?.byteLength ?? 0) + (set.bits?.byteLength ?? 0) + (set.blockCounts?.byteLength ?? 0) + key.length * 2 + ENTRY_OVERHEAD_BYTES,
  });
}

function isCatalogueId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 1 && id <= MAX_ID;
}

/** The canonical form of a search (equal searches share cached results). */
export function searchKey(request: SearchRequest): string {
  return `${request.sort}\u0000${filtersKeyOf(request.filters)}\u0000${request.q ?? ""}`;
}

/** filtersKey, remembered per filters object (the routes memoise parsed queries: the same object comes back). */
const filtersKeys = new WeakMap<AnimeFilters, string>();
function filtersKeyOf(filters: AnimeFilters): string {
  let key = filtersKeys.get(filters);
  if (key === undefined) {
    key = filtersKey(filters);
    filtersKeys.set(filters, key);
  }
  return key;
}

/** The documents of JSON batches, parsed one batch at a time while the index consumes them. */
function* documentsOf(batches: string[]): Generator<SearchDocument> {
  for (let i = 0; i < batches.length; i++) {
    const triples = JSON.parse(batches[i]!) as [number, string, string[]][];
    batches[i] = ""; // parsed: its text can go
    for (const [id, title, synonyms] of triples) yield { id, title, synonyms };
  }
}

function emptyColumns() {
  return {
    ids: new Int32Array(0),
    types: new Uint8Array(0),
    statuses: new Uint8Array(0),
    seasons: new Uint8Array(0),
    years: new Int32Array(0),
    episodes: new Int32Array(0),
    scores: new Int32Array(0),
    titleRanks: new Int32Array(0),
    tags: new Map(),
    studios: new Map(),
  };
}

/** The URL as given and with the other scheme, each with and without a trailing slash. */
export function sourceUrlVariants(url: string): string[] {
  const rest = url.replace(/^https?:\/\//i, "").replace(/\/+$/, "");
  return ["https://", "http://"].flatMap((scheme) => [`${scheme}${rest}`, `${scheme}${rest}/`]);
}

/** A path's id, or undefined when it is not a positive 32-bit integer written plainly. */
export function parseAnimeId(text: string): number | undefined {
  if (!/^[1-9]\d{0,9}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ID ? id : undefined;
}
