// The in-memory index of live tokens, end to end over HTTP (on PostgreSQL and on the embedded database):
//  - a server loads every live token at start (GET /health shows it), and answers checks from memory;
//  - a token it does not know (written to the database behind its back, as another instance's would
//    be before its notification arrives) is still found, in the database;
//  - expired tokens are not loaded; a full index (TOKEN_INDEX_MAX) still accepts the tokens beyond it.
// Revocation across instances (the feed keeping the index current) is in reliability-instances.test.ts;
// the TokenIndex data structure alone, in token-index-unit.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";
import { type TestDatabase, createTestDatabase } from "./support/db.ts";
import { indexState, insertTokens, testToken, untilIndexReady } from "./support/tokens.ts";

const PRELOADED = 30_000;

const profileStatus = async (server: TestServer, token: string) =>
  (await server.request("/account/profile", { token })).status;

describe("the token index", () => {
  let database: TestDatabase;
  let server: TestServer;
  let userId: number;
  const DAY = 24 * 3600 * 1000;

  beforeAll(async () => {
    database = await createTestDatabase();
    // A first server creates the schema and the user; the tokens are then written directly, as if
    // issued before this process started, and a second server starts on the same database.
    const first = await startTestServer({}, database);
    const user = await registerUser(first, uniqueUser("index"));
    userId = user.id;
    const { sql } = first.running.db;
    await insertTokens(sql, userId, "a1", PRELOADED, new Date(Date.now() + DAY));
    await insertTokens(sql, userId, "e0", 1_000, new Date(Date.now() - 1_000)); // already expired
    await first.running.stop();
    server = await startTestServer({}, database);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  test("loads every live token at start, and none of the expired ones", async () => {
    const state = await untilIndexReady(server);
    expect(state.ready).toBe(true);
    // The preloaded ones and the registration's token; the 1,000 expired ones are left out.
    expect(state.tokens).toBe(PRELOADED + 1);
    expect(state.bytes).toBeLessThan(60 * state.tokens);
    for (const i of [0, 1, 12_345, PRELOADED - 1]) expect(await profileStatus(server, testToken("a1", i).token)).toBe(200);
    for (const i of [0, 999]) expect(await profileStatus(server, testToken("e0", i).token)).toBe(401);
    expect(await profileStatus(server, testToken("a1", PRELOADED).token)).toBe(401);
  });

  test("answers a check from memory: a token the index holds is accepted without its row", async () => {
    await untilIndexReady(server);
    const { token, digest } = testToken("a1", 777);
    // Deleting the row directly (no notification) is invisible to the server: proof that the check
    // did not reach the database. Revocations through the API do reach it (logout tests).
    await server.running.db.sql`delete from tokens where digest = ${digest}`;
    expect(await profileStatus(server, token)).toBe(200);
  });

  test("finds a token it does not know in the database, then holds it", async () => {
    await untilIndexReady(server);
    const before = (await indexState(server)).tokens;
    const { sql } = server.running.db;
    await insertTokens(sql, userId, "b2", 3, new Date(Date.now() + DAY));
    for (let i = 0; i < 3; i++) expect(await profileStatus(server, testToken("b2", i).token)).toBe(200);
    expect((await indexState(server)).tokens).toBe(before + 3);
  });

  test("logout removes the token from the index at once", async () => {
    await untilIndexReady(server);
    const before = (await indexState(server)).tokens;
    const { token } = testToken("a1", 4_242);
    expect((await server.request("/account/logout", { method: "POST", token })).status).toBe(200);
    expect(await profileStatus(server, token)).toBe(401);
    expect((await indexState(server)).tokens).toBe(before - 1);
  });

  test("logoutall removes every token of the user from the index", async () => {
    await untilIndexReady(server);
    const { token } = testToken("a1", 5_000);
    expect((await server.request("/account/logoutall", { method: "POST", token })).status).toBe(200);
    for (const i of [0, 5_000, 29_999]) expect(await profileStatus(server, testToken("a1", i).token)).toBe(401);
    // The index forgets the tokens the database reports deleted (by digest, not by scanning for the
    // owner). A row deleted behind the server's back (an earlier test) is not among them.
    expect((await indexState(server)).tokens).toBeLessThanOrEqual(1);
  });
});

describe("a full token index (TOKEN_INDEX_MAX)", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ TOKEN_INDEX_MAX: "2" });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  test("holds at most that many tokens, and the tokens beyond it still work", async () => {
    const users = [];
    for (let i = 0; i < 4; i++) users.push(await registerUser(server, uniqueUser("full")));
    expect((await untilIndexReady(server)).ready).toBe(true);
    for (const user of users) expect(await profileStatus(server, user.token)).toBe(200);
    expect((await indexState(server)).tokens).toBe(2);
    const last = users.at(-1)!;
    expect((await server.request("/account/logout", { method: "POST", token: last.token })).status).toBe(200);
    expect(await profileStatus(server, last.token)).toBe(401);
  });
});
