// The per-user token cap end to end over HTTP, on a server with TOKEN_LIMIT_PER_USER=3: a login past
// the cap revokes the user's oldest token, also when the logins come all at once. Expiry is in
// tokens-expiry.test.ts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";
import { expectLogFreeOf, expectNoServerErrors, expectOk, expectTokenRevoked, expectTokenWorks, post, profile } from "./account-support.ts";

async function loginOnce(server: TestServer, username: string, password: string) {
  const answer = await post(server, "/account/login", { username, password });
  expect(answer.status).toBe(200);
  return answer.body as { token: string; expiry: string };
}

let server: TestServer;
const secrets = new Set<string>();

beforeAll(async () => {
  server = await startTestServer({ TOKEN_LIMIT_PER_USER: "3" });
}, 60_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

async function login(user: { username: string; password: string }) {
  const { token } = await loginOnce(server, user.username, user.password);
  secrets.add(token);
  return token;
}

test("a 4th token revokes the oldest; the newest 3 work", async () => {
  const user = await registerUser(server, uniqueUser("cap"));
  secrets.add(user.token).add(user.password);
  const [first, second, third] = [user.token, await login(user), await login(user)];
  const tokens = [first, second, third];
  // All three live, and cached by the server.
  for (const token of tokens) await expectTokenWorks(server, token);

  tokens.push(await login(user)); // the 4th
  await expectTokenRevoked(server, first);
  for (const token of tokens.slice(1)) await expectTokenWorks(server, token);

  tokens.push(await login(user)); // the 5th: now the first login's token goes
  await expectTokenRevoked(server, first);
  await expectTokenRevoked(server, second);
  for (const token of tokens.slice(2)) await expectTokenWorks(server, token);
});

test("4 logins in a row: only the last 3 tokens work", async () => {
  const user = await registerUser(server, uniqueUser("cap4"));
  secrets.add(user.token).add(user.password);
  const logins: string[] = [];
  for (let i = 0; i < 4; i++) logins.push(await login(user));
  await expectTokenRevoked(server, user.token);
  await expectTokenRevoked(server, logins[0]!); // 4 were pushed above
  for (const token of logins.slice(1)) await expectTokenWorks(server, token);
});

test("the cap is per user: other users' tokens are untouched", async () => {
  const busy = await registerUser(server, uniqueUser("busy"));
  const calm = await registerUser(server, uniqueUser("calm"));
  secrets.add(busy.token).add(calm.token).add(busy.password).add(calm.password);
  const calmSecond = await login(calm);
  for (let i = 0; i < 5; i++) await login(busy);
  await expectTokenWorks(server, calm.token);
  await expectTokenWorks(server, calmSecond);
});

test("concurrent logins past the cap leave exactly 3 live tokens, never a 5xx", async () => {
  const user = await registerUser(server, uniqueUser("burst"));
  secrets.add(user.token).add(user.password);
  const answers = await Promise.all(Array.from({ length: 8 }, () => post(server, "/account/login", { username: user.username, password: user.password })));
  for (const answer of answers) {
    expect(answer.status).toBe(200);
    secrets.add(answer.body.token);
  }
  const tokens = [user.token, ...answers.map((answer) => answer.body.token as string)];
  const statuses = [];
  for (const token of tokens) statuses.push((await profile(server, token)).status);
  // 9 tokens issued, so exactly the cap is left.
  expect(statuses.filter((status) => status === 200).length).toBe(3);
  expect(statuses.every((status) => status === 200 || status === 401)).toBe(true);
  // And one more login, after the burst, leaves its own token live (it is the newest).
  await expectTokenWorks(server, await login(user));
});

test("logout frees a place: after it, the next login revokes nothing", async () => {
  const user = await registerUser(server, uniqueUser("free"));
  secrets.add(user.token).add(user.password);
  const second = await login(user);
  const third = await login(user);
  expectOk(await post(server, "/account/logout", undefined, { token: third }));
  const fourth = await login(user);
  for (const token of [user.token, second, fourth]) await expectTokenWorks(server, token);
});

test("no 5xx, no error logged, no secret in the log", async () => {
  await Bun.sleep(50);
  expectNoServerErrors(server);
  expectLogFreeOf(server, secrets);
});
