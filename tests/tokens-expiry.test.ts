// Token expiry end to end over HTTP, on a server with TOKEN_TTL=2s, so that tokens die during the
// test. Both ways a check can go (src/auth/service.ts):
//  - a token the server issued is in its in-memory token index: it works until the expiry its login
//    stated and not after, though the index holds it;
//  - a token the index does not know (here: written into the tokens table with SQL after the index
//    loaded, so no notification told the server) is looked up in the database, whose expires_at
//    decides: a live one authenticates (and joins the index), an expired one is refused.
// The per-user cap is in tokens-limit.test.ts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";
import { indexState, insertTokens, testToken, untilIndexReady } from "./support/tokens.ts";
import { ISO_UTC_PATTERN, expect401, expectLogFreeOf, expectNoServerErrors, expectTokenRevoked, expectTokenWorks, post, profile } from "./account-support.ts";

async function loginOnce(server: TestServer, username: string, password: string) {
  const answer = await post(server, "/account/login", { username, password });
  expect(answer.status).toBe(200);
  return answer.body as { token: string; expiry: string };
}

/** Sleeps until `at` (a Date.now() time), if it is still ahead. */
const sleepUntil = (at: number) => Bun.sleep(Math.max(0, at - Date.now()));

const TTL_MS = 2_000;
let server: TestServer;
const secrets = new Set<string>();

beforeAll(async () => {
  server = await startTestServer({ TOKEN_TTL: "2s" });
}, 60_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

test("login states the expiry, TOKEN_TTL ahead, in ISO 8601 UTC", async () => {
  const user = await registerUser(server, uniqueUser("ttl"));
  secrets.add(user.token).add(user.password);
  const before = Date.now();
  const login = await loginOnce(server, user.username, user.password);
  const after = Date.now();
  secrets.add(login.token);
  expect(login.expiry).toMatch(ISO_UTC_PATTERN);
  expect(Date.parse(login.expiry)).toBeGreaterThanOrEqual(before + TTL_MS);
  expect(Date.parse(login.expiry)).toBeLessThanOrEqual(after + TTL_MS);
});

test("an issued token works until its expiry and not after, though the in-memory index holds it", async () => {
  expect((await untilIndexReady(server)).ready).toBe(true); // from here on, the index answers first
  const user = await registerUser(server, uniqueUser("expire"));
  secrets.add(user.token).add(user.password);
  const used = await loginOnce(server, user.username, user.password);
  const unused = await loginOnce(server, user.username, user.password);
  secrets.add(used.token).add(unused.token);
  const expiry = Date.parse(used.expiry);

  await expectTokenWorks(server, used.token);
  // Right before the expiry: still valid (and its profile now cached as well).
  await sleepUntil(expiry - 600);
  expect(Date.now()).toBeLessThan(expiry - 200);
  await expectTokenWorks(server, used.token);

  await sleepUntil(expiry + 150);
  await expectTokenRevoked(server, used.token);
  await expectTokenRevoked(server, unused.token); // never used before it expired: refused as well
  await expectTokenRevoked(server, user.token); // the registration's token expired too
  expect401(await post(server, "/account/logout", undefined, { token: used.token }));
  expect401(await post(server, "/account/set_picture", { id: 1 }, { token: unused.token }));
});

test("a token only the database knows (inserted with SQL after the index loaded) is checked there: live, it authenticates", async () => {
  const user = await registerUser(server, uniqueUser("dblive"));
  secrets.add(user.token).add(user.password);
  const before = await untilIndexReady(server);
  expect(before.ready).toBe(true);
  const { token } = testToken("d1", 0);
  secrets.add(token);
  await insertTokens(server.running.db.sql, user.id, "d1", 1, new Date(Date.now() + 60_000));
  expect((await indexState(server)).tokens).toBe(before.tokens); // nothing told the index
  const me = await expectTokenWorks(server, token);
  expect(me.body.data.id).toBe(user.id);
  // Found in the database, the token joins the index: proof that the check went there.
  expect((await indexState(server)).tokens).toBe(before.tokens + 1);
});

test("a token only the database knows, expired there (expires_at in the past): 401 Invalid token.", async () => {
  const user = await registerUser(server, uniqueUser("dbexpired"));
  secrets.add(user.token).add(user.password);
  const before = await untilIndexReady(server);
  expect(before.ready).toBe(true);
  const { sql } = server.running.db;
  const expired = testToken("e1", 0);
  const live = testToken("e2", 0); // the same kind of row, not expired: the control
  secrets.add(expired.token).add(live.token);
  await insertTokens(sql, user.id, "e1", 1, new Date(Date.now() - 60_000));
  await insertTokens(sql, user.id, "e2", 1, new Date(Date.now() + 60_000));
  expect401(await profile(server, expired.token));
  expect401(await post(server, "/account/logout", undefined, { token: expired.token }));
  // The row is there (no sweep removed it): the database refused it for its expiry.
  const [row] = await sql<{ expired: boolean }[]>`select expires_at <= now() as expired from tokens where digest = ${expired.digest}`;
  expect(row).toEqual({ expired: true });
  const me = await expectTokenWorks(server, live.token);
  expect(me.body.data.id).toBe(user.id);
  expect((await indexState(server)).tokens).toBe(before.tokens + 1); // the live one only
});

test("expiry does not touch the account: a new login works", async () => {
  const user = await registerUser(server, uniqueUser("relogin"));
  secrets.add(user.token).add(user.password);
  await expectTokenWorks(server, user.token);
  await Bun.sleep(TTL_MS + 150);
  await expectTokenRevoked(server, user.token);
  const fresh = await loginOnce(server, user.username, user.password);
  secrets.add(fresh.token);
  const me = await expectTokenWorks(server, fresh.token);
  expect(me.body.data.id).toBe(user.id);
});

test("no 5xx, no error logged, no secret in the log", async () => {
  await Bun.sleep(50);
  expectNoServerErrors(server);
  expectLogFreeOf(server, secrets);
});
