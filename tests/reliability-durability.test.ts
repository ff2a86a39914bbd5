// Nothing acknowledged is lost: a server process (`bun src/main.ts`) killed with SIGKILL right
// after answering 200 leaves every acknowledged change in place for the next process, and changes
// in flight at the kill are either wholly there or wholly absent. An import killed half-way leaves
// the catalogue exactly as it was. Runs on PostgreSQL (DATABASE_URL) and on the embedded database
// (where a killed importer is a killed PGlite: its files must recover).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { generateEntries, writeRelease } from "../scripts/generate-catalogue.ts";
import { loadConfig } from "../src/config.ts";
import { type Queryable, openDatabaseForTool } from "../src/db/connect.ts";
import { createLogger } from "../src/log.ts";
import { type ImportProcess, type ServerProcess, eventually, runImport, sleep, spawnImport, spawnServer } from "./support/cluster.ts";
import { type TestDatabase, createTestDatabase } from "./support/db.ts";
import { uniqueUser } from "./support/server.ts";

const PICTURES = new Map<number, string>();

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

describe("a server killed with SIGKILL loses nothing it acknowledged", () => {
  let database: TestDatabase;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  }, 60_000);

  afterAll(async () => {
    await server?.kill();
    await database?.drop();
  }, 60_000);

  const login = (s: ServerProcess, username: string, password: string) =>
    s.request("/account/login", { method: "POST", json: { username, password } });

  test("register, login, set_picture, logout: killed at once after the last 200, all of it is there", async () => {
    server = await spawnServer(database.env);
    const user = uniqueUser("durable");
    const registered = await server.request("/account/register", { method: "POST", json: user });
    expect(registered.status).toBe(200);
    const { token } = await json<{ token: string }>(registered);
    const second = await json<{ token: string }>(await login(server, user.username, user.password));
    const pictures = await json<{ data: Record<string, { id: number; picture: string }[]> }>(await server.request("/account/get_pictures", { token }));
    for (const picture of Object.values(pictures.data).flat()) PICTURES.set(picture.id, picture.picture);
    expect((await server.request("/account/set_picture", { method: "POST", token, json: { id: 8 } })).status).toBe(200);
    expect((await server.request("/account/logout", { method: "POST", token: second.token })).status).toBe(200);
    await server.kill(); // no graceful shutdown: SIGKILL straight after the acknowledgement
    server = undefined;

    server = await spawnServer(database.env);
    const profile = await server.request("/account/profile", { token });
    expect(profile.status).toBe(200);
    expect((await json<{ data: { username: string; picture: string } }>(profile)).data).toMatchObject({ username: user.username, picture: PICTURES.get(8) });
    expect((await server.request("/account/profile", { token: second.token })).status).toBe(401); // the logout held
    expect((await login(server, user.username, user.password)).status).toBe(200);
    await server.kill();
    server = undefined;
  }, 60_000);

  test("killed while writes are in flight: every acknowledged one is there, every other wholly there or wholly absent", async () => {
    server = await spawnServer(database.env);
    const owner = await json<{ token: string }>(await server.request("/account/register", { method: "POST", json: uniqueUser("owner") }));
    const users = Array.from({ length: 16 }, () => uniqueUser("inflight"));
    const acked = new Set<string>();
    let pictureAcked: number | undefined;
    const pending = users.map((user) =>
      server!
        .request("/account/register", { method: "POST", json: user, timeoutMs: 20_000 })
        .then((response) => response.status === 200 && acked.add(user.username))
        .catch(() => {}),
    );
    const pictureIds = [1, 2, 3, 4, 5, 6];
    const pictureChanges = pictureIds.map((id) =>
      server!
        .request("/account/set_picture", { method: "POST", token: owner.token, json: { id }, timeoutMs: 20_000 })
        .then((response) => response.status === 200 && (pictureAcked = id))
        .catch(() => {}),
    );
    // Kill as soon as a few registrations are acknowledged, while the rest are in flight.
    await eventually(() => acked.size >= 3, { timeoutMs: 20_000, intervalMs: 1 });
    await server.kill();
    server = undefined;
    await Promise.all([...pending, ...pictureChanges]);
    const ackedAtKill = new Set(acked);
    expect(ackedAtKill.size).toBeGreaterThanOrEqual(3);

    server = await spawnServer(database.env);
    for (const user of users) {
      const response = await login(server, user.username, user.password);
      if (ackedAtKill.has(user.username)) expect({ user: user.username, status: response.status }).toEqual({ user: user.username, status: 200 });
      else expect([200, 400]).toContain(response.status);
      // A user that exists is a whole user: the profile answers, the username and email are taken.
      if (response.status === 200) {
        const { token } = await json<{ token: string }>(response);
        expect((await server.request("/account/profile", { token })).status).toBe(200);
        const again = await server.request("/account/register", { method: "POST", json: user });
        expect(await json<unknown>(again)).toEqual({
          success: false,
          errors: { username: ["user with this username already exists."], email: ["user with this email already exists."] },
        });
      }
    }
    // Once a picture change was acknowledged, the profile shows one of the pictures asked for.
    const profile = await json<{ data: { picture: string } }>(await server.request("/account/profile", { token: owner.token }));
    const shown = [...PICTURES].find(([, url]) => url === profile.data.picture)?.[0];
    if (pictureAcked !== undefined) expect(pictureIds).toContain(shown!);
    await server.kill();
    server = undefined;
  }, 60_000);
});

describe("an import killed half-way leaves the catalogue as it was", () => {
  let database: TestDatabase;
  let workDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    workDir = mkdtempSync(join(tmpdir(), "lumotist-import-kill-"));
  }, 60_000);

  afterAll(async () => {
    await database?.drop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  /**
   * Runs `work` with a connection to the test database. The embedded database is opened in this
   * process only for that, and closed again, so that the importer opens it itself (and a SIGKILL
   * then kills PGlite in the middle of writing its files).
   */
  async function withSql<T>(work: (sql: Queryable) => Promise<T>): Promise<T> {
    if (database.mode === "postgres") {
      const sql = postgres(database.url!, { max: 1, onnotice: () => {} });
      try {
        return await work(sql);
      } finally {
        await sql.end();
      }
    }
    const db = await openDatabaseForTool(loadConfig({ DATA_DIR: database.dataDir!, LOG_LEVEL: "silent" }), createLogger("silent"));
    try {
      return await work(db.sql);
    } finally {
      await db.close();
    }
  }

  const snapshot = () =>
    withSql(async (sql) => {
      // Scalar subqueries without FROM: always exactly one row.
      const [row] = await sql<[{ anime: number; sources: number; version: string; bodies: string; urls: string }]>`
        select (select count(*)::int from anime) as anime,
               (select count(*)::int from anime_sources) as sources,
               (select version::text from catalogue_state) as version,
               (select md5(coalesce(string_agg(id || ':' || body, ',' order by id), '')) from anime) as bodies,
               (select md5(coalesce(string_agg(url || '>' || anime_id, ',' order by url), '')) from anime_sources) as urls`;
      return row;
    });

  /**
   * Resolves once the importer's transaction is under way. PostgreSQL: its backend holds a
   * transaction id (it has written). Embedded: no other process can look inside, so the importer's
   * output says when it finished reading the file (the transaction starts right after, and runs for
   * seconds on 15,000 entries); then a little more time passes.
   */
  async function untilImportWrites(importer: ImportProcess): Promise<boolean> {
    if (database.mode === "postgres") {
      const dbName = new URL(database.url!).pathname.slice(1);
      return withSql(async (sql) => {
        const writing = await eventually(
          async () =>
            (
              await sql`select pid from pg_stat_activity
                        where datname = ${dbName} and pid <> pg_backend_pid() and backend_xid is not null and state <> 'idle'`
            ).length > 0,
          { timeoutMs: 30_000, intervalMs: 5 },
        );
        return writing.ok;
      });
    }
    const read = await eventually(() => importer.output().includes("read 15,000 entries"), { timeoutMs: 30_000, intervalMs: 5 });
    await sleep(700);
    return read.ok;
  }

  test("SIGKILL while the import's transaction is writing: count, version, bodies and sources unchanged", async () => {
    const entries = generateEntries(15_000, 11);
    const small = join(workDir, "small.json");
    await writeRelease(small, entries.slice(0, 300));
    await runImport(small, database.env); // migrates, and gives the catalogue a "before"
    const before = await snapshot();
    expect(before.anime).toBe(300);

    // A big release that changes the 300 entries already there and adds 14,700.
    const big = join(workDir, "big.json");
    await writeRelease(big, entries.map((entry, i) => (i < 300 ? { ...entry, title: `${entry.title} (re-titled)` } : entry)));
    const importer = spawnImport(big, database.env);
    const writing = await untilImportWrites(importer);
    await importer.kill();
    expect(writing).toBe(true);
    expect(importer.output()).not.toContain("Imported"); // it had not finished

    // PostgreSQL rolls the transaction back when the connection drops; the embedded database recovers
    // its files when it is opened next. Either way nothing of the import is left.
    const after = await eventually(async () => {
      const now = await snapshot();
      return JSON.stringify(now) === JSON.stringify(before) ? now : undefined;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    expect(after.value ?? (await snapshot())).toEqual(before);

    // Nothing is left locked or broken: the next import runs, and a server serves its result.
    await writeRelease(small, entries.slice(0, 310));
    await runImport(small, database.env);
    expect((await snapshot()).anime).toBe(310);
    const server = await spawnServer(database.env);
    try {
      expect((await server.request("/anime/random")).status).toBe(200);
      expect((await server.request("/ready")).status).toBe(200);
    } finally {
      await server.kill();
    }
  }, 120_000);
});
