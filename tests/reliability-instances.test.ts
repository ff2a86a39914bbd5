// Several server instances on one PostgreSQL database: whatever one instance changes (a revoked or
// expired token, a new picture, an imported catalogue) is seen by the others within a second, even
// though they had the old state cached, and even when an instance's notification connection or its
// database connections fail at the worst moment.
//
// A is the real server in this process (startServer, as the harness runs it); B is a separate
// `bun src/main.ts` process. Embedded mode is single-process by design, so this file needs
// DATABASE_URL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { type GeneratedEntry, generateEntries, writeRelease } from "../scripts/generate-catalogue.ts";
import { importCatalogue } from "../src/anime/import/importer.ts";
import {
  type PgProxy,
  type ServerProcess,
  eventually,
  runImport,
  sleep,
  spawnServer,
  startPgProxy,
  withApplicationName,
} from "./support/cluster.ts";
import { type TestDatabase, adminUrl, createTestDatabase } from "./support/db.ts";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";

const SKIP_REASON = "needs DATABASE_URL: several instances share one PostgreSQL (the embedded database is single-process by design)";
if (!adminUrl) console.warn(`skipping tests/reliability-instances.test.ts: ${SKIP_REASON}`);

type Client = Pick<TestServer, "request">;

const profile = (server: Client, token: string) => server.request("/account/profile", { token });
const profileStatus = async (server: Client, token: string) => (await profile(server, token)).status;
const pictureOf = async (server: Client, token: string) => ((await (await profile(server, token)).json()) as { data: { picture: string } }).data.picture;

/** Polls until `server` refuses `token` (401); returns how long that took. */
async function refusedWithin(server: Client, token: string, timeoutMs = 1_000) {
  const result = await eventually(async () => (await profileStatus(server, token)) === 401, { timeoutMs, intervalMs: 20 });
  return result;
}

async function login(server: Client, username: string, password: string) {
  const response = await server.request("/account/login", { method: "POST", json: { username, password } });
  expect(response.status).toBe(200);
  return (await response.json()) as { token: string; expiry: string };
}

async function post(server: Client, path: string, token: string, json?: unknown) {
  return server.request(path, { method: "POST", token, json });
}

describe.skipIf(!adminUrl)("several instances, one database", () => {
  let database: TestDatabase;
  let a: TestServer;
  let b: ServerProcess;
  let sql: postgres.Sql; // the test's own connection to the shared database
  let admin: postgres.Sql; // the server's maintenance database, for ALTER DATABASE
  let dbName: string;
  let workDir: string;
  let pictures: Map<number, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    dbName = new URL(database.url!).pathname.slice(1);
    a = await startTestServer({ LOG_LEVEL: "warn" }, database);
    b = await spawnServer({ DATABASE_URL: withApplicationName(database.url!, "lumotist_b"), LOG_LEVEL: "warn" });
    sql = postgres(database.url!, { max: 1, onnotice: () => {} });
    admin = postgres(adminUrl!, { max: 1, onnotice: () => {} });
    workDir = mkdtempSync(join(tmpdir(), "lumotist-instances-"));
    const user = await registerUser(a);
    const listed = (await (await a.request("/account/get_pictures", { token: user.token })).json()) as {
      data: Record<string, { id: number; picture: string }[]>;
    };
    pictures = new Map(Object.values(listed.data).flat().map((p) => [p.id, p.picture]));
  }, 60_000);

  afterAll(async () => {
    await admin?.unsafe(`alter database ${dbName} allow_connections true`).catch(() => {});
    await sql?.end();
    await admin?.end();
    await b?.stop();
    await a?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  /** A user registered through A, with one more token from a login, both cached on B. */
  async function userCachedOnB() {
    const user = await registerUser(a);
    const second = await login(a, user.username, user.password);
    expect(await profileStatus(b, user.token)).toBe(200);
    expect(await profileStatus(b, second.token)).toBe(200);
    return { ...user, second: second.token };
  }

  describe("a token revoked through one instance is refused by the other within 1 s", () => {
    test("logout", async () => {
      const user = await userCachedOnB();
      expect((await post(a, "/account/logout", user.token)).status).toBe(200);
      const refused = await refusedWithin(b, user.token);
      expect(refused.ok).toBe(true);
      // Only that token: the user's other token still works on both.
      expect(await profileStatus(b, user.second)).toBe(200);
      expect(await profileStatus(a, user.second)).toBe(200);
    });

    test("logout through B is refused by A (the in-process instance) too", async () => {
      const user = await registerUser(a);
      expect(await profileStatus(a, user.token)).toBe(200); // cached on A
      expect((await post(b, "/account/logout", user.token)).status).toBe(200);
      expect((await refusedWithin(a, user.token)).ok).toBe(true);
    });

    test("logoutall", async () => {
      const user = await userCachedOnB();
      expect((await post(a, "/account/logoutall", user.token)).status).toBe(200);
      expect((await refusedWithin(b, user.token)).ok).toBe(true);
      expect((await refusedWithin(b, user.second)).ok).toBe(true);
    });

    test("account deletion", async () => {
      const user = await userCachedOnB();
      expect((await post(a, "/account/delete", user.token)).status).toBe(200);
      expect((await refusedWithin(b, user.token)).ok).toBe(true);
      expect((await refusedWithin(b, user.second)).ok).toBe(true);
      // The username is free again, through the other instance as well.
      const again = await b.request("/account/register", { method: "POST", json: { username: user.username, email: user.email, password: user.password } });
      expect(again.status).toBe(200);
    });

    test("expiry (TOKEN_TTL=2s on the issuing instance)", async () => {
      const shortLived = await startTestServer({ LOG_LEVEL: "warn", TOKEN_TTL: "2s" }, database);
      try {
        const user = await registerUser(a);
        const issued = await login(shortLived, user.username, user.password);
        const expiry = Date.parse(issued.expiry);
        expect(expiry - Date.now()).toBeLessThanOrEqual(2_000);
        expect(await profileStatus(b, issued.token)).toBe(200); // B caches it
        await sleep(Math.max(0, expiry - Date.now()));
        const refused = await refusedWithin(b, issued.token);
        expect(refused.ok).toBe(true);
        expect(await profileStatus(shortLived, issued.token)).toBe(401);
      } finally {
        await shortLived.running.stop(); // not stop(): the database is shared
      }
    });
  });

  test("tokens evicted by the per-user cap are refused by the other instance, however many there are", async () => {
    // 300 tokens of one user (written straight into the database: 300 logins would take a while),
    // one of them cached on B; then a login on an instance with TOKEN_LIMIT_PER_USER=1 evicts all
    // of them at once. Their digests would not fit in one notification (8000 bytes at most).
    const user = await registerUser(a);
    const tokens = Array.from({ length: 300 }, () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex"));
    const digest = (token: string) => new Bun.CryptoHasher("sha256").update(token).digest() as Buffer;
    const rows = tokens.map((token, i) => ({ digest: digest(token), user_id: user.id, expires_at: new Date(Date.now() + 3_600_000 + i) }));
    await sql`insert into tokens ${sql(rows, "digest", "user_id", "expires_at")}`;
    expect(await profileStatus(b, tokens[0]!)).toBe(200); // cached on B
    const capped = await startTestServer({ LOG_LEVEL: "warn", TOKEN_LIMIT_PER_USER: "1" }, database);
    try {
      const issued = await login(capped, user.username, user.password);
      expect((await refusedWithin(b, tokens[0]!)).ok).toBe(true);
      expect((await refusedWithin(b, user.token)).ok).toBe(true);
      expect(await profileStatus(b, issued.token)).toBe(200);
    } finally {
      await capped.running.stop();
    }
  });

  test("set_picture through A shows on B's profile within 1 s, and the other way round", async () => {
    const user = await registerUser(a);
    const before = await pictureOf(b, user.token); // B caches the profile
    expect((await post(a, "/account/set_picture", user.token, { id: 7 })).status).toBe(200);
    const seen = await eventually(async () => (await pictureOf(b, user.token)) === pictures.get(7), { timeoutMs: 1_000, intervalMs: 20 });
    expect(seen.ok).toBe(true);
    expect(before).not.toBe(pictures.get(7));

    expect(await pictureOf(a, user.token)).toBe(pictures.get(7)!); // cached on A now
    expect((await post(b, "/account/set_picture", user.token, { id: "3" })).status).toBe(200);
    expect((await eventually(async () => (await pictureOf(a, user.token)) === pictures.get(3), { timeoutMs: 1_000, intervalMs: 20 })).ok).toBe(true);
  });

  test("an import (bun run import, another process) is served by both instances within 1 s", async () => {
    const entries = generateEntries(30, 7);
    const file = join(workDir, "release.json");
    await writeRelease(file, entries.slice(0, 20));

    for (const server of [a, b]) expect((await server.request("/anime/random")).status).toBe(404); // empty catalogue
    await runImport(file, { DATABASE_URL: database.url! });
    for (const server of [a, b]) {
      const served = await eventually(async () => (await server.request("/anime/random")).status === 200, { timeoutMs: 1_000, intervalMs: 20 });
      expect(served.ok).toBe(true);
    }

    // B caches an entry; a re-import changes its title and adds entries: B serves the new state.
    const first = entries[0]!;
    const latecomer = entries[25]!; // 30 generated, 20 in the first release
    const idOf = async (title: string) => {
      const [row] = await sql<[{ id: number }?]>`select id from anime where title = ${title}`;
      if (!row) throw new Error(`no anime titled ${JSON.stringify(title)} after the import`);
      return row.id;
    };
    const id = await idOf(first.title);
    const entryOn = async (server: Client, entryId: number) => {
      const response = await server.request(`/anime/entry/${entryId}`);
      return response.status === 200 ? ((await response.json()) as { title: string }) : undefined;
    };
    expect((await entryOn(b, id))?.title).toBe(first.title);
    const renamed: GeneratedEntry[] = entries.map((entry, i) => (i === 0 ? { ...entry, title: "Renamed by the second import" } : entry));
    await writeRelease(file, renamed);
    await runImport(file, { DATABASE_URL: database.url! });
    const renamedSeen = await eventually(async () => (await entryOn(b, id))?.title === "Renamed by the second import", { timeoutMs: 1_000, intervalMs: 20 });
    expect(renamedSeen.ok).toBe(true);
    const newId = await idOf(latecomer.title);
    expect((await entryOn(b, newId))?.title).toBe(latecomer.title);
    // Random picks draw from all 30 ids on B now.
    const titles = new Set<string>();
    for (let i = 0; i < 120; i++) titles.add(((await (await b.request("/anime/random")).json()) as { title: string }).title);
    expect(titles.size).toBeGreaterThan(20);
  });

  describe("B's LISTEN connection is lost", () => {
    const listenersOfB = () =>
      sql<{ pid: number }[]>`
        select pid from pg_stat_activity
        where datname = ${dbName} and application_name = 'lumotist_b' and query ilike 'listen%'`;
    const terminateListenersOfB = () =>
      sql`select pg_terminate_backend(pid) from pg_stat_activity
          where datname = ${dbName} and application_name = 'lumotist_b' and query ilike 'listen%'`;

    test("killed from SQL while a token is revoked through A: B refuses it within 1 s and listens again", async () => {
      const user = await userCachedOnB();
      const [before] = await listenersOfB();
      expect(before).toBeDefined();
      const [killed] = await Promise.all([terminateListenersOfB(), post(a, "/account/logout", user.token)]);
      expect(killed.length).toBe(1);
      expect((await refusedWithin(b, user.token)).ok).toBe(true);
      expect(await profileStatus(b, user.second)).toBe(200);
      // B reconnects by itself, and notifications reach it again.
      const back = await eventually(async () => (await listenersOfB()).some((row) => row.pid !== before!.pid), { timeoutMs: 5_000 });
      expect(back.ok).toBe(true);
      expect((await post(a, "/account/logout", user.second)).status).toBe(200);
      expect((await refusedWithin(b, user.second)).ok).toBe(true);
    });

    test("kept down: B bypasses its caches while it cannot listen, and drops them when it listens again", async () => {
      const revokedWhileDown = await userCachedOnB(); // B is asked while its listener is down
      const revokedUnasked = await userCachedOnB(); // B is not asked until it listens again
      const repictured = await userCachedOnB();
      expect(await pictureOf(b, repictured.token)).toBe(await pictureOf(a, repictured.token));
      // Both instances hold open pool connections now; new connections to the database are refused
      // from here on, so B's LISTEN connection cannot come back while the changes are made.
      await profileStatus(a, repictured.token);
      await admin.unsafe(`alter database ${dbName} allow_connections false`);
      try {
        const killed = await terminateListenersOfB();
        expect(killed.length).toBe(1);
        await sleep(300);
        expect<{ pid: number }[]>(await listenersOfB()).toEqual([]);

        expect((await post(a, "/account/logout", revokedWhileDown.token)).status).toBe(200);
        expect((await post(a, "/account/logoutall", revokedUnasked.token)).status).toBe(200);
        expect((await post(a, "/account/set_picture", repictured.token, { id: 9 })).status).toBe(200);

        // No notification can reach B, yet it answers from the database, not from its caches.
        expect((await refusedWithin(b, revokedWhileDown.token)).ok).toBe(true);
        expect(await pictureOf(b, repictured.token)).toBe(pictures.get(9)!);
        expect(await profileStatus(b, revokedWhileDown.second)).toBe(200);
      } finally {
        await admin.unsafe(`alter database ${dbName} allow_connections true`);
      }
      const back = await eventually(async () => (await listenersOfB()).length === 1, { timeoutMs: 5_000 });
      expect(back.ok).toBe(true);
      // B listens again and trusts its caches again; what it had cached before the outage is gone.
      expect(await profileStatus(b, revokedUnasked.token)).toBe(401);
      expect(await profileStatus(b, revokedUnasked.second)).toBe(401);
      expect(await profileStatus(b, revokedWhileDown.token)).toBe(401);
    });
  });

  describe("database connection faults at the worst moment", () => {
    let proxy: PgProxy;
    let viaProxy: TestServer;

    beforeAll(async () => {
      const target = new URL(database.url!);
      proxy = await startPgProxy({ host: target.hostname, port: Number(target.port || 5432) });
      viaProxy = await startTestServer({ LOG_LEVEL: "warn" }, { ...database, env: { DATABASE_URL: proxy.urlFor(database.url!) } });
    }, 60_000);

    afterAll(async () => {
      proxy?.heal();
      await viaProxy?.running.stop();
      await proxy?.close();
    }, 60_000);

    test("an instance that loses its database right after a revocation committed never acknowledges it unannounced", async () => {
      const user = await userCachedOnB();
      expect(await profileStatus(viaProxy, user.token)).toBe(200);
      const fired = proxy.partitionAfterNextCommit();
      const response = await post(viaProxy, "/account/logout", user.token);
      await fired;
      proxy.heal();
      // Whatever the instance answered, it must not say "done" while another instance still accepts the token.
      if (response.status === 200) expect((await refusedWithin(b, user.token)).ok).toBe(true);
      else {
        expect(response.status).toBe(503);
        expect(await profileStatus(a, user.token)).toBe(await profileStatus(b, user.token));
      }
      // The instance recovers by itself once its database is reachable again.
      const recovered = await eventually(async () => (await profileStatus(viaProxy, user.second)) === 200, { timeoutMs: 5_000 });
      expect(recovered.ok).toBe(true);
    });

    test("a token read that raced its revocation is not cached as live", async () => {
      const user = await registerUser(a);
      const other = await registerUser(a);
      expect(await profileStatus(viaProxy, other.token)).toBe(200); // an open pool connection, so the next query starts at once
      // The instance's queries answer 300 ms late; its notifications arrive at once.
      proxy.delayQueryResults(300);
      try {
        const racing = profile(viaProxy, user.token); // reads the token before the logout commits…
        await sleep(100);
        expect((await post(a, "/account/logout", user.token)).status).toBe(200); // …which is announced before the read returns
        await racing;
        expect((await refusedWithin(viaProxy, user.token)).ok).toBe(true);
      } finally {
        proxy.delayQueryResults(0);
      }
      expect(await profileStatus(viaProxy, user.token)).toBe(401);
    });

    test("a profile read that raced a picture change is not cached", async () => {
      const user = await registerUser(a);
      expect(await profileStatus(viaProxy, user.token)).toBe(200); // token and profile cached
      expect((await post(a, "/account/set_picture", user.token, { id: 2 })).status).toBe(200); // profile dropped again
      expect((await eventually(async () => (await pictureOf(viaProxy, user.token)) === pictures.get(2), { timeoutMs: 1_000 })).ok).toBe(true);
      expect((await post(a, "/account/set_picture", user.token, { id: 4 })).status).toBe(200);
      await sleep(100);
      proxy.delayQueryResults(300);
      try {
        const racing = profile(viaProxy, user.token);
        await sleep(100);
        expect((await post(a, "/account/set_picture", user.token, { id: 5 })).status).toBe(200);
        await racing;
      } finally {
        proxy.delayQueryResults(0);
      }
      const seen = await eventually(async () => (await pictureOf(viaProxy, user.token)) === pictures.get(5), { timeoutMs: 1_000 });
      expect(seen.ok).toBe(true);
    });
    test("an import announced while the previous import's reload is still running is not missed", async () => {
      // In-process imports (the importer's own function), so that the second one lands inside the
      // window of the instance's reload for the first one: its queries answer 500 ms late.
      const entries = generateEntries(60, 7); // the same first 30 entries as the import test's
      proxy.delayQueryResults(500);
      try {
        await importCatalogue(sql, entries.slice(0, 40));
        await sleep(650); // the instance read the version (500 ms) and is now reading the id index
        await importCatalogue(sql, entries.slice(0, 50));
      } finally {
        proxy.delayQueryResults(0);
      }
        const [{ count }] = await sql<[{ count: number }]>`select count(*)::int as count from anime`;
      expect(count).toBeGreaterThanOrEqual(50);
      const caughtUp = await eventually(() => viaProxy.running.services.catalogue.size === count, { timeoutMs: 3_000 });
      expect(caughtUp.ok).toBe(true);
      // B, which had no delay, serves all 50 as well.
      const titles = new Set<string>();
      for (let i = 0; i < 200; i++) titles.add(((await (await b.request("/anime/random")).json()) as { title: string }).title);
      expect(titles.size).toBeGreaterThan(count * 0.8);
    });
  });

  test("neither instance logged a 5xx or an error", () => {
    const lines = [...a.logs, ...b.logs].filter((line) => /"level":"error"|"status":5\d\d/.test(line));
    expect(lines.filter((line) => !line.includes('"status":503'))).toEqual([]);
  });
});
