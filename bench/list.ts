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
// The load comes from this process (closed loop, BENCH_LIST_CONCURRENCY clients, keep-alive), so the
// latencies include the client's own time: they can only be overstated.
import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Sql } from "postgres";
import { serializeMalExport } from "../src/list/mal-xml.ts";
import { upsertEntry } from "../src/list/queries.ts";
import {
  type Postgres,
  benchToken,
  catalogueFile,
  cleanup,
  connect,
  createDatabase,
  importCatalogue,
  insertTokens,
  log,
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
}

export interface ListTarget {
  target: string;
  measured: string;
  pass: boolean | undefined;
}

export interface ListBenchResult {
  settings: ListBenchSettings;
  setup: { entries: number; insert_seconds: number; import_catalogue_seconds: number };
  rows: ListRow[];
  raw_upsert: ListRow;
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
  // A chunk of users a statement; each list is a run of the catalogue's ids from a random start.
  const CHUNK = 250;
  for (let start = 0; start < ids.length; start += CHUNK) {
    const chunk = ids.slice(start, start + CHUNK).map((id, k) => ({ id, size: sizes[start + k]!, offset: Math.floor(random() * 1e9) }));
    await sql`
      with a as materialized (select array_agg(id order by id) as ids, count(*)::int as n from anime),
      u as (select * from json_to_recordset(${JSON.stringify(chunk)}::text::json) as u(id int, size int, "offset" int))
      insert into list_entries (user_id, anime_id, status, episodes_watched, score, rewatches, notes, created_at, updated_at)
      select u.id, a.ids[1 + (u."offset" + g) % a.n], (${statuses}::text[])[1 + (u.id + g) % 5], g % 13,
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

export async function runListBench(pg: Postgres, settings: ListBenchSettings, workDir: string): Promise<ListBenchResult> {
  log(`list: ${settings.users.toLocaleString("en-US")} users, lists of 0–${settings.maxEntries} (largest ${settings.largest}), catalogue ${settings.catalogue.toLocaleString("en-US")}`);
  const db = await createDatabase(pg, "list");
  const file = await catalogueFile(settings.catalogue);
  const imported = await importCatalogue(db.url, file.path);
  const sql = connect(db.url, 4);
  try {
    const { ids, entries, seconds } = await createListUsers(sql, settings);
    log(`list: ${entries.toLocaleString("en-US")} entries inserted with SQL in ${seconds.toFixed(1)} s`);
    const tokenOwners = ids.slice(0, Math.min(settings.tokenUsers, ids.length));
    // Importers: two more users, with empty lists.
    const importers = (
      await sql<{ id: number }[]>`
        insert into users (username, username_key, email, email_key, password_hash)
        select 'bench_import_' || i, 'bench_import_' || i, 'bench_import_' || i || '@example.com', 'bench_import_' || i || '@example.com', 'x'
        from generate_series(1, 2) i returning id`
    ).map((row) => row.id);
    await insertTokens(sql, tokenOwners, 1, tokenOwners.length);
    const tokenOf = (k: number) => benchToken(k + 1); // token i belongs to tokenOwners[i - 1]
    const importerTokens: string[] = [];
    for (const [k, id] of importers.entries()) {
      const i = tokenOwners.length + 1 + k;
      await insertTokens(sql, [id], i, i);
      importerTokens.push(benchToken(i));
    }

    const server = await startServer({ databaseUrl: db.url, logPath: join(workDir, "server-list.log") });
    await untilWarm(server.base);
    const rows: ListRow[] = [];
    try {
      const random = prng(56);
      const anyUser = () => Math.floor(random() * tokenOwners.length);
      const get = (path: string, k: number) => fetch(`${server.base}${path}`, { headers: { authorization: `Token ${tokenOf(k)}` } });
      const [{ min, max }] = await sql<[{ min: number; max: number }]>`select min(id)::int as min, max(id)::int as max from anime`;
      const warm = Math.min(2, settings.seconds);

      const scenarios: [string, () => Promise<boolean>][] = [
        ["GET /list (largest list, page of 100)", () => get("/list?page_size=100", 0).then(ok([200]))],
        ["GET /list (random users, page of 100)", () => get("/list?page_size=100", anyUser()).then(ok([200]))],
        ["GET /list?sort=title (largest list)", () => get("/list?sort=title&page_size=100", 0).then(ok([200]))],
        ["GET /list/random (largest list)", () => get("/list/random", 0).then(ok([200]))],
        ["GET /list/random?status=plan_to_watch&type=TV (largest)", () => get("/list/random?status=plan_to_watch&type=TV", 0).then(ok([200, 404]))],
        ["GET /list/random (random users)", () => get("/list/random", anyUser()).then(ok([200, 404]))],
      ];
      for (const [name, once] of scenarios) {
        await closedLoop(name, warm, settings.concurrency, once);
        rows.push(await closedLoop(name, settings.seconds, settings.concurrency, once));
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
      let rawRow: ListRow;
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
      const imports: ListBenchResult["imports"] = [];
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
      log(`list: imports ${JSON.stringify(imports.map((i) => i.seconds))} s`);

      const targets = listTargets(rows, rawRow, imports, settings);
      const result: ListBenchResult = {
        settings,
        setup: { entries, insert_seconds: Math.round(seconds * 10) / 10, import_catalogue_seconds: Math.round(imported.seconds * 10) / 10 },
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

function listTargets(rows: ListRow[], raw: ListRow, imports: ListBenchResult["imports"], settings: ListBenchSettings): ListTarget[] {
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
  const ratio = put ? put.requests_per_second / raw.requests_per_second : undefined;
  targets.push({
    target: "PUT /list/{id} ≥ 0.5 × the same upsert through postgres.js alone",
    measured: ratio === undefined ? "n/a" : `${(ratio * 100).toFixed(0)}% (${put!.requests_per_second} vs ${raw.requests_per_second}/s)`,
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
  const out = [
    `The list: ${settings.users.toLocaleString("en-US")} users, ${setup.entries.toLocaleString("en-US")} entries (lists of 0–${settings.maxEntries}, the largest ${settings.largest.toLocaleString("en-US")}; inserted with SQL in ${setup.insert_seconds} s), ` +
      `${settings.concurrency} clients in this process, ${settings.seconds} s a row:`,
    `  ${"scenario".padEnd(58)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(7)}`,
  ];
  for (const row of [...result.rows, result.raw_upsert]) {
    out.push(`  ${row.scenario.padEnd(58)} ${String(row.requests_per_second).padStart(8)} ${String(row.p50_ms).padStart(8)} ${String(row.p99_ms).padStart(8)} ${String(row.errors).padStart(7)}`);
  }
  for (const run of result.imports) out.push(`  POST /list/import (${run.entries} entries): ${run.seconds} s → ${JSON.stringify(run.report).slice(0, 120)}`);
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
