// Building blocks of the benchmark (bench/run.ts) and the profiling run (bench/profile.ts): a
// PostgreSQL to work in, generated catalogues imported with the real importer, the real server as a
// child process with its memory sampled, bench users and tokens, and wrk.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres, { type Sql } from "postgres";

export const ROOT = resolve(import.meta.dir, "..");
export const BENCH_DIR = import.meta.dir;
export const RESULTS_DIR = join(BENCH_DIR, "results");
const PG_CLUSTER = join(ROOT, "scripts", "pg-cluster.sh");
const GENERATOR = join(ROOT, "scripts", "generate-catalogue.ts");
export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export const log = (message: string) => process.stderr.write(`[bench ${elapsed()}] ${message}\n`);
const startedAt = performance.now();
export const elapsed = () => `${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)}s`;

/** Work to undo when the run ends, however it ends (last registered runs first). */
const cleanups: (() => Promise<void> | void)[] = [];
export function onCleanup(fn: () => Promise<void> | void) {
  cleanups.push(fn);
}
export async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()!();
    } catch (error) {
      log(`cleanup failed: ${error instanceof Error ? error.message : error}`);
    }
  }
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    log(`${signal}: cleaning up`);
    await cleanup();
    process.exit(130);
  });
}

/** A TCP port nothing listens on right now (never 3000). */
export function freePort(): number {
  for (;;) {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = listener.port;
    listener.stop(true);
    if (port !== 3000) return port;
  }
}

export function requireWrk(): string {
  const wrk = Bun.which("wrk");
  if (!wrk) {
    console.error("bench: wrk is not installed. Install it with:\n\n  apt-get install wrk\n");
    process.exit(1);
  }
  return wrk;
}

export function commandOutput(cmd: string[], cwd = ROOT): string {
  const [command, ...args] = cmd;
  if (command === undefined) throw new Error("commandOutput: empty command");
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  return `${result.stdout ?? ""}${result.stderr ?? ""}`.trim();
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

export interface Postgres {
  /** A URL with rights to create databases. */
  adminUrl: string;
  kind: "DATABASE_URL" | "throwaway cluster";
  version: string;
}

/**
 * The PostgreSQL in DATABASE_URL when set; otherwise a throwaway cluster (scripts/pg-cluster.sh)
 * on a free port, stopped and deleted at the end.
 */
export async function startPostgres(): Promise<Postgres> {
  let adminUrl = process.env.DATABASE_URL;
  let kind: Postgres["kind"] = "DATABASE_URL";
  if (!adminUrl) {
    if (!existsSync(join(PG_BIN, "initdb"))) {
      console.error(`bench: set DATABASE_URL, or install the PostgreSQL 15 server (${PG_BIN}/initdb) for a throwaway cluster`);
      process.exit(1);
    }
    const dir = join(tmpdir(), `lumotist-bench-pg-${process.pid}`);
    const port = freePort();
    log(`starting a throwaway PostgreSQL cluster in ${dir} on port ${port}`);
    const started = spawnSync(PG_CLUSTER, ["start", dir, String(port)], { encoding: "utf8" });
    if (started.status !== 0) throw new Error(`pg-cluster.sh start failed: ${started.stderr}`);
    onCleanup(() => {
      log("stopping the throwaway PostgreSQL cluster");
      spawnSync(PG_CLUSTER, ["stop", dir]);
      rmSync(dir, { recursive: true, force: true });
    });
    adminUrl = started.stdout.trim();
    kind = "throwaway cluster";
  }
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const [{ server_version }] = await admin<[{ server_version: string }]>`show server_version`;
  await admin.end();
  return { adminUrl, kind, version: server_version };
}

/** Creates a fresh database (a copy of `template` when given); drop() (or the end of the run) drops it again. */
export async function createDatabase(pg: Postgres, label: string, template?: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `lumotist_bench_${label}_${Date.now().toString(36)}_${process.pid}`;
  const admin = postgres(pg.adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}${template ? ` template ${template}` : ""}`);
  await admin.end();
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await dropDatabase(pg, name);
  };
  onCleanup(drop);
  const url = new URL(pg.adminUrl);
  url.pathname = `/${name}`;
  return { url: url.href, name, drop };
}

async function dropDatabase(pg: Postgres, name: string) {
  const admin = postgres(pg.adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}

export function connect(url: string, max = 2): Sql {
  return postgres(url, { max, onnotice: () => {} });
}

// ---------------------------------------------------------------------------------------------
// Catalogues

export interface CatalogueFile {
  path: string;
  entries: number;
  /** Seconds spent generating it in this run; 0 when an identical file was cached. */
  generateSeconds: number;
  cached: boolean;
  bytes: number;
}

/**
 * A synthetic release of `n` entries in the dataset's JSON-lines format, from
 * scripts/generate-catalogue.ts. The generator is deterministic, so files are cached across runs
 * (BENCH_CACHE_DIR, default $TMPDIR/lumotist-bench-cache), keyed by the generator's source.
 */
export async function catalogueFile(n: number): Promise<CatalogueFile> {
  const dir = process.env.BENCH_CACHE_DIR ?? join(tmpdir(), "lumotist-bench-cache");
  mkdirSync(dir, { recursive: true });
  const key = createHash("sha256").update(readFileSync(GENERATOR)).digest("hex").slice(0, 12);
  const path = join(dir, `catalogue-${key}-${n}.jsonl`);
  if (existsSync(path)) return { path, entries: n, generateSeconds: 0, cached: true, bytes: Bun.file(path).size };
  const partial = join(dir, `catalogue-${key}-${n}.partial-${process.pid}.jsonl`);
  const started = performance.now();
  const result = Bun.spawnSync(["bun", GENERATOR, String(n), partial], { cwd: ROOT, stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`generate-catalogue.ts failed: ${result.stderr.toString()}`);
  renameSync(partial, path);
  return { path, entries: n, generateSeconds: (performance.now() - started) / 1000, cached: false, bytes: Bun.file(path).size };
}

export interface ImportResult {
  seconds: number;
  output: string;
}

/** `bun run import <file>`: the real importer, as an operator runs it. */
export async function importCatalogue(databaseUrl: string, file: string): Promise<ImportResult> {
  const started = performance.now();
  const proc = Bun.spawn(["bun", "run", "import", file], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`bun run import ${file} failed (exit ${code}):\n${stdout}\n${stderr}`);
  return { seconds, output: stdout.trim() };
}

export interface IdRange {
  min: number;
  max: number;
  count: number;
}

/** The catalogue's ids; wrk draws from [min, max], which needs them contiguous. */
export async function idRange(sql: Sql): Promise<IdRange> {
  const [row] = await sql<[{ min: number; max: number; count: number }]>`
    select min(id)::int as min, max(id)::int as max, count(*)::int as count from anime`;
  if (row.count !== row.max - row.min + 1) throw new Error(`the catalogue's ids are not contiguous (${row.count} ids in ${row.min}..${row.max})`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Users and tokens

/** SQL for bench token number `i`, as text: must match tokenFor() in bench/wrk.lua. */
const TOKEN_SQL = (i: string) => `repeat('be', 24) || lpad(to_hex(${i}), 16, '0')`;
export const benchToken = (i: number) => "be".repeat(24) + i.toString(16).padStart(16, "0");

export const LOGIN_USER = { username: "bench_login", email: "bench_login@example.com", password: "bench password 1" };

export interface BenchUsers {
  /** Users registered over HTTP, with the token registration gave them. */
  registered: { id: number; username: string; token: string }[];
  /** Ids tokens are spread over (HTTP-registered ones excluded the login user, plus bulk ones). */
  tokenOwners: number[];
}

/**
 * Registers a few users over HTTP (the real path: validation, argon2id, token issue), then
 * bulk-inserts `extraUsers` more with SQL, sharing the first one's password hash.
 */
export async function createUsers(base: string, sql: Sql, extraUsers: number): Promise<BenchUsers> {
  const registered: BenchUsers["registered"] = [];
  const people = [1, 2, 3].map((n) => ({ username: `bench_user_${n}`, email: `bench_user_${n}@example.com`, password: LOGIN_USER.password }));
  for (const user of [...people, LOGIN_USER]) {
    const response = await fetch(`${base}/account/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(user),
    });
    if (response.status !== 200) throw new Error(`register ${user.username}: ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { token: string; user: { id: number } };
    registered.push({ id: body.user.id, username: user.username, token: body.token });
  }
  const first = registered[0]!; // just filled: one per user registered above
  const [hashRow] = await sql<[{ password_hash: string }?]>`select password_hash from users where id = ${first.id}`;
  if (!hashRow) throw new Error(`user ${first.username} (id ${first.id}) is missing right after registering`);
  const { password_hash } = hashRow;
  const bulk = await sql<{ id: number }[]>`
    insert into users (username, username_key, username_skeleton, email, email_key, password_hash)
    select 'bench_bulk_' || i, 'bench_bulk_' || i, 'bench_bulk_' || i, 'bench_bulk_' || i || '@example.com', 'bench_bulk_' || i || '@example.com', ${password_hash}
    from generate_series(1, ${extraUsers}) i
    returning id`;
  const loginId = registered.find((u) => u.username === LOGIN_USER.username)!.id;
  return { registered, tokenOwners: [...registered.filter((u) => u.id !== loginId).map((u) => u.id), ...bulk.map((r) => r.id)] };
}

/**
 * Inserts bench tokens number `from`..`to` (see benchToken), digest = sha256 of the token's text as
 * the server computes it, spread round-robin over `owners`, valid for 30 days. As a superuser the
 * insert skips the per-row foreign-key check (session_replication_role = replica; every owner
 * exists, so the rows are the same), which makes a million tokens about 3 times faster.
 */
export async function insertTokens(sql: Sql, owners: number[], from: number, to: number): Promise<number> {
  const started = performance.now();
  const [{ rolsuper }] = await sql<[{ rolsuper: boolean }]>`select rolsuper from pg_roles where rolname = current_user`;
  await sql.begin(async (tx) => {
    if (rolsuper) await tx.unsafe("set local session_replication_role = replica");
    // MATERIALIZED: inlined, the owners' array would be parsed again for every row (20,000 owners:
    // 2 ms a row).
    await tx.unsafe(
      `with o as materialized (select $1::text::int[] as ids)
       insert into tokens (digest, user_id, expires_at)
       select sha256(convert_to(${TOKEN_SQL("i")}, 'UTF8')), o.ids[1 + (i - 1) % array_length(o.ids, 1)], now() + interval '30 days'
       from o, generate_series(${from}, ${to}) i`,
      [`{${owners.join(",")}}`],
    );
  });
  await sql`analyze tokens`;
  return (performance.now() - started) / 1000;
}

// ---------------------------------------------------------------------------------------------
// The server

export interface MemorySample {
  rssKiB: number;
  hwmKiB: number;
}

export function readMemory(pid: number): MemorySample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
    return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
  } catch {
    return undefined;
  }
}

/** Samples a process's resident memory every `everyMs`; peak() is the highest since the last reset(). */
export class RssSampler {
  private peakKiB = 0;
  private timer: Timer;
  constructor(
    private readonly pid: number,
    everyMs = 50,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }
  private sample() {
    const memory = readMemory(this.pid);
    if (memory) this.peakKiB = Math.max(this.peakKiB, memory.rssKiB);
  }
  reset() {
    this.sample();
    this.peakKiB = readMemory(this.pid)?.rssKiB ?? 0;
  }
  peak(): number {
    this.sample();
    return this.peakKiB;
  }
  stop() {
    clearInterval(this.timer);
  }
}

export interface ServerProcess {
  base: string;
  pid: number;
  /** Spawn to the first 200 from /ready. */
  startupMs: number;
  rss: RssSampler;
  logPath: string;
  stop(): Promise<number>;
}

export interface ServerOptions {
  databaseUrl: string;
  env?: Record<string, string>;
  /** Extra arguments to bun before the script (e.g. --cpu-prof). */
  bunArgs?: string[];
  logPath: string;
  /** Default src/main.ts; bench/ceiling.ts for the bare-Bun ceiling. */
  script?: string;
  /** The checkout to run the server from (default BENCH_SERVER_ROOT, else this one). */
  root?: string;
}

/**
 * The real server, as `bun run start` runs it after installing (`bun src/main.ts`), with request
 * logging off (LOG_LEVEL=warn: one JSON log line per request would dominate the figures), throttling
 * off (THROTTLE=off: the login run is one client address) and no sample catalogue.
 */
export async function startServer(options: ServerOptions): Promise<ServerProcess> {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  // BENCH_SERVER_BUN_ARGS: extra arguments for every server the bench starts (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
  const bunArgs = options.bunArgs ?? process.env.BENCH_SERVER_BUN_ARGS?.split(" ").filter(Boolean) ?? [];
  const proc = Bun.spawn(["bun", ...bunArgs, options.script ?? "src/main.ts"], {
    cwd: options.script?.startsWith("bench/") ? ROOT : (options.root ?? process.env.BENCH_SERVER_ROOT ?? ROOT),
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      THROTTLE: "off",
      LOAD_SAMPLE: "off",
      ...options.env,
    },
    stdout: Bun.file(options.logPath),
    stderr: "inherit",
  });
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode ?? 1;
    proc.kill("SIGTERM");
    const timeout = Bun.sleep(20_000).then(() => "timeout" as const);
    if ((await Promise.race([proc.exited, timeout])) === "timeout") proc.kill("SIGKILL");
    return proc.exited;
  };
  onCleanup(async () => void (await stop()));
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the server exited with ${proc.exitCode} before it was ready (log: ${options.logPath})`);
    if (performance.now() - started > 60_000) throw new Error("the server was not ready within 60 s");
    const ok = await fetch(`${base}/ready`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) break;
    await Bun.sleep(5);
  }
  const startupMs = performance.now() - started;
  const rss = new RssSampler(proc.pid);
  return {
    base,
    pid: proc.pid,
    startupMs,
    rss,
    logPath: options.logPath,
    async stop() {
      rss.stop();
      return stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// wrk

export interface WrkSettings {
  threads: number;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  timeoutSeconds: number;
}

/** wrk settings from BENCH_THREADS / BENCH_CONNECTIONS / BENCH_WARMUP / BENCH_DURATION, with a script's own default durations. */
export function wrkSettingsFromEnv(defaults = { warmupSeconds: 5, seconds: 10 }): WrkSettings {
  const env = process.env;
  return {
    threads: Number(env.BENCH_THREADS ?? 2),
    connections: Number(env.BENCH_CONNECTIONS ?? 64),
    warmupSeconds: Number(env.BENCH_WARMUP ?? defaults.warmupSeconds),
    seconds: Number(env.BENCH_DURATION ?? defaults.seconds),
    timeoutSeconds: 10,
  };
}

export interface WrkResult {
  requests: number;
  duration_us: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: { mean: number; max: number; p50: number; p90: number; p99: number; p999: number };
  /** Where the CPU went meanwhile, in cores (see CpuMonitor). */
  cpu: CpuShares;
  /** CPU wrk itself used, in cores. */
  wrk_cores: number;
  /** CPU time the server used during the run (utime + stime from /proc), in seconds. */
  server_cpu_seconds: number;
}

export type WrkMode = "entry" | "random" | "profile" | "login" | "paths" | "list";

export interface WrkRun {
  mode: WrkMode;
  base: string;
  env: Record<string, string>;
  /** The server's pid, so its CPU is not counted as foreign load. */
  serverPid?: number;
}

async function wrkOnce(run: WrkRun, settings: WrkSettings, seconds: number): Promise<WrkResult> {
  const out = join(tmpdir(), `lumotist-bench-wrk-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const args = [
    "wrk",
    `-t${settings.threads}`,
    `-c${settings.connections}`,
    `-d${seconds}s`,
    `--timeout`,
    `${settings.timeoutSeconds}s`,
    "-s",
    join(BENCH_DIR, "wrk.lua"),
    run.base,
  ];
  const cpu = new CpuMonitor(run.serverPid);
  const proc = Bun.spawn(args, {
    env: { ...process.env, BENCH_MODE: run.mode, BENCH_OUT: out, ...run.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const wrkCpuSeconds = Number(proc.resourceUsage()?.cpuTime.total ?? 0) / 1e6;
  const shares = cpu.finish(wrkCpuSeconds);
  if (code !== 0 || !existsSync(out)) throw new Error(`wrk failed (exit ${code}):\n${stdout}\n${stderr}`);
  const result = JSON.parse(readFileSync(out, "utf8")) as WrkResult;
  rmSync(out, { force: true });
  return { ...result, cpu: shares, wrk_cores: wrkCpuSeconds / (result.duration_us / 1e6), server_cpu_seconds: cpu.serverSeconds };
}

/**
 * A warm-up run (discarded), then the measured run. When the rest of the machine used more than
 * `maxForeignCores` during the measured run, it is repeated (up to `retries` times) and the run with
 * the least foreign load is kept: on a shared machine that is the closest to the machine's figure.
 */
export async function runWrk(
  run: WrkRun,
  settings: WrkSettings,
  options: { warmupSeconds?: number; beforeMeasure?: () => Promise<void> | void; retries?: number; maxForeignCores?: number } = {},
): Promise<{ warmup?: WrkResult; measured: WrkResult; attempts: number }> {
  const warmupSeconds = options.warmupSeconds ?? settings.warmupSeconds;
  const warmup = warmupSeconds > 0 ? await wrkOnce(run, settings, warmupSeconds) : undefined;
  await options.beforeMeasure?.();
  let measured = await wrkOnce(run, settings, settings.seconds);
  let attempts = 1;
  for (; attempts <= (options.retries ?? 0) && measured.cpu.foreign > (options.maxForeignCores ?? Infinity); attempts++) {
    log(`  the rest of the machine used ${measured.cpu.foreign} cores meanwhile: measuring again`);
    if (run.serverPid) await waitIdle(run.serverPid);
    const again = await wrkOnce(run, settings, settings.seconds);
    if (again.cpu.foreign < measured.cpu.foreign) measured = again;
  }
  return { warmup, measured, attempts };
}

/**
 * Slices of one row measured apart (interleaved rounds) as one result: counts and durations add up;
 * rates, p50/p90 and CPU shares are duration-weighted means; p99, p99.9 and max are the worst slice's.
 */
export function mergeWrkResults(parts: WrkResult[]): WrkResult {
  if (parts.length === 1) return parts[0]!;
  const total = (value: (r: WrkResult) => number) => parts.reduce((sum, r) => sum + value(r), 0);
  const duration = total((r) => r.duration_us);
  const weighted = (value: (r: WrkResult) => number) => total((r) => value(r) * r.duration_us) / duration;
  const worst = (value: (r: WrkResult) => number) => Math.max(...parts.map(value));
  return {
    requests: total((r) => r.requests),
    duration_us: duration,
    bytes: total((r) => r.bytes),
    errors: {
      connect: total((r) => r.errors.connect),
      read: total((r) => r.errors.read),
      write: total((r) => r.errors.write),
      status: total((r) => r.errors.status),
      timeout: total((r) => r.errors.timeout),
    },
    latency_us: {
      mean: weighted((r) => r.latency_us.mean),
      max: worst((r) => r.latency_us.max),
      p50: weighted((r) => r.latency_us.p50),
      p90: weighted((r) => r.latency_us.p90),
      p99: worst((r) => r.latency_us.p99),
      p999: worst((r) => r.latency_us.p999),
    },
    cpu: {
      server: Math.round(weighted((r) => r.cpu.server) * 100) / 100,
      postgres: Math.round(weighted((r) => r.cpu.postgres) * 100) / 100,
      foreign: Math.round(weighted((r) => r.cpu.foreign) * 100) / 100,
    },
    wrk_cores: weighted((r) => r.wrk_cores),
    server_cpu_seconds: total((r) => r.server_cpu_seconds),
  };
}

export const errorCount = (r: WrkResult) => r.errors.connect + r.errors.read + r.errors.write + r.errors.status + r.errors.timeout;
export const requestsPerSecond = (r: WrkResult) => r.requests / (r.duration_us / 1e6);

// ---------------------------------------------------------------------------------------------
// Other load on the machine

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function busyTicks(): number {
  const cpuLine = readFileSync("/proc/stat", "utf8").split("\n")[0]!; // split always returns at least one element
  const [, ...fields] = cpuLine.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  if (user === undefined || nice === undefined || system === undefined || irq === undefined || softirq === undefined || steal === undefined) {
    throw new Error(`/proc/stat: unexpected cpu line ${JSON.stringify(cpuLine)}`);
  }
  return user + nice + system + irq + softirq + steal;
}

function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

/** PostgreSQL's processes (all of them: the bench cannot tell its own backends of a shared server apart). */
function postgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "postgres") pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/**
 * Where the CPU went during a measurement, in cores: the server, PostgreSQL (all of its processes),
 * and the rest of the machine (all busy CPU time minus the server's, PostgreSQL's, this process's and
 * wrk's). "Foreign" well above zero means that row was measured on a machine busy with something else.
 */
export interface CpuShares {
  server: number;
  postgres: number;
  foreign: number;
}

export class CpuMonitor {
  private readonly started = performance.now();
  private readonly busy = busyTicks();
  private readonly postgres: number[];
  private readonly before: { self: number; server: number; postgres: number };
  /** The server's CPU seconds between the start and finish() (utime + stime). */
  serverSeconds = 0;
  constructor(private readonly serverPid: number | undefined) {
    this.postgres = postgresPids();
    this.before = this.ticks();
  }
  private ticks() {
    return {
      self: processTicks(process.pid),
      server: this.serverPid ? processTicks(this.serverPid) : 0,
      postgres: this.postgres.reduce((sum, pid) => sum + processTicks(pid), 0),
    };
  }
  /** Given the CPU seconds of the children that have exited meanwhile (wrk). */
  finish(exitedChildrenCpuSeconds: number): CpuShares {
    const seconds = (performance.now() - this.started) / 1000;
    const now = this.ticks();
    const server = (now.server - this.before.server) / TICKS_PER_SECOND;
    this.serverSeconds = server;
    const postgres = (now.postgres - this.before.postgres) / TICKS_PER_SECOND;
    const self = (now.self - this.before.self) / TICKS_PER_SECOND;
    const foreign = (busyTicks() - this.busy) / TICKS_PER_SECOND - server - postgres - self - exitedChildrenCpuSeconds;
    const round = (x: number) => Math.round((Math.max(0, x) / seconds) * 100) / 100;
    return { server: round(server), postgres: round(postgres), foreign: round(foreign) };
  }
}

/** Waits until the process has (nearly) stopped using CPU: queued work from a previous run is done. */
export async function waitIdle(pid: number, maxMs = 30_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  let last = processTicks(pid);
  while (performance.now() < deadline) {
    await Bun.sleep(250);
    const now = processTicks(pid);
    if (now - last <= 2) return;
    last = now;
  }
}

export interface WarmState {
  /** From the call (right after /ready) to the server's memory being warm. */
  seconds: number;
  tokens: number;
  tokenIndexBytes: number;
  animePacked: boolean;
}

interface Health {
  token_index?: { ready: boolean; tokens: number; bytes: number };
  anime_cache?: { packed: boolean; bytes: number; search_ready?: boolean };
}

/**
 * Waits (up to 120 s) until the server holds what it loads in the background after start: every live
 * token in its token index and, unless ANIME_CACHE_MB is set (it may be too small for that), the whole
 * catalogue in its packed buffer. Measuring before then would measure the loading.
 */
export async function untilWarm(base: string): Promise<WarmState> {
  const started = performance.now();
  const needPacked = process.env.ANIME_CACHE_MB === undefined;
  for (;;) {
    const health = (await (await fetch(`${base}/health`)).json()) as Health;
    const { token_index: index, anime_cache: anime } = health;
    if (!index || !anime) throw new Error("this server does not report its token index and anime cache on /health");
    if (index.ready && (anime.packed || !needPacked) && anime.search_ready !== false) {
      return { seconds: (performance.now() - started) / 1000, tokens: index.tokens, tokenIndexBytes: index.bytes, animePacked: anime.packed };
    }
    if (performance.now() - started > 120_000) throw new Error(`the server was not warm within 120 s: ${JSON.stringify(health)}`);
    await Bun.sleep(20);
  }
}
