// Soak test: a bounded mixed load (register, login, profile, set_picture, entry, random, logout,
// delete) from this process against a server spawned as `bun src/main.ts` on a fresh PostgreSQL
// database (THROTTLE=off), for SOAK_SECONDS (default 60) with SOAK_WORKERS concurrent workers
// (default 32). It passes when no request got a 5xx or no answer, and when the server's memory (RSS,
// from /proc/<pid>/status) and the database's connection count (pg_stat_activity for its database)
// stay flat: the last quarter's mean at most 1.25 × the first quarter's mean plus a small slack
// (16 MiB, 2 connections). Prints the figures and one summary line; exits non-zero on failure.
//
//   DATABASE_URL=postgres://… bun tests/soak/run.ts      (a fresh database is created in that server)
//   bun tests/soak/run.ts                                 (without DATABASE_URL: a private PostgreSQL 15 cluster)
//
// Not a `bun test` file (no `.test.` in its name): it is long, and .ci/run calls it on its own.
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { generateEntries, writeRelease } from "../../scripts/generate-catalogue.ts";
import {
  type PrivateCluster,
  type ServerProcess,
  createCluster,
  createDatabaseIn,
  dropDatabase,
  hasPgBinaries,
  runImport,
  spawnServer,
} from "../support/cluster.ts";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const WORKERS = Number(process.env.SOAK_WORKERS ?? 32);
const CATALOGUE_SIZE = Number(process.env.SOAK_CATALOGUE ?? 5_000);
const REQUEST_TIMEOUT_MS = 10_000;
const SAMPLE_MS = 1_000;
/** Flat: last-quarter mean ≤ FACTOR × first-quarter mean + slack. */
const FACTOR = 1.25;
const RSS_SLACK_MIB = 16;
const CONNECTION_SLACK = 2;
/** The whole run, set-up and tear-down included, never takes longer than this. */
const WATCHDOG_MS = (SECONDS + 120) * 1000;

if (!Number.isFinite(SECONDS) || SECONDS <= 0 || !Number.isInteger(WORKERS) || WORKERS < 1) {
  console.error("SOAK_SECONDS must be a positive number and SOAK_WORKERS a positive integer");
  process.exit(2);
}

const watchdog = setTimeout(() => {
  console.error(`soak: FAIL watchdog: the run took longer than ${WATCHDOG_MS / 1000} s`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

type Op = "register" | "login" | "profile" | "set_picture" | "entry" | "random" | "logout" | "delete" | "pictures";

class Stats {
  requests = 0;
  readonly byOp = new Map<Op, Map<number | string, number>>();
  readonly failures: string[] = [];
  readonly latencies: number[] = [];

  record(op: Op, status: number | string, ms: number) {
    this.requests++;
    const counts = this.byOp.get(op) ?? new Map<number | string, number>();
    counts.set(status, (counts.get(status) ?? 0) + 1);
    this.byOp.set(op, counts);
    if (this.latencies.length < 200_000) this.latencies.push(ms);
    if (typeof status !== "number" || status >= 500) {
      if (this.failures.length < 20) this.failures.push(`${op}: ${status}`);
    }
  }

  get failed(): number {
    let count = 0;
    for (const counts of this.byOp.values()) for (const [status, n] of counts) if (typeof status !== "number" || status >= 500) count += n;
    return count;
  }

  percentile(p: number): number {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
  }
}

const stats = new Stats();
let server: ServerProcess;
let maxAnimeId = CATALOGUE_SIZE;

async function call(op: Op, path: string, init: { method?: string; token?: string; json?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Token ${init.token}`;
  if (init.json !== undefined) headers["content-type"] = "application/json";
  const started = performance.now();
  try {
    const response = await fetch(server.base + path, {
      method: init.method ?? "GET",
      headers,
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    stats.record(op, response.status, performance.now() - started);
    return { status: response.status, text };
  } catch (error) {
    const name = (error as Error).name === "TimeoutError" ? `no answer within ${REQUEST_TIMEOUT_MS} ms` : `network error (${(error as Error).message})`;
    stats.record(op, name, performance.now() - started);
    return { status: 0, text: "" };
  }
}

let accounts = 0;
const newAccount = () => {
  const id = `${process.pid.toString(36)}${(accounts++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return { username: `soak_${id}`, email: `soak.${id}@example.com`, password: `soak password ${id}` };
};

/** One simulated client: an account of its own, and a random mix of everything the API does. */
async function worker(deadline: number) {
  let account = newAccount();
  let token: string | undefined;
  const register = async () => {
    account = newAccount();
    const answer = await call("register", "/account/register", { method: "POST", json: account });
    token = answer.status === 200 ? (JSON.parse(answer.text) as { token: string }).token : undefined;
  };
  const login = async () => {
    const answer = await call("login", "/account/login", { method: "POST", json: { username: account.username, password: account.password } });
    if (answer.status === 200) token = (JSON.parse(answer.text) as { token: string }).token;
  };
  await register();
  while (performance.now() < deadline) {
    if (!token) {
      await register();
      continue;
    }
    // Mostly reads, as real clients do; about one request in ten hashes a password (argon2id).
    const roll = Math.random();
    if (roll < 0.3) await call("entry", `/anime/entry/${1 + Math.floor(Math.random() * maxAnimeId * 1.02)}`); // ~2% unknown ids
    else if (roll < 0.5) await call("random", "/anime/random");
    else if (roll < 0.75) await call("profile", "/account/profile", { token });
    else if (roll < 0.83) await call("set_picture", "/account/set_picture", { method: "POST", token, json: { id: 1 + Math.floor(Math.random() * 10) } });
    else if (roll < 0.87) await call("pictures", "/account/get_pictures", { token });
    else if (roll < 0.91) await login(); // a new token; the old one stays valid
    else if (roll < 0.94) {
      await call("logout", "/account/logout", { method: "POST", token });
      token = undefined;
      await login();
    } else if (roll < 0.95) {
      await call("delete", "/account/delete", { method: "POST", token });
      token = undefined; // a new account next round
    } else if (roll < 0.97) await register();
    else {
      // A wrong password: throttling is off, so it is only a failed login (400).
      await call("login", "/account/login", { method: "POST", json: { username: account.username, password: "not the password" } });
    }
  }
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  return kb / 1024;
}

const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
const quarters = <T>(values: T[]) => {
  const q = Math.max(1, Math.floor(values.length / 4));
  return { first: values.slice(0, q), last: values.slice(values.length - q) };
};

async function main(): Promise<number> {
  let cluster: PrivateCluster | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    if (!hasPgBinaries) {
      console.error("soak: needs DATABASE_URL, or the PostgreSQL 15 binaries for a private cluster");
      return 2;
    }
    console.log("soak: no DATABASE_URL; starting a private PostgreSQL 15 cluster");
    cluster = await createCluster();
    adminUrl = cluster.adminUrl;
  }
  const databaseUrl = await createDatabaseIn(adminUrl, "lumotist_soak");
  const dbName = new URL(databaseUrl).pathname.slice(1);
  const monitor = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    // A catalogue to read, imported the way production does it.
    const release = join(tmpdir(), `lumotist-soak-${process.pid}.json`);
    await writeRelease(release, generateEntries(CATALOGUE_SIZE, 42));
    await runImport(release, { DATABASE_URL: databaseUrl }, 120_000);

    server = await spawnServer({
      DATABASE_URL: databaseUrl,
      THROTTLE: "off",
      LOG_LEVEL: "warn",
      // Production password hashing, not the tests' cheap one.
      PASSWORD_HASH_MEMORY_KIB: "19456",
      PASSWORD_HASH_TIME_COST: "2",
    });
    const catalogue = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    const [{ max }] = await catalogue<[{ max: number | null }]>`select max(id)::int as max from anime`;
    await catalogue.end();
    maxAnimeId = max ?? CATALOGUE_SIZE;
    console.log(`soak: server pid ${server.pid} at ${server.base}, database ${dbName}, ${CATALOGUE_SIZE} anime, ${WORKERS} workers, ${SECONDS} s`);

    const samples: { at: number; rss: number; connections: number }[] = [];
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [{ count }] = await monitor<[{ count: number }]>`
          select count(*)::int as count from pg_stat_activity where datname = ${dbName}`;
        samples.push({ at: (performance.now() - started) / 1000, rss: rssMiB(server.pid), connections: count });
        await Bun.sleep(SAMPLE_MS);
      }
    })();
    await Promise.all(Array.from({ length: WORKERS }, () => worker(deadline)));
    sampling = false;
    await sampler;
    const elapsed = (performance.now() - started) / 1000;

    const ready = await call("random", "/ready").then((answer) => answer.status);
    // Figures.
    const rss = quarters(samples.map((s) => s.rss));
    const connections = quarters(samples.map((s) => s.connections));
    const rssFirst = mean(rss.first);
    const rssLast = mean(rss.last);
    const connFirst = mean(connections.first);
    const connLast = mean(connections.last);
    const rssLimit = FACTOR * rssFirst + RSS_SLACK_MIB;
    const connLimit = FACTOR * connFirst + CONNECTION_SLACK;
    console.log("\nsoak: statuses by operation");
    for (const [op, counts] of [...stats.byOp].sort()) {
      console.log(`  ${op.padEnd(12)} ${[...counts].sort().map(([status, n]) => `${status}: ${n}`).join(", ")}`);
    }
    console.log("soak: samples (s, RSS MiB, DB connections)");
    for (const sample of samples.filter((_, i) => i % 5 === 0 || i === samples.length - 1)) {
      console.log(`  ${sample.at.toFixed(0).padStart(4)}  ${sample.rss.toFixed(1).padStart(7)}  ${String(sample.connections).padStart(3)}`);
    }
    console.log(
      `soak: RSS first-quarter mean ${rssFirst.toFixed(1)} MiB, last-quarter mean ${rssLast.toFixed(1)} MiB (limit ${rssLimit.toFixed(1)}), max ${Math.max(...samples.map((s) => s.rss)).toFixed(1)} MiB`,
    );
    console.log(
      `soak: DB connections first-quarter mean ${connFirst.toFixed(1)}, last-quarter mean ${connLast.toFixed(1)} (limit ${connLimit.toFixed(1)}), max ${Math.max(...samples.map((s) => s.connections))}`,
    );
    console.log(`soak: latency p50 ${stats.percentile(50).toFixed(1)} ms, p99 ${stats.percentile(99).toFixed(1)} ms, max ${Math.max(...stats.latencies).toFixed(0)} ms`);

    const problems: string[] = [];
    if (stats.failed > 0) problems.push(`${stats.failed} requests with a 5xx or no answer (${stats.failures.join("; ")})`);
    if (rssLast > rssLimit) problems.push(`RSS grew: ${rssFirst.toFixed(1)} -> ${rssLast.toFixed(1)} MiB`);
    if (connLast > connLimit) problems.push(`DB connections grew: ${connFirst.toFixed(1)} -> ${connLast.toFixed(1)}`);
    if (ready !== 200) problems.push(`/ready answered ${ready} after the run`);
    if (samples.length < 8) problems.push(`only ${samples.length} samples`);
    const verdict = problems.length ? "FAIL" : "PASS";
    console.log(
      `soak: ${verdict} ${elapsed.toFixed(0)} s, ${WORKERS} workers, ${stats.requests} requests (${(stats.requests / elapsed).toFixed(0)}/s), ` +
        `${stats.failed} 5xx/unanswered, RSS ${rssFirst.toFixed(1)} -> ${rssLast.toFixed(1)} MiB, DB connections ${connFirst.toFixed(1)} -> ${connLast.toFixed(1)}` +
        (problems.length ? ` — ${problems.join("; ")}` : ""),
    );
    return problems.length ? 1 : 0;
  } finally {
    await server?.stop();
    await monitor.end();
    await dropDatabase(databaseUrl).catch(() => {});
    await cluster?.destroy();
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`soak: FAIL ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
}
