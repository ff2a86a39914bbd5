// Throttling, with small limits set through the environment: login failures per username from one
// address, per username from everywhere and per client address, and registrations per address,
// answer 429 with the contract's body and a matching Retry-After; the limits hold for requests in
// flight together (on one instance and on two); guesses from one address never lock the owner out
// from another; X-Forwarded-For is the client address only with TRUST_PROXY=on (and then only the hop
// our own proxy added counts); THROTTLE=off turns it all off; a window ends when it says.
// The counters live in the database (shared by every instance): each server this file starts begins
// with none.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type TestDatabase, adminUrl, createTestDatabase } from "./support/db.ts";
import { type TestServer, startTestServer, uniqueUser } from "./support/server.ts";

const LIMITS = {
  THROTTLE: "on",
  THROTTLE_LOGIN_USERNAME: "3/1m",
  THROTTLE_LOGIN_USERNAME_ALL: "6/1m",
  THROTTLE_LOGIN_ADDRESS: "5/1m",
  THROTTLE_REGISTER_ADDRESS: "3/1m",
};
const THROTTLED = /^Request was throttled\. Expected available in (\d+) seconds\.$/;
const BAD_CREDENTIALS = { non_field_errors: ["Unable to log in with provided credentials."] };

let database: TestDatabase;
let server: TestServer | undefined;
let nextAddress = 1;
/** A client address no other request of this file used. */
const freshAddress = () => `198.51.100.${nextAddress++}`;

/** Starts a server with `env` on the shared database, stopping the previous one (throttles are per process). */
async function serve(env: Record<string, string>): Promise<TestServer> {
  await server?.running.stop();
  server = await startTestServer({ LOG_LEVEL: "warn", ...env }, database);
  await server.running.db.sql`delete from throttle_windows`;
  trustsProxy = env.TRUST_PROXY === "on";
  return server;
}

function login(s: TestServer, username: string, password: string, forwardedFor?: string) {
  return s.request("/account/login", {
    method: "POST",
    json: { username, password },
    headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
  });
}

function register(s: TestServer, user: { username: string; email: string; password: string }, forwardedFor?: string) {
  return s.request("/account/register", { method: "POST", json: user, headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor } });
}

/** Registers a user from an address of its own (registrations are throttled per address too). */
async function newUser(s: TestServer, prefix: string) {
  const user = uniqueUser(prefix);
  const response = await register(s, user, s === server && trustsProxy ? freshAddress() : undefined);
  expect(response.status).toBe(200);
  return user;
}
let trustsProxy = false;

/** A 429 exactly as the contract has it: the body's N and Retry-After agree, and N is within the window. */
async function expectThrottled(response: Response, windowSeconds: number) {
  expect(response.status).toBe(429);
  const body = (await response.json()) as { detail: string };
  expect(Object.keys(body)).toEqual(["detail"]);
  const match = THROTTLED.exec(body.detail);
  expect(match).not.toBeNull();
  const seconds = Number(match![1]);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(windowSeconds);
  expect(response.headers.get("retry-after")).toBe(String(seconds));
  return seconds;
}

beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  await server?.running.stop();
  await database?.drop();
}, 60_000);

describe("THROTTLE=on, TRUST_PROXY=on (small limits)", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await serve({ ...LIMITS, TRUST_PROXY: "on" });
  }, 60_000);

  test("login failures per username from one address: the 4th attempt from it is refused, in any case, even with the right password; the owner elsewhere is not", async () => {
    const user = await newUser(s, "victim");
    const attacker = freshAddress();
    for (let i = 0; i < 3; i++) {
      const response = await login(s, user.username, "wrong password", attacker);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(BAD_CREDENTIALS);
    }
    await expectThrottled(await login(s, user.username, "wrong password", attacker), 60);
    await expectThrottled(await login(s, user.username, user.password, attacker), 60);
    await expectThrottled(await login(s, user.username.toUpperCase(), user.password, attacker), 60);
    // The owner, from another address, is not locked out.
    expect((await login(s, user.username, user.password, freshAddress())).status).toBe(200);
    // Another user is not affected, from the attacker's address either.
    const other = await newUser(s, "bystander");
    expect((await login(s, other.username, other.password, attacker)).status).toBe(200);
  });

  test("login failures per username from everywhere: guessing spread over addresses is bounded too (a higher ceiling)", async () => {
    const user = await newUser(s, "spread");
    for (let i = 0; i < 6; i++) expect((await login(s, user.username, "wrong password", freshAddress())).status).toBe(400);
    await expectThrottled(await login(s, user.username, "wrong password", freshAddress()), 60);
    await expectThrottled(await login(s, user.username, user.password, freshAddress()), 60);
  });

  test("120 wrong passwords for one username in flight at once: at most the limit are checked, the rest get 429 with Retry-After; the owner logs in from another address meanwhile", async () => {
    const user = await newUser(s, "burst");
    const attacker = freshAddress();
    const owner = freshAddress();
    const guesses = Array.from({ length: 120 }, () => login(s, user.username, "wrong password", attacker));
    const ownerLogin = login(s, user.username, user.password, owner);
    const answers = await Promise.all(guesses);
    const statuses = answers.map((response) => response.status);
    expect(statuses.filter((status) => status === 400).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(117);
    expect(statuses.every((status) => status === 400 || status === 429)).toBe(true);
    for (const response of answers.filter((r) => r.status === 429)) expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await ownerLogin).status).toBe(200);
  });

  test("login failures per address: the 6th is refused whatever the username; another address is not", async () => {
    const user = await newUser(s, "real");
    const address = freshAddress();
    for (let i = 0; i < 5; i++) expect((await login(s, `nobody_${i}_${Date.now()}`, "wrong password", address)).status).toBe(400);
    await expectThrottled(await login(s, `nobody_else_${Date.now()}`, "wrong password", address), 60);
    await expectThrottled(await login(s, user.username, user.password, address), 60);
    expect((await login(s, user.username, user.password, freshAddress())).status).toBe(200);
  });

  test("successful logins do not count", async () => {
    const user = await newUser(s, "regular");
    const address = freshAddress();
    for (let i = 0; i < 8; i++) expect((await login(s, user.username, user.password, address)).status).toBe(200);
  });

  test("registrations per address: the 4th is refused and creates nothing", async () => {
    const address = freshAddress();
    expect((await register(s, uniqueUser("reg"), address)).status).toBe(200);
    expect((await register(s, { ...uniqueUser("reg"), email: "not an email" }, address)).status).toBe(400); // failures count too
    expect((await register(s, uniqueUser("reg"), address)).status).toBe(200);
    const refused = uniqueUser("reg");
    await expectThrottled(await register(s, refused, address), 60);
    // Nothing was created: the same registration from another address succeeds.
    expect((await login(s, refused.username, refused.password, freshAddress())).status).toBe(400);
    expect((await register(s, refused, freshAddress())).status).toBe(200);
  });

  test("a different X-Forwarded-For is a different client", async () => {
    for (let i = 0; i < 12; i++) expect((await login(s, `nobody_${Date.now()}_${i}`, "wrong password", freshAddress())).status).toBe(400);
    for (let i = 0; i < 6; i++) expect((await register(s, uniqueUser("xff"), freshAddress())).status).toBe(200);
  });

  test("only the hop our proxy added counts: a client cannot dodge the limit by sending its own X-Forwarded-For", async () => {
    // A proxy appends the address it saw to whatever the client sent: `<client's own text>, <real address>`.
    const real = freshAddress();
    for (let i = 0; i < 5; i++) expect((await login(s, `nobody_${i}_${Date.now()}`, "wrong password", `203.0.113.${i}, ${real}`)).status).toBe(400);
    await expectThrottled(await login(s, `nobody_x_${Date.now()}`, "wrong password", `203.0.113.99, ${real}`), 60);
    await expectThrottled(await login(s, `nobody_y_${Date.now()}`, "wrong password", real), 60);
  });

  test("no X-Forwarded-For: the socket address", async () => {
    for (let i = 0; i < 5; i++) expect((await login(s, `nobody_${i}_${Date.now()}`, "wrong password")).status).toBe(400);
    await expectThrottled(await login(s, `nobody_z_${Date.now()}`, "wrong password"), 60);
  });
});

test.skipIf(!adminUrl)("two instances on one database: 60 wrong passwords in flight at each, for one username from one address, check at most the limit in all (PostgreSQL only)", async () => {
  const a = await serve({ ...LIMITS, TRUST_PROXY: "on" });
  const b = await startTestServer({ LOG_LEVEL: "warn", ...LIMITS, TRUST_PROXY: "on" }, database);
  try {
    const user = await newUser(a, "twice");
    const attacker = freshAddress();
    const answers = await Promise.all(
      Array.from({ length: 120 }, (_, i) => login(i % 2 ? b : a, user.username, "wrong password", attacker)),
    );
    const statuses = answers.map((response) => response.status);
    expect(statuses.filter((status) => status === 400).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(117);
    expect((await login(b, user.username, user.password, freshAddress())).status).toBe(200);
  } finally {
    await b.running.stop();
  }
}, 60_000);

test("TRUST_PROXY=off: X-Forwarded-For is ignored, every request is the socket's address", async () => {
  const s = await serve({ ...LIMITS, TRUST_PROXY: "off" });
  for (let i = 0; i < 5; i++) expect((await login(s, `nobody_${i}_${Date.now()}`, "wrong password", freshAddress())).status).toBe(400);
  await expectThrottled(await login(s, `nobody_last_${Date.now()}`, "wrong password", freshAddress()), 60);
  for (let i = 0; i < 3; i++) expect((await register(s, uniqueUser("off"), freshAddress())).status).toBe(200);
  await expectThrottled(await register(s, uniqueUser("off"), freshAddress()), 60);
}, 60_000);

test("THROTTLE=off: no limit at all", async () => {
  const s = await serve({ ...LIMITS, THROTTLE: "off" });
  const user = await newUser(s, "unlimited");
  for (let i = 0; i < 15; i++) expect((await login(s, user.username, "wrong password")).status).toBe(400);
  expect((await login(s, user.username, user.password)).status).toBe(200);
  for (let i = 0; i < 6; i++) expect((await register(s, uniqueUser("unlimited"))).status).toBe(200);
}, 60_000);

test("the window ends when Retry-After says", async () => {
  const s = await serve({ THROTTLE: "on", THROTTLE_LOGIN_USERNAME: "2/2s", TRUST_PROXY: "off" });
  const user = await newUser(s, "patient");
  for (let i = 0; i < 2; i++) expect((await login(s, user.username, "wrong password")).status).toBe(400);
  const seconds = await expectThrottled(await login(s, user.username, user.password), 2);
  await Bun.sleep(seconds * 1000 + 50);
  expect((await login(s, user.username, user.password)).status).toBe(200);
}, 60_000);
