// The catalogue's read side. Every id sits in a compact in-memory index (an Int32Array), so a
// uniformly random entry costs one random number; serialized entries sit in an LRU, so hot ids need
// no database round trip. An import (by any process) replaces both without a restart.
import { LRUCache } from "lru-cache";
import type { Sql } from "postgres";
import type { Config } from "../config.ts";
import type { ChangeFeed } from "../db/changes.ts";
import * as queries from "./queries.ts";

export const TOPIC_CATALOGUE_IMPORTED = "catalogue";
const MAX_ID = 2_147_483_647;
const RANDOM_ATTEMPTS = 5;

type CatalogueConfig = Pick<Config, "animeCacheSize" | "cataloguePollMs">;

export class Catalogue {
  private ids: Int32Array = new Int32Array(0);
  private version = -1;
  private readonly bodies: LRUCache<number, string>;
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
    this.bodies = new LRUCache({ max: config.animeCacheSize });
    changes.on(TOPIC_CATALOGUE_IMPORTED, () => void this.reload().catch(() => {}));
    changes.onResync(() => void this.reload().catch(() => {}));
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
      this.bodies.clear();
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async reloadIfImported(): Promise<void> {
    if ((await queries.findCatalogueVersion(this.sql)) !== this.version) await this.reload();
  }

  /** The entry's JSON body; undefined for an id that is not a catalogue id. */
  async entryBody(id: number): Promise<string | undefined> {
    if (!Number.isSafeInteger(id) || id < 1 || id > MAX_ID) return undefined;
    const trusted = this.changes.trusted;
    const cached = trusted ? this.bodies.get(id) : undefined;
    if (cached !== undefined) return cached;
    const generation = this.generation;
    const body = await queries.findAnimeBodyById(this.sql, id);
    if (body !== undefined && trusted && generation === this.generation) this.bodies.set(id, body);
    return body;
  }

  /** A uniformly random entry's body; undefined when the catalogue is empty. */
  async randomBody(): Promise<string | undefined> {
    for (let attempt = 0; attempt < RANDOM_ATTEMPTS && this.ids.length; attempt++) {
      const body = await this.entryBody(this.ids[Math.floor(Math.random() * this.ids.length)]);
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
