// Token expiry end to end over HTTP, on a server with TOKEN_TTL=2s, so that tokens die during the
// test: a token works until the expiry its login stated and not after, even when the server's token
// cache holds it. The per-user cap is in tokens-limit.test.ts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";
import { ISO_UTC_PATTERN, expect401, expectLogFreeOf, expectNoServerErrors, expectTokenRevoked, expectTokenWorks, post } from "./account-support.ts";

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

test("a token works until its expiry and not after, though the server had it cached", async () => {
  const user = await registerUser(server, uniqueUser("expire"));
  secrets.add(user.token).add(user.password);
  const cached = await loginOnce(server, user.username, user.password);
  const cold = await loginOnce(server, user.username, user.password);
  secrets.add(cached.token).add(cold.token);
  const expiry = Date.parse(cached.expiry);

  await expectTokenWorks(server, cached.token);
  // Right before the expiry: still valid, and now surely in the token (and profile) cache.
  await sleepUntil(expiry - 600);
  expect(Date.now()).toBeLessThan(expiry - 200);
  await expectTokenWorks(server, cached.token);

  await sleepUntil(expiry + 150);
  await expectTokenRevoked(server, cached.token); // the cached entry died with the token
  await expectTokenRevoked(server, cold.token); // never cached: refused by the database
  await expectTokenRevoked(server, user.token); // the registration's token expired too
  expect401(await post(server, "/account/logout", undefined, { token: cached.token }));
  expect401(await post(server, "/account/set_picture", { id: 1 }, { token: cold.token }));
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
