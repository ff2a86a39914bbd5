// /health (the process is alive) and /ready (the database answers and its schema is current).
import { Elysia, t } from "elysia";
import type { Sql } from "postgres";
import type { TokenIndexState as IndexState } from "../auth/service.ts";
import { isSchemaCurrent } from "../db/migrate.ts";

const tags = ["health"];
const TokenIndexState = t.Object(
  {
    ready: t.Boolean({ description: "Whether every live token is in memory (until then, token checks query the database)" }),
    tokens: t.Integer({ description: "Tokens in the index" }),
    bytes: t.Integer({ description: "Memory the index takes" }),
  },
  { description: "The in-memory index of live tokens" },
);
const DetailsCacheState = t.Object(
  {
    entries: t.Integer({ description: "Details answers held (GET /anime/entry/{id}/details), until the next catalogue load" }),
    bytes: t.Integer({ description: "Memory they take, within DETAILS_CACHE_MB" }),
    hits: t.Integer({ description: "Details answered from memory since the server started" }),
    misses: t.Integer({ description: "Details read from the database since the server started" }),
  },
  { description: "The cache of details answers, filled by details requests" },
);
const AnimeCacheState = t.Object(
  {
    packed: t.Boolean({ description: "Whether the whole catalogue is in memory (packed after each load, in the background)" }),
    bytes: t.Integer({ description: "Memory the serialized entries take" }),
    search_ready: t.Boolean({ description: "Whether the search index of the current load is built (built after the packing; searches with q wait for it)" }),
    index_bytes: t.Integer({ description: "Memory the filter and search indexes take" }),
    details: DetailsCacheState,
  },
  { description: "The in-memory cache of serialized anime entries, and the catalogue's indexes" },
);
type DetailsCacheStatic = typeof DetailsCacheState.static;
const ListCacheState = t.Object(
  {
    lists: t.Integer({ description: "Lists held in memory" }),
    bytes: t.Integer({ description: "Memory they and their anime's bodies take, within LIST_CACHE_MB" }),
    hits: t.Integer({ description: "List answers (pages, random picks) that found their list in memory, current, since the server started" }),
    fills: t.Integer({
      description:
        "Whole lists read from the database since the server started, in the background (a list not held, or changed since it was read: that answer came from the database)",
    }),
    filling: t.Integer({ description: "Lists being read whole right now" }),
  },
  { description: "The lists kept in memory for GET /list, the public lists and GET /list/random (every answer re-reads the list's version)" },
);
const Alive = t.Object(
  { status: t.Literal("ok"), token_index: TokenIndexState, anime_cache: AnimeCacheState, list_cache: ListCacheState },
  {
    examples: [
      {
        status: "ok",
        token_index: { ready: true, tokens: 1250, bytes: 147456 },
        anime_cache: {
          packed: true,
          bytes: 13107200,
          search_ready: true,
          index_bytes: 10485760,
          details: { entries: 5000, bytes: 6815744, hits: 120000, misses: 5000 },
        },
        list_cache: { lists: 800, bytes: 52428800, hits: 90000, fills: 2500, filling: 1 },
      },
    ],
  },
);

export interface MemoryState {
  token_index: IndexState;
  anime_cache: { packed: boolean; bytes: number; search_ready: boolean; index_bytes: number; details: DetailsCacheStatic };
  list_cache: typeof ListCacheState.static;
}
const Ready = t.Object({ status: t.Literal("ready") }, { examples: [{ status: "ready" }] });
const NotReady = t.Object({ status: t.Literal("unavailable") }, { examples: [{ status: "unavailable" }] });

export function healthRoutes(sql: Sql, memoryState: () => MemoryState) {
  return new Elysia({ name: "health" })
    .get("/health", () => ({ status: "ok" as const, ...memoryState() }), {
      response: { 200: Alive },
      detail: { summary: "Liveness: the process answers", tags },
    })
    .get(
      "/ready",
      async ({ set }) => {
        const ready = await isSchemaCurrent(sql).catch(() => false);
        set.status = ready ? 200 : 503;
        return ready ? { status: "ready" as const } : { status: "unavailable" as const };
      },
      {
        response: { 200: Ready, 503: NotReady },
        detail: { summary: "Readiness: the database is reachable and migrated", tags },
      },
    );
}
