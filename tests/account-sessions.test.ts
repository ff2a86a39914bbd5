// Sessions over HTTP: GET /account/sessions (one item per live token, newest first, with the user
// agent it was issued to and when it was last used, to the minute) and DELETE /account/sessions/{id}
// (a logout of that token). A session's id is its own random value: it reveals nothing of the token.
import { afterAll, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";
import { type Answer, call, expect401, expectLogFreeOf, expectNoServerErrors, expectTokenRevoked, expectTokenWorks, post, sha256Hex } from "./account-support.ts";
import { eventually } from "./support/cluster.ts";

let server: TestServer;
const secrets = new Set<string>();

beforeAll(async () => {
  server = await startTestServer();
  // Uses answered from the token index are part of what is tested: wait until it has loaded.
  const loaded = await eventually(() => server.running.services.auth.indexState().ready, { timeoutMs: 10_000 });
  expect(loaded.ok).toBe(true);
}, 60_000);

afterAll(async () => {
  setSystemTime();
  await server?.stop();
}, 30_000);

interface SessionItem {
  id: string;
  created: string;
  last_used: string | null;
  expiry: string;
  user_agent: string | null;
  current: boolean;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const NOT_FOUND = { detail: "Not found." };

const withAgent = (agent: string) => ({ headers: { "user-agent": agent } });

async function register(agent = "SessionsTest/1.0 (register)") {
  const user = uniqueUser("sessions");
  const answer = await post(server, "/account/register", user, withAgent(agent));
  expect(answer.status).toBe(200);
  secrets.add(answer.body.token).add(user.password);
  return { ...user, token: answer.body.token as string };
}

async function login(user: { username: string; password: string }, agent = "SessionsTest/1.0 (login)") {
  const answer = await post(server, "/account/login", { username: user.username, password: user.password }, withAgent(agent));
  expect(answer.status).toBe(200);
  secrets.add(answer.body.token);
  return answer.body.token as string;
}

async function sessions(token: string): Promise<SessionItem[]> {
  const answer = await call(server, "/account/sessions", { token });
  expect(answer.status).toBe(200);
  expect(answer.body.success).toBe(true);
  expect(answer.headers.get("cache-control")).toBe("no-store");
  return answer.body.data;
}

const revoke = (token: string, id: string) => call(server, `/account/sessions/${id}`, { method: "DELETE", token });

/** The start of the current minute (UTC), as an ISO string. */
const minuteStart = (ms = Date.now()) => new Date(Math.floor(ms / 60_000) * 60_000).toISOString();

/** The session of `token`, found through the database (the test's view, not the API's). */
async function sessionIdOf(token: string): Promise<string> {
  const [row] = await server.running.db.sql<[{ session_id: string }]>`
    select session_id from tokens where digest = ${Buffer.from(sha256Hex(token), "hex")}`;
  return row.session_id;
}

describe("GET /account/sessions", () => {
  test("one item per live token, newest first, with the user agent it was issued to and the current flag", async () => {
    const user = await register("Agent/register");
    const second = await login(user, "Agent/second");
    const third = await login(user, "Agent/third");
    const list = await sessions(second);
    expect(list.map((s) => s.user_agent)).toEqual(["Agent/third", "Agent/second", "Agent/register"]);
    expect(list.map((s) => s.current)).toEqual([false, true, false]);
    for (const item of list) {
      expect(Object.keys(item).sort()).toEqual(["created", "current", "expiry", "id", "last_used", "user_agent"]);
      expect(item.created).toMatch(ISO);
      expect(item.expiry).toMatch(ISO);
      expect(Date.parse(item.expiry)).toBeGreaterThan(Date.parse(item.created));
    }
    const created = list.map((s) => Date.parse(s.created));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    expect((await sessions(third)).map((s) => s.current)).toEqual([true, false, false]);
    expect(list.map((s) => s.id)).toEqual([await sessionIdOf(third), await sessionIdOf(second), await sessionIdOf(user.token)]);
  });

  test("user agents are kept to 256 characters; none (or an empty one) is null", async () => {
    const user = await register("x".repeat(300));
    await login(user, `é${"y".repeat(255)}`);
    await login(user, "");
    const list = await sessions(user.token);
    expect(list.map((s) => s.user_agent)).toEqual([null, `é${"y".repeat(255)}`, "x".repeat(256)]);
  });

  test("ties on the creation time are ordered by id", async () => {
    const user = await register();
    const tokens = [await login(user), await login(user), await login(user)];
    await server.running.db.sql`update tokens set created_at = '2030-01-01T00:00:00Z' where user_id = (select user_id from tokens where digest = ${Buffer.from(sha256Hex(tokens[0]!), "hex")})`;
    const list = await sessions(tokens[0]!);
    expect(list).toHaveLength(4);
    expect(list.map((s) => s.id)).toEqual(list.map((s) => s.id).sort());
  });

  test("an id is opaque and stable, and reveals nothing of the token", async () => {
    const user = await register();
    const other = await login(user);
    const first = await sessions(user.token);
    const again = await sessions(other);
    expect(again.map((s) => s.id)).toEqual(first.map((s) => s.id));
    expect(new Set(first.map((s) => s.id)).size).toBe(first.length);
    for (const token of [user.token, other]) {
      const id = await sessionIdOf(token);
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const digest = Buffer.from(sha256Hex(token), "hex");
      for (const form of [token, digest.toString("hex"), digest.toString("base64"), digest.toString("base64url"), Buffer.from(token, "hex").toString("base64url")]) {
        expect(form.includes(id)).toBe(false);
        // Not even a part of it: no 8-character run of the id appears in any form of the token.
        for (let at = 0; at + 8 <= id.length; at++) expect(form.includes(id.slice(at, at + 8))).toBe(false);
      }
    }
  });

  test("expired tokens are not listed", async () => {
    const user = await register();
    const old = await login(user);
    await server.running.db.sql`update tokens set expires_at = now() - interval '1 second' where digest = ${Buffer.from(sha256Hex(old), "hex")}`;
    const list = await sessions(user.token);
    expect(list).toHaveLength(1);
    expect(list[0]!.current).toBe(true);
  });

  test("needs a token", async () => {
    expect401(await call(server, "/account/sessions"), "Authentication credentials were not provided.");
    expect401(await call(server, "/account/sessions", { token: "f".repeat(64) }));
  });
});

describe("last_used", () => {
  test("null until the token is used; then the minute of its last use, exact on this instance", async () => {
    const user = await register();
    const unused = await login(user);
    const before = Date.now();
    const list = await sessions(user.token); // this request is a use of user.token
    const after = Date.now();
    const mine = list.find((s) => s.current)!;
    expect([minuteStart(before), minuteStart(after)]).toContain(mine.last_used!);
    expect(list.find((s) => !s.current)!.last_used).toBeNull();

    const usedAt = Date.now();
    await expectTokenWorks(server, unused);
    const now = (await sessions(user.token)).find((s) => !s.current)!;
    expect([minuteStart(usedAt), minuteStart(Date.now())]).toContain(now.last_used!);
  });

  test("a token the index answers is recorded again when its minute changes (once a minute, not once a request)", async () => {
    const user = await register();
    const other = await login(user);
    await expectTokenWorks(server, other); // first use: from the database, then remembered by the index
    await sessions(user.token); // writes it
    const digest = Buffer.from(sha256Hex(other), "hex");
    // Erase the written minute: further uses within the same minute are not written again.
    await server.running.db.sql`update tokens set last_used_at = null where digest = ${digest}`;
    await expectTokenWorks(server, other);
    expect((await sessions(user.token)).find((s) => !s.current)!.last_used).toBeNull();

    const later = Date.now() + 3 * 60_000;
    setSystemTime(new Date(later));
    try {
      await expectTokenWorks(server, other); // answered from the index, in a new minute
      expect((await sessions(user.token)).find((s) => !s.current)!.last_used).toBe(minuteStart(later));
    } finally {
      setSystemTime();
    }
  });
});

describe("DELETE /account/sessions/{id}", () => {
  test("revokes that token at once; the others keep working", async () => {
    const user = await register();
    const other = await login(user);
    const id = await sessionIdOf(other);
    await expectTokenWorks(server, other); // the index knows it now
    const answer = await revoke(user.token, id);
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: { success: true } });
    await expectTokenRevoked(server, other);
    await expectTokenWorks(server, user.token);
    expect((await sessions(user.token)).map((s) => s.id)).toEqual([await sessionIdOf(user.token)]);
    // Gone: a second time is 404.
    expectNotFound(await revoke(user.token, id));
  });

  test("revoking the current session logs it out", async () => {
    const user = await register();
    const answer = await revoke(user.token, await sessionIdOf(user.token));
    expect(answer.status).toBe(200);
    await expectTokenRevoked(server, user.token);
  });

  test("404 for an unknown id, another user's, and any malformed one; nothing is revoked", async () => {
    const user = await register();
    const stranger = await register();
    expectNotFound(await revoke(user.token, await sessionIdOf(stranger.token)));
    await expectTokenWorks(server, stranger.token);
    const malformed = ["AAAAAAAAAAAAAAAAAAAAAA", "x", "%00", "a%00bcdefghijklmnopqrstu", "%E2%80%AE", "..%2F..", "1", "' or 1=1 --", "A".repeat(5000), "%F0%9F%98%80".repeat(22)];
    for (const id of malformed) expectNotFound(await revoke(user.token, id));
    expect(await sessions(user.token)).toHaveLength(1);
    await expectTokenWorks(server, stranger.token);
  });

  test("needs a token", async () => {
    const user = await register();
    const id = await sessionIdOf(user.token);
    expect401(await call(server, `/account/sessions/${id}`, { method: "DELETE" }), "Authentication credentials were not provided.");
    await expectTokenWorks(server, user.token);
  });
});

function expectNotFound(answer: Answer) {
  expect({ status: answer.status, body: answer.body }).toEqual({ status: 404, body: NOT_FOUND });
}

describe("the whole run", () => {
  test("no request answered 5xx, nothing logged as an error, no token or password in the log", () => {
    expectNoServerErrors(server);
    expectLogFreeOf(server, secrets);
  });
});
