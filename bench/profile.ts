// `bun bench/profile.ts`: where the server's time goes, for the hot endpoints of `bun run bench`.
//  1. CPU profiles (bun --cpu-prof) of the server under wrk for entry and random (40,000 entries),
//     profile (10,000 tokens) and entry at 400,000 entries, summarized by component
//     (bench/cpuprofile.ts); the raw .cpuprofile files are kept in bench/results/profiles/<time>/.
//  2. EXPLAIN (ANALYZE, BUFFERS) of the hot SQL, and how many lookups per second postgres.js gets
//     through the server's pool (DB_POOL_MAX, default 10) at the same concurrency as wrk, without HTTP.
//  3. The anime body cache against the catalogue's size: entry at 40,000 and 400,000 entries with a
//     small cache (ANIME_CACHE_MB=8, about 20,000 entries; ANIME_CACHE_SIZE=20000 for servers from
//     before ANIME_CACHE_MB) and with the default: req/s, p99, the share of requests that reached
//     PostgreSQL, and the server's memory.
// Same environment knobs as bench/run.ts (DATABASE_URL, BENCH_DURATION, BENCH_WARMUP…), plus
// BENCH_PROFILE_SIZES (default 40000,400000). Takes about 6 minutes on 2 cores.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Sql } from "postgres";
import { formatSummary, summarize } from "./cpuprofile.ts";
import {
  type WrkMode,
  type WrkSettings,
  RESULTS_DIR,
  benchToken,
  catalogueFile,
  cleanup,
  connect,
  createDatabase,
  createUsers,
  errorCount,
  idRange,
  importCatalogue,
  insertTokens,
  log,
  requestsPerSecond,
  requireWrk,
  runWrk,
  startPostgres,
  startServer,
  waitIdle,
  wrkSettingsFromEnv,
} from "./lib.ts";

const env = process.env;
const settings: WrkSettings = wrkSettingsFromEnv();
const [REFERENCE, LARGE] = (() => {
  const [reference, large] = (env.BENCH_PROFILE_SIZES ?? "40000,400000").split(",").map(Number);
  if (reference === undefined || large === undefined) throw new Error(`BENCH_PROFILE_SIZES: two sizes (REFERENCE,LARGE), not "${env.BENCH_PROFILE_SIZES}"`);
  return [reference, large];
})();
const TOKENS = 10_000;

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const outDir = join(RESULTS_DIR, "profiles", stamp);
const report: string[] = [];
const say = (text: string) => {
  report.push(text);
  console.log(text);
};

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  rssMiB: number;
  serverCores: number;
  postgresCores: number;
}

async function animeScans(sql: Sql): Promise<number> {
  const [row] = await sql<[{ n: string }?]>`select (coalesce(idx_scan, 0) + coalesce(seq_scan, 0))::text as n from pg_stat_user_tables where relname = 'anime'`;
  if (!row) throw new Error("pg_stat_user_tables has no row for the anime table");
  return Number(row.n);
}

/** Runs wrk against a fresh server process (optionally profiled) and returns the figures. */
async function scenario(
  name: string,
  databaseUrl: string,
  mode: WrkMode,
  wrkEnv: Record<string, string>,
  options: { profile?: boolean; serverEnv?: Record<string, string>; prepare?: (base: string) => Promise<void> } = {},
): Promise<Measured> {
  const profileDir = join(outDir, name);
  if (options.profile) mkdirSync(profileDir, { recursive: true });
  const server = await startServer({
    databaseUrl,
    env: options.serverEnv,
    bunArgs: options.profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [],
    logPath: join(workDir, `${name}.log`),
  });
  try {
    await options.prepare?.(server.base);
    await waitIdle(server.pid);
    server.rss.reset();
    const result = await runWrk({ mode, base: server.base, env: wrkEnv, serverPid: server.pid }, settings);
    const m = result.measured;
    const measured: Measured = {
      rps: Math.round(requestsPerSecond(m)),
      p50: Math.round(m.latency_us.p50 / 10) / 100,
      p99: Math.round(m.latency_us.p99 / 10) / 100,
      errors: errorCount(m),
      rssMiB: Math.round(server.rss.peak() / 102.4) / 10,
      serverCores: m.cpu.server,
      postgresCores: m.cpu.postgres,
    };
    const end = performance.now();
    const exit = await server.stop();
    const stoppedAfter = (performance.now() - end) / 1000;
    if (options.profile) {
      const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) log(`no .cpuprofile written for ${name} (exit ${exit})`);
      else {
        const profile = await Bun.file(join(profileDir, file)).json();
        // The measured run only: its duration plus the shutdown, counted back from the profile's end.
        const summary = summarize(profile, m.duration_us / 1e6 + stoppedAfter, 30);
        writeFileSync(join(profileDir, "summary.json"), JSON.stringify(summary, null, 2));
        say(formatSummary(`${name} (${measured.rps} req/s, p99 ${measured.p99} ms; server ${measured.serverCores} cores, PostgreSQL ${measured.postgresCores})`, summary));
        say("");
      }
    }
    return measured;
  } finally {
    await server.stop();
  }
}

/**
 * An entry run, with the share of the measured requests that reached PostgreSQL (index scans of
 * anime, from pg_stat_user_tables). Backends publish their statistics within 10 s of going idle
 * (PostgreSQL 15), and on exit: so the reading after the warm-up waits 11 s, and the one after the
 * measured run is taken once the server (and its connections) are gone.
 */
async function entryWithLookups(name: string, url: string, sql: Sql, wrkEnv: Record<string, string>, serverEnv: Record<string, string>) {
  const server = await startServer({ databaseUrl: url, env: serverEnv, logPath: join(workDir, `${name}.log`) });
  try {
    await waitIdle(server.pid);
    let before = 0;
    const result = await runWrk({ mode: "entry", base: server.base, env: wrkEnv, serverPid: server.pid }, settings, {
      beforeMeasure: async () => {
        await Bun.sleep(11_000);
        before = await animeScans(sql);
        server.rss.reset();
      },
    });
    const rss = Math.round(server.rss.peak() / 102.4) / 10;
    await server.stop();
    await Bun.sleep(500);
    const lookups = (await animeScans(sql)) - before;
    const m = result.measured;
    return {
      rps: Math.round(requestsPerSecond(m)),
      p99: Math.round(m.latency_us.p99 / 10) / 100,
      errors: errorCount(m),
      rssMiB: rss,
      lookupShare: lookups / m.requests,
      serverCores: m.cpu.server,
      postgresCores: m.cpu.postgres,
    };
  } finally {
    await server.stop();
  }
}

async function explain(sql: Sql, title: string, query: string, params: unknown[]) {
  const rows = await sql.unsafe(`explain (analyze, buffers, timing) ${query}`, params as never[]);
  say(`EXPLAIN ANALYZE ${title}:\n  ${query.replace(/\s+/g, " ")}`);
  for (const row of rows) say(`    ${row["QUERY PLAN"]}`);
}

/** Lookups per second through a pool like the server's, `concurrency` in flight, no HTTP. */
async function poolRate(url: string, title: string, run: (sql: Sql, i: number) => Promise<unknown>, seconds = 5) {
  const sql = connect(url, Number(env.DB_POOL_MAX ?? 10));
  await Promise.all(Array.from({ length: 20 }, (_, i) => run(sql, i)));
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: settings.connections }, async () => {
      while (performance.now() < deadline) {
        await run(sql, done);
        done++;
      }
    }),
  );
  const rate = done / ((performance.now() - started) / 1000);
  await sql.end();
  say(`  ${title}: ${Math.round(rate).toLocaleString("en-US")} queries/s (postgres.js, pool ${env.DB_POOL_MAX ?? 10}, ${settings.connections} in flight, no HTTP)`);
  return rate;
}

const workDir = mkdtempSync(join(tmpdir(), "lumotist-profile-"));

async function main() {
  requireWrk();
  mkdirSync(outDir, { recursive: true });
  const pg = await startPostgres();
  say(`Profiling run ${stamp}: wrk -t${settings.threads} -c${settings.connections}, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s; PostgreSQL ${pg.version} (${pg.kind})`);
  say("");

  const databases = new Map<number, { url: string; sql: Sql; ids: { min: number; max: number } }>();
  for (const n of [REFERENCE, LARGE]) {
    const file = await catalogueFile(n);
    const db = await createDatabase(pg, `profile_${n}`);
    const imported = await importCatalogue(db.url, file.path);
    log(`imported ${n} entries in ${imported.seconds.toFixed(1)} s`);
    const sql = connect(db.url, 4);
    await sql`analyze`;
    databases.set(n, { url: db.url, sql, ids: await idRange(sql) });
  }
  // Both set just above.
  const ref = databases.get(REFERENCE)!;
  const large = databases.get(LARGE)!;
  const idEnv = (ids: { min: number; max: number }) => ({ BENCH_ID_MIN: String(ids.min), BENCH_ID_MAX: String(ids.max) });

  // 1. CPU profiles.
  say("== 1. CPU profiles (bun --cpu-prof), measured run only ==");
  await scenario("entry-40k", ref.url, "entry", idEnv(ref.ids), { profile: true });
  await scenario("random-40k", ref.url, "random", idEnv(ref.ids), { profile: true });
  await scenario("profile-10k-tokens", ref.url, "profile", { BENCH_TOKENS: String(TOKENS) }, {
    profile: true,
    prepare: async (base) => {
      const users = await createUsers(base, ref.sql, TOKENS / 50);
      await insertTokens(ref.sql, users.tokenOwners, 1, TOKENS);
      const check = await fetch(`${base}/account/profile`, { headers: { authorization: `Token ${benchToken(1)}` } });
      if (check.status !== 200) throw new Error(`profile check: ${check.status}`);
    },
  });
  await scenario("entry-400k", large.url, "entry", idEnv(large.ids), { profile: true });

  // 2. SQL.
  say("== 2. The hot SQL ==");
  const mid = Math.floor((large.ids.min + large.ids.max) / 2);
  await explain(large.sql, `entry body (${LARGE} entries)`, "select body from anime where id = $1", [mid]);
  const [token] = await ref.sql<[{ digest: Buffer }?]>`select digest from tokens limit 1`;
  if (!token) throw new Error(`no tokens in the ${REFERENCE}-entry database to explain the token lookup with`);
  const { digest } = token;
  await explain(ref.sql, "token owner", "select user_id, expires_at from tokens where digest = $1 and expires_at > now()", [digest]);
  await explain(ref.sql, "profile", "select id, username, email, created_at, picture_id from users where id = $1", [1]);
  await explain(large.sql, `id index load (${LARGE} entries)`, "select array_agg(id order by id) as ids from anime", []);
  say("");
  say("Lookups through postgres.js alone:");
  const span = large.ids.max - large.ids.min + 1;
  await poolRate(large.url, `select body from anime where id = $1 (${LARGE} entries)`, (sql) => sql`select body from anime where id = ${large.ids.min + Math.floor(Math.random() * span)}`);
  // At least the token found above.
  const digests = (await ref.sql<{ digest: Buffer }[]>`select digest from tokens limit 5000`).map((r) => r.digest);
  await poolRate(ref.url, "select user_id, expires_at from tokens where digest = $1", (sql, i) => sql`select user_id, expires_at from tokens where digest = ${digests[i % digests.length]!} and expires_at > now()`);
  say("");

  // 3. The anime body cache against the catalogue's size.
  say("== 3. The anime body cache against the catalogue's size (GET /anime/entry/{id}, uniform ids) ==");
  say("  to DB: share of the measured requests that reached PostgreSQL (steady state after the warm-up); server/pg: cores used");
  say(`  ${"entries".padStart(8)} ${"cache".padStart(14)} ${"req/s".padStart(8)} ${"p99 ms".padStart(7)} ${"to DB".padStart(6)} ${"peak RSS".padStart(10)} ${"server".padStart(7)} ${"pg".padStart(5)}`);
  for (const [n, db] of [
    [REFERENCE, ref],
    [LARGE, large],
  ] as const) {
    for (const [label, cacheEnv] of [
      ["8 MB", { ANIME_CACHE_MB: "8", ANIME_CACHE_SIZE: "20000" }],
      ["default", { ANIME_CACHE_SIZE: String(n) }],
    ] as const) {
      const r = await entryWithLookups(`cache-${n}-${label.replace(" ", "")}`, db.url, db.sql, idEnv(db.ids), cacheEnv);
      say(
        `  ${n.toLocaleString("en-US").padStart(8)} ${label.padStart(14)} ${r.rps.toLocaleString("en-US").padStart(8)} ${r.p99.toFixed(2).padStart(7)} ` +
          `${`${Math.round(r.lookupShare * 100)}%`.padStart(6)} ${`${r.rssMiB} MiB`.padStart(10)} ${r.serverCores.toFixed(2).padStart(7)} ${r.postgresCores.toFixed(2).padStart(5)}`,
      );
    }
  }
  const [{ avg }] = await large.sql<[{ avg: number }]>`select avg(octet_length(body))::float8 as avg from anime`;
  say(`  average body: ${Math.round(avg)} bytes`);

  for (const db of databases.values()) await db.sql.end();
  writeFileSync(join(outDir, "report.txt"), report.join("\n") + "\n");
  log(`profiles and report in ${outDir}`);
  rmSync(workDir, { recursive: true, force: true }); // server logs: kept only when the run fails
}

try {
  await main();
} catch (error) {
  console.error(`profile failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  process.exitCode = 2;
} finally {
  await cleanup();
}
