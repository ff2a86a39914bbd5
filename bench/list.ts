// The list's bench rows (issue 12), called from bench/run.ts (or run alone: `bun bench/list.ts`).
//
// A database of BENCH_LIST_USERS users (20,000) whose lists hold 0–BENCH_LIST_MAX entries (2,000; most
// lists are short, as real ones are), the first user's BENCH_LIST_LARGEST (10,000), all inserted with
// SQL. Then, against the real server:
//  - GET /list (a page of 100) and GET /list/random, for the largest list and for users drawn at random:
//    p99 < 20 ms;
//  - PUT /list/{id} (creates and replaces) against the same single-row upsert run through postgres.js
//    alone (the server's own statement, src/list/queries.ts upsertEntry) at the same concurrency:
//    ≥ 0.5 of its rate;
//  - POST /list/import of a 5,000-entry MyAnimeList export into an empty list: < 2 s.
// The reads' load comes from wrk, a process of its own (BENCH_LIST_CONCURRENCY connections, each
// request with the token of the list it reads): the figures are the server's, not a client's. PUT and
// its raw comparison run as closed loops of BENCH_LIST_CONCURRENCY clients in this process (the same
// clients for both, so the ratio is fair). BENCH_LIST_ROWS picks rows (page, title, random, put,
// import); BENCH_LIST_TEMPLATE=1 keeps the built data as a template database for the next run.
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Sql } from "postgres";
import { serializeMalExport } from "../src/list/mal-xml.ts";
import { upsertEntry } from "../src/list/queries.ts";
import {
  type Postgres,
  ROOT,
  type WrkResult,
  benchToken,
  catalogueFile,
  cleanup,
  connect,
  createDatabase,
  errorCount,
  importCatalogue,
  insertTokens,
  log,
  runWrk,
  startPostgres,
  startServer,
  untilWarm,
} from "./lib.ts";

const env = process.env;
const number = (name: string, fallback: number) => Number(env[name] ?? fallback);

export interface ListBenchSettings {
  users: number;
  maxEntries: number;
  largest: number;
  catalogue: number;
  seconds: number;
  concurrency: number;
  importEntries: number;
  /** Users given a token (the largest list's owner among them). */
  tokenUsers: number;
}

export function listSettingsFromEnv(): ListBenchSettings {
  return {
    users: number("BENCH_LIST_USERS", 20_000),
    maxEntries: number("BENCH_LIST_MAX", 2_000),
    largest: number("BENCH_LIST_LARGEST", 10_000),
    catalogue: number("BENCH_LIST_CATALOGUE", 40_000),
    seconds: number("BENCH_LIST_SECONDS", 10),
    concurrency: number("BENCH_LIST_CONCURRENCY", 16),
    importEntries: number("BENCH_LIST_IMPORT", 5_000),
    tokenUsers: number("BENCH_LIST_TOKEN_USERS", 1_000),
  };
}

export interface ListRow {
  scenario: string;
  requests: number;
  requests_per_second: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  /** Rows measured with wrk: the server's and PostgreSQL's CPU per request, and the rest of the machine's load. */
  server_cpu_us_per_request?: number;
  postgres_cpu_us_per_request?: number;
  other_cores?: number;
  /** The list cache's answers from memory and whole-list reads during the row (warm-up and retries included), from /health. */
  cache_hits?: number;
  cache_fills?: number;
}

async function listCacheState(base: string): Promise<{ hits: number; fills: number }> {
  const health = (await (await fetch(`${base}/health`)).json()) as { list_cache: { hits: number; fills: number } };
  return health.list_cache;
}

/** A read row measured by wrk. */
function wrkRow(scenario: string, r: WrkResult): ListRow {
  const perRequest = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, r.requests));
  const seconds = r.duration_us / 1e6;
  return {
    scenario,
    requests: r.requests,
    requests_per_second: Math.round(r.requests / seconds),
    p50_ms: Math.round(r.latency_us.p50 / 10) / 100,
    p99_ms: Math.round(r.latency_us.p99 / 10) / 100,
    errors: errorCount(r),
    server_cpu_us_per_request: perRequest(r.server_cpu_seconds),
    postgres_cpu_us_per_request: perRequest(r.cpu.postgres * seconds),
    other_cores: r.cpu.foreign,
  };
}

export interface ListTarget {
  target: string;
  measured: string;
  pass: boolean | undefined;
}

export interface ListBenchResult {
  settings: ListBenchSettings;
  setup: { entries: number; insert_seconds: number; import_catalogue_seconds: number; reused_template: boolean };
  rows: ListRow[];
  raw_upsert: ListRow | undefined;
  imports: { entries: number; seconds: number; report: unknown }[];
  targets: ListTarget[];
  report: string;
}

/** Deterministic pseudo-random numbers (mulberry32), so every run builds the same lists. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** List sizes: the first user holds `largest`; the rest 0–max, most lists short (max × u⁶: mean ≈ max/7). */
function listSizes(settings: ListBenchSettings): number[] {
  const random = prng(12);
  return Array.from({ length: settings.users }, (_, i) => (i === 0 ? settings.largest : Math.floor(settings.maxEntries * random() ** 6)));
}

async function createListUsers(sql: Sql, settings: ListBenchSettings): Promise<{ ids: number[]; entries: number; seconds: number }> {
  const started = performance.now();
  const sizes = listSizes(settings);
  const users = await sql<{ id: number }[]>`
    insert into users (username, username_key, email, email_key, password_hash)
    select 'bench_list_' || i, 'bench_list_' || i, 'bench_list_' || i || '@example.com', 'bench_list_' || i || '@example.com', 'x'
    from generate_series(1, ${settings.users}) i
    order by i
    returning id`;
  const ids = users.map((u) => u.id);
  const random = prng(34);
  const statuses = ["watching", "completed", "on_hold", "dropped", "plan_to_watch"];
  // A chunk of users a statement; each list is a run of the catalogue's ids from a random start. The
  // anime's title is given (nothing changes the catalogue meanwhile), which spares the trigger of
  // migration 008 a lookup per row.
  const CHUNK = 250;
  for (let start = 0; start < ids.length; start += CHUNK) {
    const chunk = ids.slice(start, start + CHUNK).map((id, k) => ({ id, size: sizes[start + k]!, offset: Math.floor(random() * 1e9) }));
    await sql`
      with a as materialized (select array_agg(id order by id) as ids, array_agg(title order by id) as titles, count(*)::int as n from anime),
      u as (select * from json_to_recordset(${JSON.stringify(chunk)}::text::json) as u(id int, size int, "offset" int))
      insert into list_entries (user_id, anime_id, title, status, episodes_watched, score, rewatches, notes, created_at, updated_at)
      select u.id, a.ids[1 + (u."offset" + g) % a.n], a.titles[1 + (u."offset" + g) % a.n], (${statuses}::text[])[1 + (u.id + g) % 5], g % 13,
        case when g % 3 = 0 then null else 1 + (u.id + g) % 10 end, 0, '',
        now() - make_interval(secs => g * 60), now() - make_interval(secs => ((u.id * 7919 + g * 104729) % 1000000))
      from a, u, generate_series(0, least(u.size, a.n) - 1) g`;
  }
  await sql`analyze list_entries`;
  await sql`analyze users`;
  // An aggregate without GROUP BY: always exactly one row.
  const [{ count }] = await sql<[{ count: number }]>`select count(*)::int as count from list_entries`;
  return { ids, entries: count, seconds: (performance.now() - started) / 1000 };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

/** `concurrency` clients calling `once` back to back for `seconds`; each call returns whether it succeeded. */
async function closedLoop(scenario: string, seconds: number, concurrency: number, once: (client: number) => Promise<boolean>): Promise<ListRow> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const ok = await once(client).catch(() => false);
        latencies.push(performance.now() - t);
        if (!ok) errors++;
      }
    }),
  );
  const elapsedSeconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    scenario,
    requests: latencies.length,
    requests_per_second: Math.round(latencies.length / elapsedSeconds),
    p50_ms: round(percentile(latencies, 0.5)),
    p99_ms: round(percentile(latencies, 0.99)),
    errors,
  };
}

const ok = (expected: number[]) => async (response: Response) => {
  await response.arrayBuffer();
  return expected.includes(response.status);
};

/** The rows to run (BENCH_LIST_ROWS, comma-separated: page, title, random, put, import; default all). */
function wantedRows(): Set<string> {
  const all = ["page", "title", "random", "put", "import"];
  return new Set(env.BENCH_LIST_ROWS ? env.BENCH_LIST_ROWS.split(",").map((row) => row.trim()) : all);
}

interface ListData {
  db: { url: string; name: string; drop(): Promise<void> };
  /** Users bench_list_1…N, in that order (the first holds the largest list). */
  ids: number[];
  importerTokens: string[];
  entries: number;
  insertSeconds: number;
  importCatalogueSeconds: number;
  /** Cloned from a template database kept from an earlier run (BENCH_LIST_TEMPLATE=1). */
  reused: boolean;
}

/**
 * The template's name: everything that shapes the data (settings, migrations, the generator's
 * catalogue, the code that inserts the lists), so that a change to any of them builds a new one.
 */
export function templateName(settings: ListBenchSettings, catalogue: string): string {
  const hash = createHash("sha256");
  const shaping = [settings.users, settings.maxEntries, settings.largest, settings.catalogue, settings.tokenUsers];
  hash.update(JSON.stringify(shaping)).update(catalogue).update(createListUsers.toString()).update(createListData.toString());
  for (const file of readdirSync(join(ROOT, "sql")).sort()) hash.update(file).update(readFileSync(join(ROOT, "sql", file)));
  return `lumotist_bench_list_tpl_${hash.digest("hex").slice(0, 12)}`;
}

async function adminQuery(pg: Postgres, run: (admin: Sql) => Promise<unknown>) {
  const admin = connect(pg.adminUrl, 1);
  try {
    return await run(admin);
  } finally {
    await admin.end();
  }
}

/** Catalogue, users with their lists, tokens and two empty importers, written into `db`. */
async function createListData(url: string, file: string, settings: ListBenchSettings) {
  const imported = await importCatalogue(url, file);
  const sql = connect(url, 4);
  try {
    const { ids, entries, seconds } = await createListUsers(sql, settings);
    log(`list: ${entries.toLocaleString("en-US")} entries inserted with SQL in ${seconds.toFixed(1)} s`);
    const tokenOwners = ids.slice(0, Math.min(settings.tokenUsers, ids.length));
    // Importers: two more users, with empty lists. Token i belongs to tokenOwners[i - 1], then the importers'.
    const importers = (
      await sql<{ id: number }[]>`
        insert into users (username, username_key, email, email_key, password_hash)
        select 'bench_import_' || i, 'bench_import_' || i, 'bench_import_' || i || '@example.com', 'bench_import_' || i || '@example.com', 'x'
        from generate_series(1, 2) i returning id`
    ).map((row) => row.id);
    await insertTokens(sql, tokenOwners, 1, tokenOwners.length);
    for (const [k, id] of importers.entries()) await insertTokens(sql, [id], tokenOwners.length + 1 + k, tokenOwners.length + 1 + k);
    await sql`vacuum analyze`;
    return { insertSeconds: seconds, importCatalogueSeconds: imported.seconds };
  } finally {
    await sql.end();
  }
}

/**
 * The list's database. With BENCH_LIST_TEMPLATE=1 (useful with a DATABASE_URL that outlives the run:
 * the throwaway cluster does not), the first run keeps a copy as a template database and later runs
 * clone it in seconds instead of building 5.6 M entries again (~2 minutes).
 */
async function prepareListData(pg: Postgres, settings: ListBenchSettings): Promise<ListData> {
  const file = await catalogueFile(settings.catalogue);
  const template = env.BENCH_LIST_TEMPLATE === "1" ? templateName(settings, basename(file.path)) : undefined;
  const exists = template
    ? ((await adminQuery(pg, (admin) => admin`select 1 from pg_database where datname = ${template}`)) as unknown[]).length > 0
    : false;
  let db: ListData["db"];
  let timings = { insertSeconds: 0, importCatalogueSeconds: 0 };
  if (template && exists) {
    db = await createDatabase(pg, "list", template);
    log(`list: cloned the template database ${template}`);
  } else {
    db = await createDatabase(pg, "list");
    timings = await createListData(db.url, file.path, settings);
    if (template) {
      await adminQuery(pg, (admin) => admin.unsafe(`create database ${template} template ${db.name}`));
      log(`list: kept the data as the template database ${template} (BENCH_LIST_TEMPLATE=1)`);
    }
  }
  const sql = connect(db.url, 1);
  try {
    const users = await sql<{ id: number }[]>`
      select id from users where username like 'bench\\_list\\_%' order by substring(username from 12)::int`;
    const [{ count }] = await sql<[{ count: number }]>`select count(*)::int as count from list_entries`;
    const tokenUsers = Math.min(settings.tokenUsers, users.length);
    const importerTokens = [1, 2].map((k) => benchToken(tokenUsers + k));
    return { db, ids: users.map((u) => u.id), importerTokens, entries: count, ...timings, reused: Boolean(template && exists) };
  } finally {
    await sql.end();
  }
}

export async function runListBench(pg: Postgres, settings: ListBenchSettings, workDir: string): Promise<ListBenchResult> {
  log(`list: ${settings.users.toLocaleString("en-US")} users, lists of 0–${settings.maxEntries} (largest ${settings.largest}), catalogue ${settings.catalogue.toLocaleString("en-US")}`);
  const rowsWanted = wantedRows();
  const data = await prepareListData(pg, settings);
  const { db, ids, importerTokens, entries } = data;
  const sql = connect(db.url, 4);
  try {
    const tokenOwners = ids.slice(0, Math.min(settings.tokenUsers, ids.length));
    const tokenOf = (k: number) => benchToken(k + 1); // token i belongs to tokenOwners[i - 1]

    const server = await startServer({ databaseUrl: db.url, logPath: join(workDir, "server-list.log") });
    await untilWarm(server.base);
    const rows: ListRow[] = [];
    let rawRow: ListRow | undefined;
    const imports: ListBenchResult["imports"] = [];
    try {
      const random = prng(56);
      const [{ min, max }] = await sql<[{ min: number; max: number }]>`select min(id)::int as min, max(id)::int as max from anime`;
      const warm = Math.min(2, settings.seconds);

      // The reads, from wrk (a process of its own, as the other rows): token 1 is the largest list's
      // owner; "random users" draws each request's token from the token owners.
      const largest = { min: 1, max: 1 };
      const anyUser = { min: 1, max: tokenOwners.length };
      const reads: [string, string, string, { min: number; max: number }, number[]][] = [
        ["page", "GET /list (largest list, page of 100)", "/list?page_size=100", largest, [200]],
        ["page", "GET /list (random users, page of 100)", "/list?page_size=100", anyUser, [200]],
        ["title", "GET /list?sort=title (largest list)", "/list?sort=title&page_size=100", largest, [200]],
        ["random", "GET /list/random (largest list)", "/list/random", largest, [200]],
        ["random", "GET /list/random?status=plan_to_watch&type=TV (largest)", "/list/random?status=plan_to_watch&type=TV", largest, [200, 404]],
        ["random", "GET /list/random (random users)", "/list/random", anyUser, [200, 404]],
      ];
      const wrkSettings = { threads: 2, connections: settings.concurrency, warmupSeconds: warm, seconds: settings.seconds, timeoutSeconds: 10 };
      for (const [key, name, path, tokens, statuses] of reads) {
        if (!rowsWanted.has(key)) continue;
        const run = {
          mode: "list" as const,
          base: server.base,
          serverPid: server.pid,
          env: { BENCH_PATH: path, BENCH_TOKEN_MIN: String(tokens.min), BENCH_TOKEN_MAX: String(tokens.max), BENCH_OK_STATUSES: statuses.join(",") },
        };
        const before = await listCacheState(server.base);
        const { measured } = await runWrk(run, wrkSettings, { retries: 1, maxForeignCores: 0.5 });
        const after = await listCacheState(server.base);
        rows.push({ ...wrkRow(name, measured), cache_hits: after.hits - before.hits, cache_fills: after.fills - before.fills });
        log(`list: ${name}: ${JSON.stringify(rows.at(-1))}`);
      }

      // PUT: the same (user, anime, values) stream through the server and through postgres.js alone.
      const writers = tokenOwners.slice(1); // not the largest list: it is full
      const putValues = (n: number) => ({ status: "watching" as const, episodes_watched: 0, score: 1 + (n % 10), rewatches: 0, notes: "" });
      const pick = () => ({ k: 1 + Math.floor(random() * writers.length), anime: min + Math.floor(random() * (max - min + 1)) });
      const put = async () => {
        const { k, anime } = pick();
        const response = await fetch(`${server.base}/list/${anime}`, {
          method: "PUT",
          headers: { authorization: `Token ${tokenOf(k)}`, "content-type": "application/json" },
          body: JSON.stringify(putValues(anime)),
        });
        return ok([200, 201, 404])(response);
      };
      if (rowsWanted.has("put")) {
        const poolMax = Number(env.DB_POOL_MAX ?? 10);
        const raw = connect(db.url, poolMax);
        const rawUpsert = async () => {
          const { k, anime } = pick();
          const v = putValues(anime);
          await upsertEntry(raw, tokenOwners[k]!, anime, {
            status: v.status,
            episodesWatched: v.episodes_watched,
            score: v.score,
            rewatches: 0,
            private: false,
            startedOn: null,
            finishedOn: null,
            notes: "",
          });
          return true;
        };
        try {
          // Interleaved, so that both see the same machine: raw, server, raw, server; the best of each counts.
          const rawRuns: ListRow[] = [];
          const putRuns: ListRow[] = [];
          await closedLoop("warm-up", warm, settings.concurrency, rawUpsert);
          await closedLoop("warm-up", warm, settings.concurrency, put);
          for (let round = 0; round < 2; round++) {
            rawRuns.push(await closedLoop("upsert through postgres.js alone", settings.seconds / 2, settings.concurrency, rawUpsert));
            putRuns.push(await closedLoop("PUT /list/{id}", settings.seconds / 2, settings.concurrency, put));
          }
          const best = (runs: ListRow[]) => runs.reduce((a, b) => (b.requests_per_second > a.requests_per_second ? b : a));
          rawRow = best(rawRuns);
          rows.push(best(putRuns));
          log(`list: raw upsert ${JSON.stringify(rawRow)}; PUT ${JSON.stringify(rows.at(-1))}`);
        } finally {
          await raw.end();
        }
      }

      if (rowsWanted.has("import")) {
        // Import: a MyAnimeList export of `importEntries` anime the catalogue has, into an empty list.
        const exportable = await sql<{ mal_id: number; title: string; anime_type: string; num_episodes: number }[]>`
          select min(substring(s.url from 'anime/([0-9]+)$')::int) as mal_id, a.title, a.anime_type, a.num_episodes
          from anime a join anime_sources s on s.anime_id = a.id and s.url like 'https://myanimelist.net/anime/%'
          group by a.id order by a.id limit ${settings.importEntries}`;
        const xml = serializeMalExport(
          { id: 1, username: "bench" },
          exportable.map((a, i) => ({
            malId: a.mal_id,
            title: a.title,
            type: a.anime_type as never,
            numEpisodes: a.num_episodes,
            status: (["watching", "completed", "on_hold", "dropped", "plan_to_watch"] as const)[i % 5]!,
            episodesWatched: Math.min(i % 13, a.num_episodes),
            score: i % 3 ? 1 + (i % 10) : null,
            rewatches: i % 4,
            startedOn: i % 2 ? "2020-01-0" + (1 + (i % 9)) : null,
            finishedOn: null,
            notes: i % 5 ? "" : `note ${i}`,
          })),
          0,
        );
        for (const token of importerTokens) {
          for (const mode of ["merge", "merge"]) {
            const started = performance.now();
            const response = await fetch(`${server.base}/list/import?mode=${mode}`, {
              method: "POST",
              headers: { authorization: `Token ${token}`, "content-type": "application/xml" },
              body: xml,
            });
            const report = await response.json();
            imports.push({ entries: exportable.length, seconds: Math.round((performance.now() - started) / 10) / 100, report });
            if (response.status !== 200) throw new Error(`import answered ${response.status}: ${JSON.stringify(report)}`);
          }
        }
      }
      log(`list: imports ${JSON.stringify(imports.map((i) => i.seconds))} s`);

      const targets = listTargets(rows, rawRow, imports, settings);
      const result: ListBenchResult = {
        settings,
        setup: {
          entries,
          insert_seconds: Math.round(data.insertSeconds * 10) / 10,
          import_catalogue_seconds: Math.round(data.importCatalogueSeconds * 10) / 10,
          reused_template: data.reused,
        },
        rows,
        raw_upsert: rawRow,
        imports,
        targets,
        report: "",
      };
      result.report = listReport(result);
      return result;
    } finally {
      await server.stop();
    }
  } finally {
    await sql.end();
    await db.drop();
  }
}

function listTargets(rows: ListRow[], raw: ListRow | undefined, imports: ListBenchResult["imports"], settings: ListBenchSettings): ListTarget[] {
  const worst = (prefix: string) => rows.filter((r) => r.scenario.startsWith(prefix)).reduce<ListRow | undefined>((w, r) => (!w || r.p99_ms > w.p99_ms ? r : w), undefined);
  const targets: ListTarget[] = [];
  for (const [prefix, label] of [
    ["GET /list ", "GET /list page of 100"],
    ["GET /list?", "GET /list page of 100 (sort=title)"],
    ["GET /list/random", "GET /list/random"],
  ] as const) {
    const row = worst(prefix);
    targets.push({ target: `${label} p99 < 20 ms (lists up to ${settings.largest.toLocaleString("en-US")})`, measured: row ? `worst ${row.p99_ms} ms (${row.scenario})` : "n/a", pass: row ? row.p99_ms < 20 && row.errors === 0 : undefined });
  }
  const put = rows.find((r) => r.scenario === "PUT /list/{id}");
  const ratio = put && raw ? put.requests_per_second / raw.requests_per_second : undefined;
  targets.push({
    target: "PUT /list/{id} ≥ 0.5 × the same upsert through postgres.js alone",
    measured: ratio === undefined ? "n/a" : `${(ratio * 100).toFixed(0)}% (${put!.requests_per_second} vs ${raw!.requests_per_second}/s)`,
    pass: ratio === undefined ? undefined : ratio >= 0.5 && put!.errors === 0,
  });
  const slowest = imports.reduce((a, b) => Math.max(a, b.seconds), 0);
  targets.push({
    target: `import of a ${settings.importEntries.toLocaleString("en-US")}-entry export < 2 s`,
    measured: imports.length ? `slowest ${slowest} s of ${imports.length} (${imports[0]!.entries} entries each)` : "n/a",
    pass: imports.length ? slowest < 2 : undefined,
  });
  return targets;
}

export function listReport(result: ListBenchResult): string {
  const { settings, setup } = result;
  const built = setup.reused_template ? "cloned from a kept template database" : `inserted with SQL in ${setup.insert_seconds} s`;
  const cell = (value: number | undefined, width: number) => String(value ?? "").padStart(width);
  const out = [
    `The list: ${settings.users.toLocaleString("en-US")} users, ${setup.entries.toLocaleString("en-US")} entries (lists of 0–${settings.maxEntries}, the largest ${settings.largest.toLocaleString("en-US")}; ${built}), ` +
      `${settings.concurrency} connections, ${settings.seconds} s a row; reads from wrk (own process), PUT from ${settings.concurrency} clients in this process:`,
    `  ${"scenario".padEnd(58)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(7)} ${"µs cpu/req".padStart(10)} ${"pg µs/req".padStart(9)} ${"other".padStart(6)} ${"cache hits/fills".padStart(17)}`,
  ];
  for (const row of [...result.rows, ...(result.raw_upsert ? [result.raw_upsert] : [])]) {
    out.push(
      `  ${row.scenario.padEnd(58)} ${cell(row.requests_per_second, 8)} ${cell(row.p50_ms, 8)} ${cell(row.p99_ms, 8)} ${cell(row.errors, 7)} ` +
        `${cell(row.server_cpu_us_per_request, 10)} ${cell(row.postgres_cpu_us_per_request, 9)} ${cell(row.other_cores, 6)} ` +
        `${(row.cache_hits === undefined ? "" : `${row.cache_hits}/${row.cache_fills}`).padStart(17)}`,
    );
  }
  for (const run of result.imports) out.push(`  POST /list/import (${run.entries} entries): ${run.seconds} s → ${JSON.stringify(run.report).slice(0, 120)}`);
  out.push(
    "  µs cpu/req: the server's CPU per request; pg µs/req: all of PostgreSQL's; other: cores the rest of the machine used meanwhile; " +
      "cache hits/fills: answers the list cache gave from memory, and whole lists it read (warm-up included).",
  );
  return out.join("\n");
}

if (import.meta.main) {
  const workDir = mkdtempSync(join(tmpdir(), "lumotist-bench-list-"));
  try {
    const pg = await startPostgres();
    const result = await runListBench(pg, listSettingsFromEnv(), workDir);
    console.log(result.report);
    console.log("Targets:");
    for (const t of result.targets) console.log(`  ${t.pass === undefined ? "N/A " : t.pass ? "PASS" : "FAIL"}  ${t.target}: ${t.measured}`);
  } finally {
    await cleanup();
    rmSync(workDir, { recursive: true, force: true });
  }
}
