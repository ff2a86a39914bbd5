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
import { PackedBodies } from "./packed-bodies.ts";
import * as queries from "./queries.ts";

export const TOPIC_CATALOGUE_IMPORTED = "catalogue";
const MAX_ID = 2_147_483_647;
const RANDOM_ATTEMPTS = 5;
const WARM_BATCH = 5_000;
/** Per cached entry, beyond its body's characters: the key, the LRU's slots, the string header. */
const ENTRY_OVERHEAD_BYTES = 64;

/** A serialized entry: a string from the database or the LRU, UTF-8 bytes from the packed buffer. */
export type Body = string | Uint8Array;

type CatalogueConfig = Pick<Config, "animeCacheMB" | "cataloguePollMs">;

export class Catalogue {
  private ids: Int32Array = new Int32Array(0);
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
    /** The embedded database cannot carry LISTEN for other processes: poll for their imports. */
    private readonly pollForImports = false,
  ) {
    this.bodies = new LRUCache({
      maxSize: config.animeCacheMB * 1024 * 1024,
      sizeCalculation: (body) => body.length + ENTRY_OVERHEAD_BYTES,
    });
    changes.on(TOPIC_CATALOGUE_IMPORTED, isAnything, () => void this.reload().catch(() => {}));
    changes.onResync(() => void this.reload().catch(() => {}));
  }

  /** Whether the whole catalogue is in the packed buffer (else hot entries are in the LRU), and the memory it takes. */
  cacheState(): { packed: boolean; bytes: number } {
    return { packed: this.packed !== undefined, bytes: this.packed?.byteLength ?? this.bodies.calculatedSize };
  }

  get size(): number {
    return this.ids.length;
  }

  /** Loads the id index; with `pollForImports`, starts watching for imports. */
  async load(): Promise<void> {
    await this.reload();
    if (this.pollForImports && !this.pollTimer) {
      this.pollTimer = setInterval(() => void this.reloadIfImported().catch(() => {}), this.config.cataloguePollMs);
      this.pollTimer.unref();
    }
  }

  stop(): void {
    clearInterval(this.pollTimer);
  }

  /**
   * Reloads the index and drops cached bodies. A call while a reload runs gets one more reload after
   * it (shared by every such call): the running one may have read the table before the change that
   * asked for this one.
   */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain ??= this.reloading
        .catch(() => {})
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
    })().finally(() => (this.reloading = undefined));
    this.reloading.then(() => this.warm(this.generation)).catch(() => {});
    return this.reloading;
  }

  /** Reads every body in id order, in short queries (the embedded database has one connection). */
  private async *bodiesInIdOrder(generation: number): AsyncGenerator<{ id: number; body: string }[]> {
    for (let after = 0; generation === this.generation && this.changes.trusted; ) {
      const rows = await queries.findAnimeBodiesAfter(this.sql, after, WARM_BATCH);
      if (generation !== this.generation || !this.changes.trusted) return;
      yield rows;
      if (rows.length < WARM_BATCH) return;
      after = rows[rows.length - 1].id;
    }
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
    // The packed buffer holds the same ids in the same order, unless the catalogue changed while it
    // was built: then at(position) holds another id, and the lookup by id below applies.
    const packed = this.changes.trusted ? this.packed?.at(position, this.ids[position]) : undefined;
    if (packed) return packed;
    const body = this.entryBody(this.ids[position]);
    return body instanceof Promise ? body.then((found) => found ?? this.retryRandom()) : (body ?? this.retryRandom());
  }

  private randomId(): number {
    return this.ids[Math.floor(Math.random() * this.ids.length)];
  }

  /** The first pick was not in the table: another import removed it and our index is behind. */
  private async retryRandom(): Promise<Body | undefined> {
    for (let attempt = 1; attempt < RANDOM_ATTEMPTS && this.ids.length; attempt++) {
      const body = await this.entryBody(this.randomId());
      if (body !== undefined) return body;
    }
    // Every pick missed: the index is older than the table (an import we have not heard of yet).
    if (this.ids.length) void this.reload().catch(() => {});
    return undefined;
  }
}

/** A path's id, or undefined when it is not a positive 32-bit integer written plainly. */
export function parseAnimeId(text: string): number | undefined {
  if (!/^[1-9]\d{0,9}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ID ? id : undefined;
}
