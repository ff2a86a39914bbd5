// GET /health (the process answers) and GET /ready (the database answers and its schema is current):
//  - /health is 200 {"status": "ok", "token_index": {…}, "anime_cache": {…}} whatever the database does;
//  - /ready is 200 {"status": "ready"} once migrated, and 503 {"status": "unavailable"} when a migration
//    is missing, when the database is unreachable (PostgreSQL: the server reaches it through a TCP
//    relay this test cuts and restores), and when the server's pool is gone; it recovers by itself.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Server, type Socket, createServer, connect } from "node:net";
import { readMigrations } from "../src/db/migrate.ts";
import { adminUrl, createTestDatabase } from "./support/db.ts";
import { type TestServer, startTestServer } from "./support/server.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
}, 60_000);

afterAll(async () => {
  await server?.stop();
}, 60_000);

async function get(base: string, path: string) {
  const response = await fetch(base + path);
  return { status: response.status, type: response.headers.get("content-type"), body: await response.json() };
}

/** Polls until `check` holds (the pool notices a dead connection on its next query). */
async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await Bun.sleep(50);
  }
  return false;
}

describe("GET /health", () => {
  test("answers 200 {status: ok} as JSON, with ?format=json too, and the token index's state", async () => {
    for (const path of ["/health", "/health?format=json"]) {
      const response = await get(server.base, path);
      expect(response.status).toBe(200);
      expect(response.type).toContain("application/json");
      expect(response.body).toEqual({
        status: "ok",
        token_index: { ready: expect.any(Boolean), tokens: expect.any(Number), bytes: expect.any(Number) },
        anime_cache: {
          packed: expect.any(Boolean),
          bytes: expect.any(Number),
          search_ready: expect.any(Boolean),
          index_bytes: expect.any(Number),
          details: { entries: expect.any(Number), bytes: expect.any(Number), hits: expect.any(Number), misses: expect.any(Number) },
        },
        list_cache: { lists: expect.any(Number), bytes: expect.any(Number), hits: expect.any(Number), fills: expect.any(Number), filling: expect.any(Number) },
      });
    }
  });
});

describe("GET /ready", () => {
  test("answers 200 {status: ready} once the schema is migrated", async () => {
    const response = await get(server.base, "/ready");
    expect(response.status).toBe(200);
    expect(response.type).toContain("application/json");
    expect(response.body).toEqual({ status: "ready" });
  });

  test("answers 503 while a migration of this build is missing, and 200 again once it is applied", async () => {
    const { sql } = server.running.db;
    const version = readMigrations().at(-1)!.version;
    const [row] = await sql`delete from schema_migrations where version = ${version} returning applied_at`;
    expect(row).toBeDefined();
    try {
      expect(await get(server.base, "/ready")).toMatchObject({ status: 503, body: { status: "unavailable" } });
      expect((await get(server.base, "/health")).status).toBe(200);
    } finally {
      await sql`insert into schema_migrations (version, applied_at) values (${version}, ${row!.applied_at})`;
    }
    expect(await get(server.base, "/ready")).toMatchObject({ status: 200, body: { status: "ready" } });
  });
});

/** A TCP relay to PostgreSQL that can be cut (listener closed, every connection dropped) and restored. */
class Relay {
  private listener: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    const listener = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((done, fail) => {
      listener.once("error", fail);
      listener.listen(this.port, "127.0.0.1", () => done());
    });
    this.port = (listener.address() as { port: number }).port;
    this.listener = listener;
  }

  async cut(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    const closed = new Promise<void>((done) => (listener ? listener.close(() => done()) : done()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

describe.skipIf(!adminUrl)("GET /ready with PostgreSQL unreachable", () => {
  let relay: Relay;
  let behindRelay: TestServer;

  beforeAll(async () => {
    const database = await createTestDatabase();
    const target = new URL(database.url!);
    relay = new Relay(target.hostname, Number(target.port || 5432));
    await relay.open();
    const url = new URL(database.url!);
    url.hostname = "127.0.0.1";
    url.port = String(relay.port);
    behindRelay = await startTestServer({ DATABASE_URL: url.href, DB_CONNECT_TIMEOUT: "1" }, database);
  }, 60_000);

  afterAll(async () => {
    await relay?.open().catch(() => {});
    await behindRelay?.stop();
    await relay?.cut();
  }, 60_000);

  test("answers 503 while the database cannot be reached, /health stays 200, and /ready recovers", async () => {
    expect((await get(behindRelay.base, "/ready")).status).toBe(200);

    await relay.cut();
    const started = performance.now();
    const unready = await until(async () => (await get(behindRelay.base, "/ready")).status === 503);
    expect(unready).toBeTrue();
    expect(await get(behindRelay.base, "/ready")).toMatchObject({ status: 503, body: { status: "unavailable" } });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(await get(behindRelay.base, "/health")).toMatchObject({ status: 200, body: { status: "ok" } });

    await relay.open();
    expect(await until(async () => (await get(behindRelay.base, "/ready")).status === 200)).toBeTrue();
    expect((await get(behindRelay.base, "/ready")).body).toEqual({ status: "ready" });
  }, 60_000);
});

if (!adminUrl) {
  console.warn(
    "health.test.ts: the unreachable-PostgreSQL case runs only with DATABASE_URL set; " +
      "embedded mode checks /ready against a closed pool instead",
  );
}

describe("GET /ready without a database connection", () => {
  // Last in the file: it closes the shared server's pool for good (stop() closes it again harmlessly).
  test("answers 503 once the server's connection pool is closed, while /health stays 200", async () => {
    await server.running.db.sql.end({ timeout: 1 });
    expect(await get(server.base, "/ready")).toMatchObject({ status: 503, body: { status: "unavailable" } });
    expect(await get(server.base, "/health")).toMatchObject({ status: 200, body: { status: "ok" } });
  });
});
