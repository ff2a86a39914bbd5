// Where a server's memory goes under the bench's request mixes: the server runs in this process, wrk
// drives it, and every 50 ms a sample of RSS (and its anonymous part), the JavaScript heap
// (bun:jsc heapStats: live cells, capacity, the native memory objects report to the collector) and
// the allocator's committed memory is kept. For each row: its peak RSS, and the breakdown at that peak.
//   DATABASE_URL=… bun bench/memory-probe.ts [rows]    rows: comma list of entry, random, random-1f,
//   random-3f, search, browse, details, bulk, details-cold (default: all, in the bench's order);
//   profile and login on a database with the bench's users and tokens (PROBE_TOKENS of them)
//   PROBE_WARMUP / PROBE_SECONDS: per row (default 3 / 8, as the bench's finding rows)
import { edenGC, fullGC, heapSize, heapStats } from "bun:jsc";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import { startServer } from "../src/main.ts";
import { findingRowsIn } from "./find-mixes.ts";
import { LOGIN_USER, connect, idRange, runWrk, wrkSettingsFromEnv, type WrkMode } from "./lib.ts";

const env = process.env;
const ALL = ["entry", "random", "random-1f", "random-3f", "search", "browse", "details", "bulk", "details-cold"];
/** On a database the bench's account rows left (bench users and PROBE_TOKENS tokens): profile, login. */
const ACCOUNT = ["profile", "login"];
const wanted = (process.argv[2] ?? ALL.join(",")).split(",");
const warmupSeconds = Number(env.PROBE_WARMUP ?? 3);
const seconds = Number(env.PROBE_SECONDS ?? 8);

interface Sample {
  at: number;
  rssMiB: number;
  anonMiB: number;
  heapMiB: number;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

function sample(): Sample {
  const rollup = readFileSync("/proc/self/smaps_rollup", "utf8");
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(rollup)?.[1] ?? 0);
  return { at: performance.now(), rssMiB: mib(kib("Rss") * 1024), anonMiB: mib(kib("Anonymous") * 1024), heapMiB: mib(heapSize()) };
}

const config = loadConfig({ ...env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: env.LOG_LEVEL ?? "warn", THROTTLE: "off", LOAD_SAMPLE: "off" });
const running = await startServer(config, createLogger(config.logLevel));
const base = running.url.href.replace(/\/$/, "");
const sql = connect(config.databaseUrl!, 2);
const ids = await idRange(sql);
const settings = { ...wrkSettingsFromEnv(), warmupSeconds, seconds };
// Wait until the token index is complete and the catalogue is packed and indexed (/health says so), as the bench's untilWarm does.
for (;;) {
  const health = (await (await fetch(`${base}/health`)).json()) as { anime_cache?: { packed?: boolean }; token_index?: { ready?: boolean } };
  if (health.anime_cache?.packed !== false && health.token_index?.ready !== false) break;
  await Bun.sleep(100);
}
await Bun.sleep(2000);

let samples: Sample[] = [];
const timer = setInterval(() => samples.push(sample()), 50);
const show = (s: Sample) => `rss ${s.rssMiB} anon ${s.anonMiB} heap ${s.heapMiB}`;
/** heapStats walks the heap (tens of ms): only between rows. */
const heapNow = () => {
  const heap = heapStats();
  return `heap ${mib(heap.heapSize)} capacity ${mib(heap.heapCapacity)} extra ${mib(heap.extraMemorySize)} objects ${heap.objectCount}`;
};
console.log(`start: ${show(sample())}`);

const finding = wanted.some((row) => !ACCOUNT.includes(row)) ? await findingRowsIn(sql, ids.count) : [];
const rows: { scenario: string; mode: WrkMode; env: Record<string, string> }[] = [
  { scenario: "entry", mode: "entry", env: { BENCH_ID_MIN: String(ids.min), BENCH_ID_MAX: String(ids.max) } },
  { scenario: "random", mode: "random", env: {} },
  { scenario: "profile", mode: "profile", env: { BENCH_TOKENS: env.PROBE_TOKENS ?? "1000000" } },
  { scenario: "login", mode: "login", env: { BENCH_LOGIN_BODY: JSON.stringify({ username: LOGIN_USER.username, password: LOGIN_USER.password }) } },
  ...finding.map((row) => {
    const file = join(tmpdir(), `memory-probe-${process.pid}-${row.scenario}.txt`);
    writeFileSync(file, `${row.paths.join("\n")}\n`);
    return { scenario: row.scenario, mode: "paths" as const, env: { BENCH_PATHS_FILE: file } };
  }),
];
for (const row of rows.filter((r) => wanted.includes(r.scenario))) {
  samples = [];
  console.log(`${row.scenario} starts at ${show(sample())}`);
  const { measured } = await runWrk({ mode: row.mode, base, env: row.env, serverPid: process.pid }, settings, { warmupSeconds: row.mode === "login" ? 0 : warmupSeconds });
  const peak = samples.reduce((a, b) => (b.rssMiB > a.rssMiB ? b : a));
  const cpuUs = (measured.server_cpu_seconds * 1e6) / measured.requests;
  console.log(
    `${row.scenario.padEnd(13)} ${Math.round(measured.requests / (measured.duration_us / 1e6))} req/s p99 ${(measured.latency_us.p99 / 1000).toFixed(2)} ms ` +
      `${cpuUs.toFixed(1)} µs/req | peak ${show(peak)}`,
  );
  await Bun.sleep(1500);
  console.log(`  after 1.5 s: ${show(sample())} | ${heapNow()}`);
  const timed = (collect: () => unknown) => {
    const started = performance.now();
    collect();
    return (performance.now() - started).toFixed(1);
  };
  console.log(`  eden ${timed(edenGC)} ms, full ${timed(fullGC)} ms, again ${timed(fullGC)} ms: ${show(sample())}`);
  await Bun.sleep(500);
  console.log(`  0.5 s later: ${show(sample())}; Bun.gc(true) ${timed(() => Bun.gc(true))} ms: ${show(sample())}`);
  await Bun.sleep(500);
  console.log(`  0.5 s later: ${show(sample())}`);
}
clearInterval(timer);
for (const row of rows) if (row.env.BENCH_PATHS_FILE) rmSync(row.env.BENCH_PATHS_FILE, { force: true });
if (env.PROBE_MAPS) console.log(largestMappings());
await sql.end();
await running.stop();
process.exit(0);

/** The anonymous mappings holding the most resident memory (PROBE_MAPS=1): which allocator keeps what. */
function largestMappings(): string {
  const maps: { range: string; sizeKiB: number; rssKiB: number; name: string }[] = [];
  let current: (typeof maps)[number] | undefined;
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const head = /^([0-9a-f]+-[0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      current = { range: head[1]!, sizeKiB: 0, rssKiB: 0, name: head[2] ?? "" };
      maps.push(current);
      continue;
    }
    const field = /^(Size|Rss):\s+(\d+)/.exec(line);
    if (field && current) current[field[1] === "Size" ? "sizeKiB" : "rssKiB"] = Number(field[2]);
  }
  return maps
    .filter((m) => m.rssKiB > 1024)
    .sort((a, b) => b.rssKiB - a.rssKiB)
    .slice(0, 25)
    .map((m) => `${m.range} size ${Math.round(m.sizeKiB / 1024)} MiB rss ${(m.rssKiB / 1024).toFixed(1)} MiB ${m.name}`)
    .join("\n");
}
