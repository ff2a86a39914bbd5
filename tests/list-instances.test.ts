// Two server instances on one PostgreSQL: a list change or a list_public flip made through one is what
// the other answers next (each keeps lists in memory, and every answer from memory re-reads the list's
// version in PostgreSQL first: src/list/list-cache.ts). A is the server in
// this process, B a separate `bun src/main.ts`. Needs DATABASE_URL (the embedded database is single-process).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ServerProcess, spawnServer } from "./support/cluster.ts";
import { type TestDatabase, adminUrl, createTestDatabase } from "./support/db.ts";
import { type FixtureAnime, loadFixtureCatalogue } from "./support/list.ts";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";

if (!adminUrl) console.warn("skipping tests/list-instances.test.ts: needs DATABASE_URL (several instances share one PostgreSQL)");

type Client = Pick<TestServer, "request">;
const json = async (client: Client, path: string, init: RequestInit & { token?: string; json?: unknown } = {}) => {
  const response = await client.request(path, init);
  return { status: response.status, body: (await response.json()) as any };
};

describe.skipIf(!adminUrl)("the list on two instances", () => {
  let database: TestDatabase;
  let a: TestServer;
  let b: ServerProcess;
  let anime: FixtureAnime[];

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await startTestServer({ LOG_LEVEL: "warn" }, database);
    anime = await loadFixtureCatalogue(a, 5);
    b = await spawnServer({ ...database.env, LOG_LEVEL: "warn" });
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  }, 60_000);

  test("an entry written, changed and removed through one instance is what the other answers next", async () => {
    const { token } = await registerUser(a, uniqueUser("twice"));
    const id = anime[0]!.id;
    expect((await json(a, `/list/${id}`, { method: "PUT", token, json: { status: "watching", score: 6 } })).status).toBe(201);
    expect((await json(b, `/list/${id}`, { token })).body).toMatchObject({ status: "watching", score: 6 });
    expect((await json(b, `/list/${id}`, { method: "PATCH", token, json: { score: 9 } })).status).toBe(200);
    expect((await json(a, `/list/${id}`, { token })).body.score).toBe(9);
    expect((await json(a, "/list", { token })).body.results[0].score).toBe(9);
    expect((await json(a, `/list/${id}`, { method: "DELETE", token })).status).toBe(200);
    expect((await json(b, `/list/${id}`, { token })).status).toBe(404);
    expect((await json(b, "/list/stats", { token })).body.total).toBe(0);
  });

  test("a list_public flip on one instance: the other's public view follows at once, both ways", async () => {
    const user = await registerUser(a, uniqueUser("public"));
    await json(a, `/list/${anime[1]!.id}`, { method: "PUT", token: user.token, json: { status: "completed" } });
    const path = `/users/${user.username}/list`;
    expect((await json(b, path)).status).toBe(404);
    expect((await json(a, "/account/settings", { method: "POST", token: user.token, json: { list_public: true } })).status).toBe(200);
    const shown = await json(b, path);
    expect(shown.status).toBe(200);
    expect(shown.body.count).toBe(1);
    expect((await json(b, `${path}/stats`)).body.total).toBe(1);
    // Made private through B: A (which just served it) refuses next.
    expect((await json(a, path)).status).toBe(200);
    expect((await json(b, "/account/settings", { method: "POST", token: user.token, json: { list_public: false } })).status).toBe(200);
    expect((await json(a, path)).status).toBe(404);
    expect((await json(a, `${path}/stats`)).status).toBe(404);
    // An entry made private on A disappears from B's public view.
    await json(b, "/account/settings", { method: "POST", token: user.token, json: { list_public: true } });
    await json(a, `/list/${anime[1]!.id}`, { method: "PATCH", token: user.token, json: { private: true } });
    expect((await json(b, path)).body.count).toBe(0);
  });
});
