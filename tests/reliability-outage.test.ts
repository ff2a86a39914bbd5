// Database outages: the server runs on a private PostgreSQL 15 cluster that the test stops (fast
// shutdown), kills (immediate shutdown, like a crash) and starts again. While the database is down,
// whatever needs it answers the contract's 503 quickly (never a hang, never a 500) and /ready says
// so; when it is back the server recovers by itself, and a server started while it is down waits
// for it. The cluster is the test's own, so this runs in both CI passes (with or without
// DATABASE_URL); it needs the PostgreSQL 15 server binaries.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import { type RunningServer, startServer } from "../src/main.ts";
import { type PrivateCluster, PG_BIN, createCluster, createDatabaseIn, eventually, fetchWithin, hasPgBinaries, sleep } from "./support/cluster.ts";
import type { TestDatabase } from "./support/db.ts";
import { TEST_ENV, type TestRequestInit, type TestServer, registerUser, requestInit, startTestServer } from "./support/server.ts";

if (!hasPgBinaries) console.warn(`skipping tests/reliability-outage.test.ts: no PostgreSQL 15 server binaries in ${PG_BIN}`);

const UNAVAILABLE = { detail: "Service temporarily unavailable." };
/** How fast a request that needs the database must fail while it is down. */
const FAIL_FAST_MS = 2_000;
/** How fast the server must recover once the database is back. */
const RECOVER_MS = 5_000;

describe.skipIf(!hasPgBinaries)("database outage (a private PostgreSQL 15 cluster)", () => {
  let cluster: PrivateCluster;
  let databaseUrl: string;
  let server: TestServer;
  let user: Awaited<ReturnType<typeof registerUser>>;
  let cachedToken: string;
  let entryIds: number[];

  beforeAll(async () => {
    cluster = await createCluster();
    databaseUrl = await createDatabaseIn(cluster.adminUrl, "lumotist_outage");
    const database: TestDatabase = { mode: "postgres", env: { DATABASE_URL: databaseUrl }, url: databaseUrl, drop: async () => {} };
    server = await startTestServer({ LOAD_SAMPLE: "on" }, database);
    user = await registerUser(server);
    cachedToken = user.token;
    expect((await server.request("/account/profile", { token: cachedToken })).status).toBe(200);
    entryIds = [];
    for (let i = 0; entryIds.length < 6 && i < 200; i++) {
      const { id } = (await (await server.request("/anime/random")).json()) as { id: number };
      if (!entryIds.includes(id)) entryIds.push(id);
    }
    expect(entryIds.length).toBe(6);
  }, 60_000);

  afterAll(async () => {
    await server?.running.stop().catch(() => {});
    await cluster?.destroy();
  }, 60_000);

  /** A fresh token nobody has used yet, so no cache knows it. */
  async function freshToken(): Promise<string> {
    const response = await server.request("/account/login", { method: "POST", json: { username: user.username, password: user.password } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { token: string }).token;
  }

  /** Sends the request with a deadline and returns status, body and how long it took. */
  async function timed(path: string, init: TestRequestInit = {}) {
    const started = performance.now();
    const response = await fetchWithin(server.base + path, requestInit(init), FAIL_FAST_MS + 3_000).catch((error) => {
      throw new Error(`${init.method ?? "GET"} ${path}: no answer within ${FAIL_FAST_MS + 3_000} ms (${error})`);
    });
    const text = await response.text();
    return { status: response.status, text, headers: response.headers, ms: performance.now() - started };
  }

  /** Every request that needs the database answers 503 with the contract's body, within 2 s. */
  async function expectUnavailable(uncachedToken: string, uncachedEntry: number) {
    const requests: [string, TestRequestInit][] = [
      ["/account/login", { method: "POST", json: { username: user.username, password: user.password } }],
      ["/account/profile", { token: uncachedToken }],
      [`/anime/entry/${uncachedEntry}`, {}],
      ["/account/register", { method: "POST", json: { username: `outage_${Date.now()}`, email: `outage${Date.now()}@example.com`, password: "correct horse battery" } }],
      ["/account/logout", { method: "POST", token: uncachedToken }],
    ];
    for (const [path, init] of requests) {
      const result = await timed(path, init);
      expect({ path, status: result.status, body: result.text }).toEqual({ path, status: 503, body: JSON.stringify(UNAVAILABLE) });
      expect(result.ms).toBeLessThan(FAIL_FAST_MS);
    }
    const ready = await timed("/ready");
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(FAIL_FAST_MS);
    // Liveness does not depend on the database.
    expect((await timed("/health")).status).toBe(200);
    // What the caches knew is not trusted while notifications cannot arrive: 503 as well, or (if
    // an implementation chose to serve it) 200, but never anything else.
    expect([200, 503]).toContain((await timed("/account/profile", { token: cachedToken })).status);
    expect([200, 503]).toContain((await timed("/anime/random")).status);
  }

  async function expectRecovery(since: number) {
    const recovered = await eventually(async () => (await timed("/ready")).status === 200, { timeoutMs: RECOVER_MS, intervalMs: 100 });
    expect(recovered.ok).toBe(true);
    const login = await eventually(async () => (await timed("/account/login", { method: "POST", json: { username: user.username, password: user.password } })).status === 200, {
      timeoutMs: Math.max(500, RECOVER_MS - (performance.now() - since)),
      intervalMs: 100,
    });
    expect(login.ok).toBe(true);
    expect((await timed("/account/profile", { token: cachedToken })).status).toBe(200);
    expect((await timed(`/anime/entry/${entryIds[0]}`)).status).toBe(200);
    const registered = await registerUser(server);
    expect((await timed("/account/profile", { token: registered.token })).status).toBe(200);
  }

  test("fast shutdown: 503 within 2 s while down, recovery by itself within 5 s", async () => {
    const uncached = await freshToken();
    await cluster.stop();
    await expectUnavailable(uncached, entryIds[1]!);
    await cluster.start();
    await expectRecovery(performance.now());
  }, 30_000);

  test("crash (immediate shutdown): the same", async () => {
    const uncached = await freshToken();
    await cluster.kill();
    await expectUnavailable(uncached, entryIds[2]!);
    await cluster.start();
    await expectRecovery(performance.now());
  }, 30_000);

  test("a longer outage under steady traffic: every request fails fast, recovery stays quick", async () => {
    const uncached = await freshToken();
    await cluster.kill();
    // Many failed connection attempts in a row must not make later requests wait longer and longer.
    const slowest = { ms: 0, path: "" };
    const until = performance.now() + 3_000;
    for (let i = 0; performance.now() < until; i++) {
      const path = [`/anime/entry/${entryIds[3]}`, "/account/profile", "/ready"][i % 3]!;
      const result = await timed(path, { token: uncached });
      expect(result.status).toBe(503);
      if (result.ms > slowest.ms) Object.assign(slowest, { ms: result.ms, path });
      await sleep(20);
    }
    expect(slowest.ms).toBeLessThan(FAIL_FAST_MS);
    await cluster.start();
    await expectRecovery(performance.now());
  }, 30_000);

  test("a short outage between two requests leaves no broken connection behind", async () => {
    // Every pooled connection is dead after a restart; the first requests afterwards must not fail.
    expect((await timed("/account/profile", { token: cachedToken })).status).toBe(200);
    await cluster.kill();
    await cluster.start();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => timed(`/anime/entry/${entryIds[i % entryIds.length]}`)));
    const statuses = results.map((r) => r.status);
    // Right after the restart a request may still meet a connection that died with the old
    // server: it may answer 503, never 500, and the server recovers within RECOVER_MS.
    for (const status of statuses) expect([200, 503]).toContain(status);
    await expectRecovery(performance.now());
  }, 30_000);

  test("no request during the outages was answered with a 500, and nothing unexpected was logged", () => {
    const problems = server.logs.filter((line) => /"status":5(?!03)\d\d|"level":"error"/.test(line));
    expect(problems).toEqual([]);
  }, 30_000);

  test("connections exhausted (too many connections): 503, never 500, and fine again once some are free", async () => {
    // The server connects as a role of its own, whose connection limit the test then lowers to what
    // the server already holds: every new connection it opens is refused with 53300.
    const admin = postgres(cluster.adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe("create role lumotist_limited login");
    await admin.unsafe("create database lumotist_limited owner lumotist_limited");
    const url = new URL(cluster.adminUrl);
    url.username = "lumotist_limited";
    url.pathname = "/lumotist_limited";
    const limited = await startTestServer({ LOAD_SAMPLE: "on", DB_POOL_MAX: "10" }, { mode: "postgres", env: { DATABASE_URL: url.href }, url: url.href, drop: async () => {} });
    try {
      const someone = await registerUser(limited);
      const [{ count }] = await admin<[{ count: number }]>`select count(*)::int as count from pg_stat_activity where usename = 'lumotist_limited'`;
      await admin.unsafe(`alter role lumotist_limited connection limit ${count}`);
      // Concurrent requests make the pool open more connections: those are refused.
      const statuses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          fetchWithin(`${limited.base}/anime/entry/${(i % 30) + 1}`, {}, FAIL_FAST_MS + 3_000).then((r) => r.status),
        ),
      );
      for (const status of statuses) expect([200, 503]).toContain(status);
      // A new instance started now waits for a connection instead of giving up.
      const logs: string[] = [];
      let started: RunningServer | undefined;
      let failed: unknown;
      const starting = startServer(loadConfig({ ...TEST_ENV, DATABASE_URL: url.href }), createLogger("info", (line) => void logs.push(line))).then(
        (value) => (started = value),
        (error) => (failed = error),
      );
      await sleep(1_000);
      expect(failed).toBeUndefined();
      await admin.unsafe("alter role lumotist_limited connection limit -1");
      await eventually(() => started !== undefined || failed !== undefined, { timeoutMs: 10_000 });
      await starting;
      expect(failed).toBeUndefined();
      await started?.stop();
      const login = await eventually(async () => (await limited.request("/account/login", { method: "POST", json: { username: someone.username, password: someone.password } })).status === 200, { timeoutMs: RECOVER_MS });
      expect(login.ok).toBe(true);
      expect(limited.logs.filter((line) => /"status":500|"level":"error"/.test(line))).toEqual([]);
    } finally {
      await admin.unsafe("alter role lumotist_limited connection limit -1").catch(() => {});
      await limited.running.stop();
      await admin.end();
    }
  }, 60_000);

  test("a server started while the database is down waits for it, then serves", async () => {
    await cluster.stop();
    const logs: string[] = [];
    const config = loadConfig({ ...TEST_ENV, DATABASE_URL: databaseUrl, LOG_LEVEL: "info" });
    let running: RunningServer | undefined;
    let failed: unknown;
    const starting = startServer(config, createLogger("info", (line) => void logs.push(line))).then(
      (value) => (running = value),
      (error) => (failed = error),
    );
    try {
      await sleep(1_500);
      expect(failed).toBeUndefined();
      expect(running).toBeUndefined(); // still waiting for the database, not given up
      expect(logs.some((line) => line.includes("database unreachable; retrying"))).toBe(true);
      await cluster.start();
      const up = await eventually(() => running !== undefined || failed !== undefined, { timeoutMs: 10_000, intervalMs: 50 });
      expect(up.ok).toBe(true);
      expect(failed).toBeUndefined();
      const base = running!.url.href.replace(/\/$/, "");
      expect((await fetchWithin(`${base}/ready`)).status).toBe(200);
      const login = await fetchWithin(`${base}/account/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: user.username, password: user.password }),
      });
      expect(login.status).toBe(200);
    } finally {
      await starting;
      await running?.stop();
    }
  }, 30_000);
});
