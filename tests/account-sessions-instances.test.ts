// Sessions and password changes across two server instances on one PostgreSQL database: a session
// revoked, or a password changed, on one instance is refused on the other within a second, although
// the other had the token in its index; a changed username or email shows there too; and an instance
// writes the uses it recorded when it stops.
//
// A is the real server in this process; B is a separate `bun src/main.ts` process. Embedded mode is
// single-process by design, so this file needs DATABASE_URL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ServerProcess, eventually, spawnServer, withApplicationName } from "./support/cluster.ts";
import { adminUrl } from "./support/db.ts";
import { type TestServer, registerUser, startTestServer } from "./support/server.ts";

const SKIP_REASON = "needs DATABASE_URL: several instances share one PostgreSQL (the embedded database is single-process by design)";
if (!adminUrl) console.warn(`skipping tests/account-sessions-instances.test.ts: ${SKIP_REASON}`);

type Client = Pick<TestServer, "request">;

const profileStatus = async (server: Client, token: string) => (await server.request("/account/profile", { token })).status;

async function login(server: Client, username: string, password: string) {
  const response = await server.request("/account/login", { method: "POST", json: { username, password } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

async function sessionsOf(server: Client, token: string) {
  const response = await server.request("/account/sessions", { token });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { id: string; current: boolean; last_used: string | null }[] }).data;
}

/** `server` refuses `token` (401) within a second. */
async function expectRefusedWithinASecond(server: Client, token: string) {
  const result = await eventually(async () => (await profileStatus(server, token)) === 401, { timeoutMs: 1_000, intervalMs: 20 });
  expect(result.ok).toBe(true);
}

describe.skipIf(!adminUrl)("sessions on two instances, one database", () => {
  let a: TestServer;
  let b: ServerProcess;

  beforeAll(async () => {
    a = await startTestServer({ LOG_LEVEL: "warn" });
    b = await spawnServer({ DATABASE_URL: withApplicationName(a.database.url!, "lumotist_b"), LOG_LEVEL: "warn" });
  }, 60_000);

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  }, 60_000);

  test("a session revoked on A is refused on B within a second (B had it in its index)", async () => {
    const user = await registerUser(a);
    const other = await login(a, user.username, user.password);
    expect(await profileStatus(b, other)).toBe(200);
    expect(await profileStatus(b, other)).toBe(200); // now answered from B's index
    const id = (await sessionsOf(a, user.token)).find((s) => !s.current)!.id;
    const revoked = await a.request(`/account/sessions/${id}`, { method: "DELETE", token: user.token });
    expect(revoked.status).toBe(200);
    await expectRefusedWithinASecond(b, other);
    expect(await profileStatus(b, user.token)).toBe(200);
  });

  test("a session revoked on B is refused on A within a second", async () => {
    const user = await registerUser(a);
    const other = await login(a, user.username, user.password);
    expect(await profileStatus(a, other)).toBe(200);
    const id = (await sessionsOf(b, user.token)).find((s) => !s.current)!.id;
    expect((await b.request(`/account/sessions/${id}`, { method: "DELETE", token: user.token })).status).toBe(200);
    await expectRefusedWithinASecond(a, other);
  });

  test("a password changed on A: every old token is refused on B within a second; the new token and password work on B", async () => {
    const user = await registerUser(a);
    const others = [await login(a, user.username, user.password), await login(b, user.username, user.password)];
    for (const token of [user.token, ...others]) {
      expect(await profileStatus(b, token)).toBe(200);
      expect(await profileStatus(b, token)).toBe(200);
    }
    const changed = await a.request("/account/change_password", {
      method: "POST",
      token: user.token,
      json: { current_password: user.password, new_password: "a new password on A" },
    });
    expect(changed.status).toBe(200);
    const { token } = (await changed.json()) as { token: string };
    for (const old of [user.token, ...others]) await expectRefusedWithinASecond(b, old);
    expect(await profileStatus(b, token)).toBe(200);
    const oldLogin = await b.request("/account/login", { method: "POST", json: { username: user.username, password: user.password } });
    expect(oldLogin.status).toBe(400);
    await login(b, user.username, "a new password on A");
  });

  test("a username or email changed on A shows in B's (cached) profile within a second", async () => {
    const user = await registerUser(a);
    const profileOnB = async () => ((await (await b.request("/account/profile", { token: user.token })).json()) as { data: { username: string; email: string } }).data;
    expect((await profileOnB()).username).toBe(user.username); // cached on B now
    const username = `${user.username}_2`;
    const email = `2.${user.email}`;
    expect((await a.request("/account/change_username", { method: "POST", token: user.token, json: { password: user.password, username } })).status).toBe(200);
    expect((await a.request("/account/change_email", { method: "POST", token: user.token, json: { password: user.password, email } })).status).toBe(200);
    const seen = await eventually(async () => {
      const data = await profileOnB();
      return data.username === username && data.email === email;
    }, { timeoutMs: 1_000, intervalMs: 20 });
    expect(seen.ok).toBe(true);
  });

  test("an instance that stops writes the uses it recorded: last_used is there on the other", async () => {
    const user = await registerUser(a);
    const onB = await login(a, user.username, user.password);
    expect(await profileStatus(b, onB)).toBe(200);
    expect((await sessionsOf(a, user.token)).find((s) => !s.current)!.last_used).toBeNull();
    await b.stop();
    expect((await b.exited)).toBe(0);
    expect((await sessionsOf(a, user.token)).find((s) => !s.current)!.last_used).not.toBeNull();
  });
});
