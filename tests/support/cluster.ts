// Helpers for the fault tests: a private PostgreSQL 15 cluster a test may stop, kill and restart
// (scripts/pg-cluster.sh), server processes spawned as `bun src/main.ts`, the importer run as
// `bun run import`, and small polling utilities. Everything started here is also stopped when the
// test process exits, so an aborted run leaves no cluster or server behind.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { TEST_ENV, requestInit } from "./server.ts";

export const ROOT = resolve(import.meta.dir, "..", "..");
export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";
const PG_CLUSTER = join(ROOT, "scripts", "pg-cluster.sh");

/** The private-cluster tests need the PostgreSQL 15 server binaries (initdb, pg_ctl). */
export const hasPgBinaries = existsSync(join(PG_BIN, "initdb")) && existsSync(join(PG_BIN, "pg_ctl"));

const cleanups = new Set<() => void>();
process.on("exit", () => {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {}
  }
});

/** A TCP port nothing listens on right now (never 3000: that is the default server port). */
export function freePort(): number {
  for (;;) {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = listener.port;
    listener.stop(true);
    if (port !== 3000) return port;
  }
}

export const sleep = (ms: number) => Bun.sleep(ms);

/**
 * Polls `check` every `intervalMs` until it returns a truthy value or `timeoutMs` passes; returns
 * the value and how long it took. A check that throws counts as "not yet".
 */
export async function eventually<T>(
  check: () => Promise<T> | T,
  { timeoutMs, intervalMs = 25 }: { timeoutMs: number; intervalMs?: number },
): Promise<{ value: T | undefined; ms: number; ok: boolean }> {
  const started = performance.now();
  for (;;) {
    let value: T | undefined;
    try {
      value = await check();
    } catch {
      value = undefined;
    }
    const ms = performance.now() - started;
    if (value) return { value, ms, ok: true };
    if (ms >= timeoutMs) return { value, ms, ok: false };
    await sleep(intervalMs);
  }
}

/** fetch with a deadline: a hung request fails the test instead of hanging it. */
export function fetchWithin(url: string, init: RequestInit = {}, timeoutMs = 5_000): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

// ---------------------------------------------------------------------------------------------
// A private PostgreSQL cluster

export interface PrivateCluster {
  dir: string;
  port: number;
  /** The cluster's `postgres` database (superuser, trust authentication). */
  adminUrl: string;
  start(): Promise<void>;
  /** Fast shutdown: clients are disconnected, the server stops. */
  stop(): Promise<void>;
  /** Immediate shutdown, like a crash. */
  kill(): Promise<void>;
  /** Stops the cluster and deletes its files. */
  destroy(): Promise<void>;
}

async function pgCluster(...args: string[]): Promise<string> {
  const proc = Bun.spawn(["bash", PG_CLUSTER, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, PG_BIN } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`pg-cluster.sh ${args[0]} failed (${code}): ${err || out}`);
  return out.trim();
}

/** Initializes and starts a throwaway cluster in a new directory on a free port (~2-3 s). */
export async function createCluster(): Promise<PrivateCluster> {
  // Not created here: pg-cluster.sh creates it and, as root, hands it to the postgres user.
  const dir = join(tmpdir(), `lumotist-pg-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`);
  const port = freePort();
  const cleanup = () => {
    spawnSync("bash", [PG_CLUSTER, "kill", dir], { env: { ...process.env, PG_BIN }, stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.add(cleanup);
  const adminUrl = await pgCluster("start", dir, String(port));
  // pg-cluster.sh trades durability for speed (synchronous_commit=off): a crash (immediate shutdown)
  // may then lose commits the server already acknowledged. Fault tests crash the cluster on purpose,
  // so commits must reach the WAL before they are acknowledged, as in production.
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe("alter system set synchronous_commit = on");
    await admin.unsafe("select pg_reload_conf()");
  } finally {
    await admin.end();
  }
  return {
    dir,
    port,
    adminUrl,
    start: async () => void (await pgCluster("start", dir, String(port))),
    stop: async () => void (await pgCluster("stop", dir)),
    kill: async () => void (await pgCluster("kill", dir)),
    async destroy() {
      await pgCluster("kill", dir);
      rmSync(dir, { recursive: true, force: true });
      cleanups.delete(cleanup);
    },
  };
}

/** A new database in the server `adminUrl` names; returns its URL. */
export async function createDatabaseIn(adminUrl: string, prefix = "lumotist_rel"): Promise<string> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.href;
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const adminUrl = new URL(url);
  adminUrl.pathname = "/postgres";
  adminUrl.search = "";
  const admin = postgres(adminUrl.href, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

/** `url` with `application_name` set, so a test can tell an instance's connections apart in pg_stat_activity. */
export function withApplicationName(url: string, name: string): string {
  const named = new URL(url);
  named.searchParams.set("application_name", name);
  return named.href;
}

// ---------------------------------------------------------------------------------------------
// Server processes

export interface ServerProcess {
  base: string;
  pid: number;
  /** The process's stdout and stderr lines so far. */
  logs: string[];
  request(path: string, init?: RequestInit & { token?: string; json?: unknown; timeoutMs?: number }): Promise<Response>;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown), SIGKILL if it takes longer than 15 s. */
  stop(): Promise<void>;
  exited: Promise<number>;
}

/** The environment a spawned process gets: nothing of the test runner's own, apart from PATH and HOME. */
function processEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" };
  if (process.env.TMPDIR) base.TMPDIR = process.env.TMPDIR;
  return { ...base, ...env };
}

async function collectLines(stream: ReadableStream<Uint8Array>, into: string[], onLine?: (line: string) => void) {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, newline);
      rest = rest.slice(newline + 1);
      into.push(line);
      onLine?.(line);
    }
  }
  if (rest) into.push(rest);
}

/**
 * Spawns `bun src/main.ts` with the test environment (cheap argon2id, no throttling) plus `env`, on
 * a free port (unless `env.PORT` names one), and waits until it answers /health.
 */
export async function spawnServer(env: Record<string, string>, { startTimeoutMs = 30_000 } = {}): Promise<ServerProcess> {
  const logs: string[] = [];
  const port = env.PORT && env.PORT !== "0" ? Number(env.PORT) : freePort();
  const proc = Bun.spawn([process.execPath, "src/main.ts"], {
    cwd: ROOT,
    env: processEnv({ ...TEST_ENV, ...env, PORT: String(port) }),
    stdout: "pipe",
    stderr: "pipe",
  });
  const cleanup = () => proc.kill("SIGKILL");
  cleanups.add(cleanup);
  const exited = proc.exited.then((code) => (cleanups.delete(cleanup), code));
  void collectLines(proc.stdout, logs);
  void collectLines(proc.stderr, logs);

  const base = `http://127.0.0.1:${port}`;
  let gone: number | undefined;
  void exited.then((code) => (gone = code));
  const up = await eventually(
    async () => {
      if (gone !== undefined) return "exited";
      return (await fetchWithin(`${base}/health`, {}, 1_000)).status === 200 ? "up" : undefined;
    },
    { timeoutMs: startTimeoutMs, intervalMs: 50 },
  );
  if (up.value !== "up") {
    proc.kill("SIGKILL");
    const code = await exited;
    throw new Error(`server ${up.value === "exited" ? `exited with ${code}` : `did not answer within ${startTimeoutMs} ms`}:\n${logs.join("\n")}`);
  }
  return {
    base,
    pid: proc.pid,
    logs,
    exited,
    request: (path, init = {}) => fetchWithin(base + path, requestInit(init), init.timeoutMs ?? 10_000),
    async kill() {
      proc.kill("SIGKILL");
      await exited;
    },
    async stop() {
      proc.kill("SIGTERM");
      const code = await Promise.race([exited, sleep(15_000).then(() => undefined)]);
      if (code === undefined) {
        proc.kill("SIGKILL");
        await exited;
      }
    },
  };
}

export interface ImportProcess {
  pid: number;
  exited: Promise<number>;
  output(): string;
  kill(): Promise<void>;
}

/**
 * The command `bun run import` runs (package.json's "import" script), run directly: `bun run` would
 * put a process of its own in between, and a SIGKILL sent to that one leaves the importer running.
 */
function importCommand(): string[] {
  const script = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.import;
  if (!script) throw new Error('package.json has no "import" script');
  const [program, ...args] = script.trim().split(/\s+/);
  if (program !== "bun") throw new Error(`unexpected import script: ${script}`);
  return [process.execPath, ...args];
}

/** Runs the importer (`bun run import <file>`) against the database `env` names. */
export function spawnImport(file: string, env: Record<string, string>): ImportProcess {
  const lines: string[] = [];
  const proc = Bun.spawn([...importCommand(), file], {
    cwd: ROOT,
    env: processEnv({ LOG_LEVEL: "warn", ...env }),
    stdout: "pipe",
    stderr: "pipe",
  });
  const cleanup = () => proc.kill("SIGKILL");
  cleanups.add(cleanup);
  void collectLines(proc.stdout, lines);
  void collectLines(proc.stderr, lines);
  const exited = proc.exited.then((code) => (cleanups.delete(cleanup), code));
  return {
    pid: proc.pid,
    exited,
    output: () => lines.join("\n"),
    async kill() {
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** Runs the importer to completion; throws with its output when it fails. */
export async function runImport(file: string, env: Record<string, string>, timeoutMs = 60_000): Promise<string> {
  const run = spawnImport(file, env);
  const code = await Promise.race([run.exited, sleep(timeoutMs).then(() => "timeout" as const)]);
  if (code === "timeout") {
    await run.kill();
    throw new Error(`import did not finish within ${timeoutMs} ms:\n${run.output()}`);
  }
  if (code !== 0) throw new Error(`import exited with ${code}:\n${run.output()}`);
  return run.output();
}

/** Writes a synthetic release of `count` entries with scripts/generate-catalogue.ts. */
export async function generateCatalogue(count: number, file: string, seed = 1): Promise<void> {
  const proc = Bun.spawn([process.execPath, "scripts/generate-catalogue.ts", String(count), file, "--seed", String(seed)], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`generate-catalogue failed (${code}): ${err}`);
}

// ---------------------------------------------------------------------------------------------
// A TCP proxy in front of PostgreSQL, to inject network faults into one instance's connections

export interface PgProxy {
  port: number;
  /** `url` (a PostgreSQL URL) rewritten to go through the proxy. */
  urlFor(url: string): string;
  /** Cuts every connection and refuses new ones (accepts and closes them) until heal(). */
  partition(): void;
  heal(): void;
  /**
   * Arms a one-shot trigger: the first time a connection reports a committed change (a
   * DELETE/UPDATE/INSERT that affected rows, followed by ReadyForQuery with the connection idle,
   * i.e. outside any transaction: the change is durable), that answer is delivered and the proxy
   * partitions at once. Resolves when it fired.
   */
  partitionAfterNextCommit(): Promise<void>;
  /** Delays what the server sends on every connection but the LISTEN one by `ms` (0: no delay). */
  delayQueryResults(ms: number): void;
  /** How many connections the proxy has accepted, and how many are open now. */
  stats(): { accepted: number; open: number };
  close(): Promise<void>;
}

/** Parses the server→client stream into messages (type byte, int32 length including itself). */
class ServerMessages {
  private buffer: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): { type: string; body: Buffer }[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const messages: { type: string; body: Buffer }[] = [];
    while (this.buffer.length >= 5) {
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) break;
      messages.push({ type: String.fromCharCode(this.buffer[0]!), body: this.buffer.subarray(5, 1 + length) });
      this.buffer = this.buffer.subarray(1 + length);
    }
    return messages;
  }
}

export async function startPgProxy(target: { host: string; port: number }): Promise<PgProxy> {
  const net = await import("node:net");
  const sockets = new Set<import("node:net").Socket>();
  let partitioned = false;
  let delayMs = 0;
  let accepted = 0;
  let commitTrigger: (() => void) | undefined;

  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  const server = net.createServer((client) => {
    accepted++;
    if (partitioned) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    let isListener = false;
    let changedRows = false;
    let sendChain = Promise.resolve();
    const parser = new ServerMessages();
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);

    client.on("data", (chunk: Buffer) => {
      if (!isListener && chunk.includes("listen lumotist_changes")) isListener = true;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      let fire = false;
      for (const message of parser.push(chunk)) {
        if (message.type === "C" && /^(DELETE|UPDATE|INSERT 0) [1-9]/.test(message.body.toString("latin1"))) changedRows = true;
        if (message.type === "C" && /^ROLLBACK/.test(message.body.toString("latin1"))) changedRows = false;
        if (message.type === "Z") {
          if (message.body[0] === 0x49 /* I: idle, not in a transaction */ && changedRows && commitTrigger) fire = true;
          if (message.body[0] === 0x49) changedRows = false;
        }
      }
      const deliver = () => {
        if (client.destroyed) return;
        if (fire && commitTrigger) {
          const trigger = commitTrigger;
          commitTrigger = undefined;
          partitioned = true;
          // This answer still reaches the client (end() flushes it); then every connection goes down.
          sockets.delete(client);
          client.end(chunk);
          cutAll();
          trigger();
          return;
        }
        client.write(chunk);
      };
      if (delayMs > 0 && !isListener) {
        const wait = delayMs;
        sendChain = sendChain.then(() => Bun.sleep(wait)).then(deliver);
      } else sendChain = sendChain.then(deliver);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as import("node:net").AddressInfo).port;
  const cleanup = () => server.close();
  cleanups.add(cleanup);

  return {
    port,
    urlFor(url) {
      const proxied = new URL(url);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(port);
      return proxied.href;
    },
    partition() {
      partitioned = true;
      cutAll();
    },
    heal() {
      partitioned = false;
    },
    partitionAfterNextCommit() {
      return new Promise<void>((done) => (commitTrigger = done));
    },
    delayQueryResults(ms) {
      delayMs = ms;
    },
    stats: () => ({ accepted, open: sockets.size / 2 }),
    async close() {
      cutAll();
      await new Promise<void>((done) => server.close(() => done()));
      cleanups.delete(cleanup);
    },
  };
}
