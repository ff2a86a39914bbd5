// Security headers and hygiene, over every route the app has and every kind of answer (200, 400,
// 401, 404, 405, 413, 429, 500, 503, preflight): X-Content-Type-Options: nosniff everywhere,
// Cache-Control: no-store on every account answer, no Server / X-Powered-By banner, no stack trace
// or SQL text in any body (errors provoked on purpose, a missing table among them), and no token or
// password the test used in any line the server logged. The answers come from three scenarios, each
// run once by whichever test asks for it first, so that any test here also runs alone.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type PgProxy, startPgProxy } from "./support/cluster.ts";
import { adminUrl } from "./support/db.ts";
import { type TestRequestInit, type TestServer, appRoutes, requestInit, startTestServer, uniqueUser } from "./support/server.ts";

let server: TestServer;
let routes: { method: string; path: string }[];
/** Every secret the test handled: tokens issued, passwords sent (right and wrong). */
const secrets = new Set<string>();
/** Every answer the test received, for the checks that apply to all of them. */
const answers: { label: string; path: string; status: number; headers: Headers; text: string }[] = [];

async function call(label: string, path: string, init: TestRequestInit = {}, target: TestServer = server) {
  const response = await fetch(target.base + path, { ...requestInit(init), signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  for (const match of text.matchAll(/"token":"([0-9a-f]{64})"/g)) secrets.add(match[1]!);
  const answer = { label, path, status: response.status, headers: response.headers, text };
  answers.push(answer);
  return answer;
}

async function newUser(prefix = "sec") {
  const user = uniqueUser(prefix);
  user.password = `pw-${crypto.randomUUID()}`; // unique, so a leak is unambiguous
  secrets.add(user.password);
  const answer = await call("register", "/account/register", { method: "POST", json: user });
  expect(answer.status).toBe(200);
  return { ...user, token: (JSON.parse(answer.text) as { token: string }).token };
}

beforeAll(async () => {
  server = await startTestServer({
    LOAD_SAMPLE: "on",
    LOG_LEVEL: "debug",
    THROTTLE: "on",
    THROTTLE_LOGIN_USERNAME: "3/1m",
    THROTTLE_LOGIN_ADDRESS: "1000/1m",
    THROTTLE_REGISTER_ADDRESS: "1000/1m",
  });
  routes = await appRoutes(server);
}, 60_000);

afterAll(async () => {
  await server?.stop();
}, 60_000);

/**
 * Runs `scenario` the first time it is asked for and hands every later caller the same promise: the
 * tests below that check all answers at once ask for every scenario, so each of them also runs alone
 * (`bun test tests/security.test.ts -t "nosniff"`) instead of passing over an empty list.
 */
function once(scenario: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= scenario());
}

/** Right and wrong methods, with and without (valid, invalid) tokens, bad bodies, 404, 413, 429. */
const provokeEveryRoute = once(async () => {
  const user = await newUser();
  const victim = await newUser("victim");
  for (const route of routes) {
    const path = route.path.replace(":id", "1");
    for (const token of [undefined, user.token, "f".repeat(64), "not-a-token"]) {
      const destructive = ["/account/logout", "/account/logoutall", "/account/delete"].includes(route.path) && token === user.token;
      if (destructive) continue; // done last, below
      const body = route.method === "GET" ? undefined : "{}";
      await call(`${route.method} ${path}`, path, { method: route.method, token, body, headers: body ? { "content-type": "application/json" } : {} });
      await call(`wrong method on ${path}`, path, { method: route.method === "GET" ? "POST" : "GET", token, body: route.method === "GET" ? "{}" : undefined });
    }
    if (route.method !== "GET") {
      await call(`bad JSON to ${path}`, path, { method: route.method, token: user.token, body: "{nope", headers: { "content-type": "application/json" } });
      await call(`not an object to ${path}`, path, { method: route.method, token: user.token, body: "[1,2]" });
      await call(`too large to ${path}`, path, { method: route.method, token: user.token, body: `{"a":"${"x".repeat(70 * 1024)}"}` });
      await call(`nested to ${path}`, path, { method: route.method, token: user.token, body: `{"username":${"[".repeat(5000)}${"]".repeat(5000)}}` });
    }
    await call(`HEAD ${path}`, path, { method: "HEAD", token: user.token });
    await call(`preflight ${path}`, path, { method: "OPTIONS", headers: { origin: "https://example.com", "access-control-request-method": route.method, "access-control-request-headers": "authorization, content-type" } });
  }
  for (const path of ["/nope", "/account", "/account/", "/anime/entry/0", "/anime/entry/999999", "/swagger", "/swagger/json"]) await call(`GET ${path}`, path);
  // Wrong passwords, until the username is throttled (429).
  for (let i = 0; i < 5; i++) {
    const wrong = `wrong-${crypto.randomUUID()}`;
    secrets.add(wrong);
    await call("wrong password", "/account/login", { method: "POST", json: { username: victim.username, password: wrong } });
  }
  expect(answers.at(-1)!.status).toBe(429);
  await call("right password, throttled", "/account/login", { method: "POST", json: { username: victim.username, password: victim.password } });
  // Secrets in a query string, where a careless log would pick them up.
  await call("token in query", `/anime/random?token=${user.token}&password=${encodeURIComponent(user.password)}`);
  // A good login, then the destructive routes with real tokens.
  const login = await call("login", "/account/login", { method: "POST", json: { username: user.username, password: user.password } });
  expect(login.status).toBe(200);
  const loginToken = (JSON.parse(login.text) as { token: string }).token;
  await call("set_picture", "/account/set_picture", { method: "POST", token: user.token, json: { id: 3 } });
  await call("logout", "/account/logout", { method: "POST", token: loginToken });
  await call("logoutall", "/account/logoutall", { method: "POST", token: user.token });
  const doomed = await newUser("doomed");
  await call("delete", "/account/delete", { method: "DELETE", token: doomed.token });
});

/** A database error on purpose: the users table renamed away, then back. */
const provokeDatabaseError = once(async () => {
  const user = await newUser("tables");
  const sql = server.running.db.sql;
  await sql`alter table users rename to users_gone`;
  try {
    await call("login, table gone", "/account/login", { method: "POST", json: { username: user.username, password: user.password } });
    await call("register, table gone", "/account/register", { method: "POST", json: { ...uniqueUser("gone"), password: user.password } });
  } finally {
    await sql`alter table users_gone rename to users`;
  }
  await call("login again", "/account/login", { method: "POST", json: { username: user.username, password: user.password } });
});

/** The database unreachable (PostgreSQL only): a second server on the same database through a proxy that is cut. */
const provokeUnreachable = once(async () => {
  const url = new URL(server.database.url!);
  const proxy: PgProxy = await startPgProxy({ host: url.hostname, port: Number(url.port || 5432) });
  const cut = await startTestServer({ LOG_LEVEL: "debug" }, { ...server.database, env: { DATABASE_URL: proxy.urlFor(server.database.url!) } });
  try {
    const user = await newUser("cut");
    proxy.partition();
    for (const [label, path, init] of [
      ["login, cut", "/account/login", { method: "POST", json: { username: user.username, password: user.password } }],
      ["profile, cut", "/account/profile", { token: user.token }],
      ["register, cut", "/account/register", { method: "POST", json: uniqueUser("cut") }],
    ] as const) {
      await call(label, path, init as never, cut);
    }
  } finally {
    for (const line of cut.logs) server.logs.push(line); // checked with the rest below
    proxy.heal();
    await cut.running.stop(); // not stop(): the database is the main server's
    await proxy.close();
  }
});

const byLabel = (label: string) => answers.filter((a) => a.label === label);

/** Every status the answers must include, so that the checks on all of them cover every kind. */
const EVERY_KIND = [200, 204, 400, 401, 404, 405, 413, 429, 500, ...(adminUrl ? [503] : [])];

/** Runs every scenario (once) and returns all the answers they received. */
async function everyAnswer() {
  await provokeEveryRoute();
  await provokeDatabaseError();
  if (adminUrl) await provokeUnreachable();
  expect(answers.length).toBeGreaterThan(routes.length * 8);
  expect([...new Set(answers.map((a) => a.status))]).toEqual(expect.arrayContaining(EVERY_KIND));
  return answers;
}

describe("every kind of answer, on every route", () => {
  test("provoke them: right and wrong methods, with and without (valid, invalid) tokens, bad bodies, 404, 413, 429", async () => {
    await provokeEveryRoute();
    const statuses = new Set(answers.map((a) => a.status));
    for (const status of [200, 204, 400, 401, 404, 405, 413, 429]) expect(statuses).toContain(status);
  }, 60_000);

  test("a database error (a table gone) answers a bare 500, never SQL or a stack trace", async () => {
    await provokeDatabaseError();
    const gone = [...byLabel("login, table gone"), ...byLabel("register, table gone")];
    expect(gone).toHaveLength(2);
    for (const answer of gone) {
      expect(answer.status).toBe(500);
      expect(JSON.parse(answer.text)).toEqual({ detail: "Internal server error." });
    }
    expect(byLabel("login again").map((a) => a.status)).toEqual([200]);
  }, 30_000);

  test.skipIf(!adminUrl)("the database unreachable: 503 (PostgreSQL only: through a proxy that is cut)", async () => {
    await provokeUnreachable();
    const cut = ["login, cut", "profile, cut", "register, cut"].flatMap(byLabel);
    expect(cut).toHaveLength(3);
    for (const answer of cut) expect(answer.status).toBe(503);
  }, 30_000);
});

describe("what every answer must (not) carry", () => {
  test("X-Content-Type-Options: nosniff on every answer", async () => {
    const answers = await everyAnswer();
    const missing = answers.filter((a) => a.headers.get("x-content-type-options") !== "nosniff").map((a) => `${a.label} -> ${a.status}`);
    expect(missing).toEqual([]);
  });

  test("Cache-Control: no-store on every account answer, errors included", async () => {
    const answers = await everyAnswer();
    const account = answers.filter((a) => /^\/acc?ount\//.test(a.path));
    expect(account.length).toBeGreaterThan(50);
    const missing = account.filter((a) => !/\bno-store\b/.test(a.headers.get("cache-control") ?? "")).map((a) => `${a.label} -> ${a.status}`);
    expect(missing).toEqual([]);
  });

  test("no Server or X-Powered-By banner, no version in any header", async () => {
    for (const answer of await everyAnswer()) {
      expect(answer.headers.get("server")).toBeNull();
      expect(answer.headers.get("x-powered-by")).toBeNull();
      for (const [name, value] of answer.headers) expect(`${name}: ${value}`).not.toMatch(/\b(bun|elysia|node|postgres)\b.*\d+\.\d+/i);
    }
  });

  test("no stack trace, SQL or internal detail in any body", async () => {
    const answers = await everyAnswer();
    const leaks = answers
      .filter((a) => !a.path.startsWith("/swagger"))
      .filter((a) =>
        /\bat .+:\d+:\d+|node_modules|\/work\/|src\/[\w/]+\.ts|\b(select|insert into|update \w+ set|delete from)\b|relation "|PostgresError|TypeError|RangeError|SyntaxError/i.test(a.text),
      )
      .map((a) => `${a.label} -> ${a.status}: ${a.text.slice(0, 200)}`);
    expect(leaks).toEqual([]);
    // The error bodies are the contract's small JSON objects.
    for (const answer of answers.filter((a) => a.status >= 500)) {
      expect(["{\"detail\":\"Internal server error.\"}", "{\"detail\":\"Service temporarily unavailable.\"}"]).toContain(answer.text);
    }
  });

  test("no token or password in any log line", async () => {
    await everyAnswer();
    expect(secrets.size).toBeGreaterThan(10);
    expect(server.logs.length).toBeGreaterThan(100);
    const leaks: string[] = [];
    for (const line of server.logs) {
      for (const secret of secrets) if (line.includes(secret)) leaks.push(`${secret.slice(0, 8)}… in ${line.slice(0, 200)}`);
    }
    expect(leaks).toEqual([]);
    // And the token's SHA-256 digest is not logged either (it is what the database stores).
    for (const secret of [...secrets].filter((s) => /^[0-9a-f]{64}$/.test(s))) {
      const digest = new Bun.CryptoHasher("sha256").update(secret).digest("hex");
      expect(server.logs.some((line) => line.includes(digest))).toBe(false);
    }
  });
});
