// `bun bench/compare.ts A B [C…]`: the same wrk rows against servers run from different checkouts
// (or the same checkout with different settings), interleaved round by round so that a machine
// whose load drifts treats them alike. A checkout is a directory (e.g. a `git worktree add` of
// another commit); append `?NAME=value&…` to give that server extra environment, e.g.
//   bun bench/compare.ts . '.?ANIME_CACHE_MB=8'
//   git worktree add /tmp/before HEAD~3 && bun bench/compare.ts /tmp/before .
// The database, catalogue (imported by this checkout's importer) and tokens are set up once.
// BENCH_COMPARE_SIZE (default 40000), BENCH_COMPARE_ROWS (default entry,random,profile),
// BENCH_COMPARE_ROUNDS (default 3), plus bench/run.ts's BENCH_DURATION / BENCH_WARMUP / DATABASE_URL.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  LOGIN_USER,
  type WrkMode,
  type WrkSettings,
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
const settings: WrkSettings = wrkSettingsFromEnv({ warmupSeconds: 3, seconds: 8 });
const SIZE = Number(env.BENCH_COMPARE_SIZE ?? 40_000);
const ROWS = (env.BENCH_COMPARE_ROWS ?? "entry,random,profile").split(",") as WrkMode[];
const ROUNDS = Number(env.BENCH_COMPARE_ROUNDS ?? 3);
const TOKENS = Number(env.BENCH_COMPARE_TOKENS ?? 10_000);

interface Variant {
  label: string;
  root: string;
  env: Record<string, string>;
}

function parseVariant(arg: string): Variant {
  const [dir, query = ""] = arg.split("?");
  return { label: arg, root: resolve(dir!), env: Object.fromEntries(new URLSearchParams(query)) };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) throw new Error("median of no values");
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main() {
  const variants = Bun.argv.slice(2).map(parseVariant);
  const [first] = variants;
  if (first === undefined) {
    console.error("usage: bun bench/compare.ts CHECKOUT[?ENV=value&…] …");
    process.exit(2);
  }
  requireWrk();
  const workDir = mkdtempSync(join(tmpdir(), "lumotist-compare-"));
  const pg = await startPostgres();
  const file = await catalogueFile(SIZE);
  const db = await createDatabase(pg, `compare_${SIZE}`);
  const imported = await importCatalogue(db.url, file.path);
  log(`imported ${SIZE} entries in ${imported.seconds.toFixed(1)} s`);
  const sql = connect(db.url, 4);
  await sql`analyze`;
  const ids = await idRange(sql);
  if (ROWS.includes("profile") || ROWS.includes("login")) {
    const server = await startServer({ databaseUrl: db.url, logPath: join(workDir, "setup.log") });
    const users = await createUsers(server.base, sql, Math.ceil(TOKENS / 50));
    await insertTokens(sql, users.tokenOwners, 1, TOKENS);
    await server.stop();
  }
  const wrkEnv: Record<WrkMode, Record<string, string>> = {
    entry: { BENCH_ID_MIN: String(ids.min), BENCH_ID_MAX: String(ids.max) },
    random: {},
    profile: { BENCH_TOKENS: String(TOKENS) },
    login: { BENCH_LOGIN_BODY: JSON.stringify({ username: LOGIN_USER.username, password: LOGIN_USER.password }) },
    paths: {},
    list: {},
  };

  const results = new Map<string, { rps: number[]; p99: number[]; errors: number; server: number[] }>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of variants) {
      const server = await startServer({ databaseUrl: db.url, root: variant.root, env: variant.env, logPath: join(workDir, "server.log") });
      try {
        for (const mode of ROWS) {
          await waitIdle(server.pid);
          const { measured } = await runWrk({ mode, base: server.base, env: wrkEnv[mode], serverPid: server.pid }, settings, {
            warmupSeconds: mode === "login" ? 0 : settings.warmupSeconds,
            retries: Number(env.BENCH_NOISY_RETRIES ?? 3),
            maxForeignCores: Number(env.BENCH_MAX_OTHER ?? 0.1),
          });
          const key = `${variant.label}\u0000${mode}`;
          const entry = results.get(key) ?? { rps: [], p99: [], errors: 0, server: [] };
          entry.rps.push(requestsPerSecond(measured));
          entry.p99.push(measured.latency_us.p99 / 1000);
          entry.errors += errorCount(measured);
          entry.server.push(measured.cpu.server);
          results.set(key, entry);
          log(`round ${round} ${variant.label} ${mode}: ${Math.round(requestsPerSecond(measured))} req/s, p99 ${(measured.latency_us.p99 / 1000).toFixed(2)} ms, other cpu ${measured.cpu.foreign}`);
        }
      } finally {
        await server.stop();
      }
    }
  }
  await sql.end();
  rmSync(workDir, { recursive: true, force: true }); // server logs: kept only when the run fails

  console.log(`\nMedians of ${ROUNDS} rounds, ${SIZE.toLocaleString("en-US")} entries, wrk -t${settings.threads} -c${settings.connections}, ${settings.warmupSeconds}+${settings.seconds} s:`);
  for (const mode of ROWS) {
    const base = median(results.get(`${first.label}\u0000${mode}`)!.rps);
    for (const variant of variants) {
      const r = results.get(`${variant.label}\u0000${mode}`)!;
      const rps = median(r.rps);
      console.log(
        `  ${mode.padEnd(8)} ${variant.label.padEnd(48)} ${Math.round(rps).toLocaleString("en-US").padStart(8)} req/s ` +
          `(${rps >= base ? "+" : ""}${Math.round((rps / base - 1) * 100)}%)  p99 ${median(r.p99).toFixed(2)} ms  errors ${r.errors}  server ${median(r.server).toFixed(2)} cores  [${r.rps.map((x) => Math.round(x)).join(", ")}]`,
      );
    }
  }
}

try {
  await main();
} catch (error) {
  console.error(`compare failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  process.exitCode = 2;
} finally {
  await cleanup();
}
