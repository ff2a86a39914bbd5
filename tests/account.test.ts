// The account endpoints end to end over HTTP, against the real server on a fresh database (embedded
// PGlite, or a new database in the PostgreSQL that DATABASE_URL names): registration, login, the
// token rules, logout, profile, pictures, deletion and how tokens are stored.
// Validation and malformed requests are in account-bad-input.test.ts; expiry and the per-user cap
// in tokens-expiry.test.ts and tokens-limit.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres, { type Sql } from "postgres";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";
import {
  type Answer,
  INVALID_TOKEN,
  ISO_UTC_PATTERN,
  NOT_PROVIDED,
  TOKEN_PATTERN,
  call,
  expect401,
  expectLogFreeOf,
  expectNoServerErrors,
  expectOk,
  expectTokenRevoked,
  expectTokenWorks,
  post,
  profile,
  sha256Hex,
} from "./account-support.ts";

let server: TestServer;
/** Every token and password this file used: none may reach the log. */
const secrets = new Set<string>();

beforeAll(async () => {
  server = await startTestServer();
}, 60_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

const USERNAME_TAKEN = "user with this username already exists.";
const EMAIL_TAKEN = "user with this email already exists.";
const BAD_CREDENTIALS = { non_field_errors: ["Unable to log in with provided credentials."] };
const DEFAULT_PICTURE = "https://www.anime-planet.com/images/characters/default.jpg";
const THIRTY_DAYS_MS = 30 * 24 * 60 * 60 * 1000;

const picture = (slug: string) => `https://www.anime-planet.com/images/characters/${slug}.jpg`;

/** DD-MM-YYYY of a date's UTC day, by reordering its ISO 8601 form (not how the server formats it). */
function ddmmyyyy(date: Date): string {
  const [year, month, day] = date.toISOString().slice(0, 10).split("-");
  return `${day}-${month}-${year}`;
}

async function register(user = uniqueUser()) {
  const registered = await registerUser(server, user);
  secrets.add(registered.token).add(user.password);
  return registered;
}

async function login(username: string, password: string): Promise<Answer> {
  const answer = await post(server, "/account/login", { username, password });
  if (answer.status === 200) secrets.add(answer.body.token);
  return answer;
}

async function loginToken(username: string, password: string): Promise<string> {
  const answer = await login(username, password);
  expect(answer.status).toBe(200);
  return answer.body.token;
}

describe("POST /account/register", () => {
  test("200: success, a 64-hex token and the user as registered", async () => {
    const user = uniqueUser("reg");
    const answer = await post(server, "/account/register", user);
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(["success", "token", "user"]);
    expect(answer.body.success).toBe(true);
    expect(answer.body.token).toMatch(TOKEN_PATTERN);
    expect(answer.body.user).toEqual({ id: expect.any(Number), username: user.username, email: user.email });
    expect(Number.isInteger(answer.body.user.id)).toBe(true);
    expect(answer.headers.get("content-type")).toStartWith("application/json");
    secrets.add(answer.body.token).add(user.password);
    // The token works at once, and names this user.
    const me = await expectTokenWorks(server, answer.body.token);
    expect(me.body.data).toMatchObject({ id: answer.body.user.id, username: user.username, email: user.email });
  });

  test("the username is stored as typed, and unique ignoring case", async () => {
    const user = uniqueUser("Test");
    const first = await register(user);
    const me = await profile(server, first.token);
    expect(me.body.data.username).toBe(user.username); // "Test_…", not lower-cased

    const other = uniqueUser("other");
    const again = await post(server, "/account/register", { ...other, username: user.username.toLowerCase() });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ success: false, errors: { username: [USERNAME_TAKEN] } });
    const upper = await post(server, "/account/register", { ...other, username: user.username.toUpperCase() });
    expect(upper.body).toEqual({ success: false, errors: { username: [USERNAME_TAKEN] } });
  });

  test("a username in another script is unique ignoring case too", async () => {
    const suffix = uniqueUser().username.slice(-6);
    await register({ ...uniqueUser(), username: `Дмитрий_${suffix}` });
    const again = await post(server, "/account/register", { ...uniqueUser(), username: `ДМИТРИЙ_${suffix.toUpperCase()}` });
    expect(again.body).toEqual({ success: false, errors: { username: [USERNAME_TAKEN] } });
  });

  test("the email is unique ignoring case", async () => {
    const user = uniqueUser("mail");
    await register({ ...user, email: user.email.replace("mail.", "Mail.").replace("example.com", "Example.COM") });
    const again = await post(server, "/account/register", { ...uniqueUser(), email: user.email.toLowerCase() });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ success: false, errors: { email: [EMAIL_TAKEN] } });
  });

  test("both fields taken: both are listed at once", async () => {
    const user = await register(uniqueUser("both"));
    const again = await post(server, "/account/register", {
      username: user.username.toUpperCase(),
      email: user.email.toUpperCase(),
      password: "another password",
    });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ success: false, errors: { username: [USERNAME_TAKEN], email: [EMAIL_TAKEN] } });
  });

  test("a taken username and an invalid password are reported together", async () => {
    const user = await register(uniqueUser("combo"));
    const again = await post(server, "/account/register", { ...uniqueUser(), username: user.username, password: "short" });
    expect(again.body).toEqual({
      success: false,
      errors: {
        username: [USERNAME_TAKEN],
        password: ["This password is too short. It must contain at least 8 characters."],
      },
    });
  });

  test("10 concurrent registrations of one username: exactly one wins, the rest get the username error", async () => {
    const base = uniqueUser("race");
    const attempts = Array.from({ length: 10 }, (_, i) => ({
      username: i % 2 ? base.username.toUpperCase() : base.username,
      email: `race${i}.${base.email}`,
      password: base.password,
    }));
    const answers = await Promise.all(attempts.map((attempt) => post(server, "/account/register", attempt)));
    const winners = answers.filter((answer) => answer.status === 200);
    expect(winners).toHaveLength(1);
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect({ status: answer.status, body: answer.body }).toEqual({
        status: 400,
        body: { success: false, errors: { username: [USERNAME_TAKEN] } },
      });
    }
    const winner = winners[0]!.body; // exactly one, checked above
    secrets.add(winner.token);
    const me = await expectTokenWorks(server, winner.token);
    expect(me.body.data.email).toBe(winner.user.email);
    // Only the winner's email was used up: a loser's email is still free.
    const loserEmail = attempts.map((a) => a.email).find((email) => email !== winner.user.email)!;
    const retry = await post(server, "/account/register", { ...uniqueUser(), email: loserEmail });
    expect(retry.status).toBe(200);
    secrets.add(retry.body.token);
  });

  test("10 concurrent registrations of one email: exactly one wins, the rest get the email error", async () => {
    const base = uniqueUser("racemail");
    const attempts = Array.from({ length: 10 }, (_, i) => ({
      username: `${base.username}_${i}`,
      email: i % 2 ? base.email.toUpperCase() : base.email,
      password: base.password,
    }));
    const answers = await Promise.all(attempts.map((attempt) => post(server, "/account/register", attempt)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect({ status: answer.status, body: answer.body }).toEqual({
        status: 400,
        body: { success: false, errors: { email: [EMAIL_TAKEN] } },
      });
    }
    secrets.add(answers.find((a) => a.status === 200)!.body.token);
  });

  test("extra fields are ignored: a client cannot choose its id", async () => {
    const user = uniqueUser("extra");
    const answer = await post(server, "/account/register", { ...user, id: 1, is_staff: true, created: "01-01-2000" });
    expect(answer.status).toBe(200);
    secrets.add(answer.body.token);
    expect(answer.body.user.id).not.toBe(1);
    const me = await profile(server, answer.body.token);
    expect(me.body.data.created).not.toBe("01-01-2000");
  });
});

describe("POST /account/login", () => {
  test("200: success, a new 64-hex token and its expiry in ISO 8601 UTC, TOKEN_TTL (30 days) ahead", async () => {
    const user = await register();
    const before = Date.now();
    const answer = await login(user.username, user.password);
    const after = Date.now();
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(["expiry", "success", "token"]);
    expect(answer.body.success).toBe(true);
    expect(answer.body.token).toMatch(TOKEN_PATTERN);
    expect(answer.body.token).not.toBe(user.token);
    expect(answer.body.expiry).toMatch(ISO_UTC_PATTERN);
    const expiry = Date.parse(answer.body.expiry);
    expect(expiry).toBeGreaterThanOrEqual(before + THIRTY_DAYS_MS);
    expect(expiry).toBeLessThanOrEqual(after + THIRTY_DAYS_MS);
    expect(answer.headers.get("cache-control")).toBe("no-store");
  });

  test("the username matches ignoring case (and surrounding spaces)", async () => {
    const user = await register(uniqueUser("CaseUser"));
    for (const username of [user.username.toLowerCase(), user.username.toUpperCase(), ` ${user.username} `]) {
      const answer = await login(username, user.password);
      expect(answer.status).toBe(200);
      const me = await profile(server, answer.body.token);
      expect(me.body.data.username).toBe(user.username);
    }
  });

  test("every login issues a new token, and the earlier ones stay valid", async () => {
    const user = await register();
    const tokens = [user.token];
    for (let i = 0; i < 3; i++) tokens.push(await loginToken(user.username, user.password));
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const token of tokens) {
      const me = await expectTokenWorks(server, token);
      expect(me.body.data.id).toBe(user.id);
    }
  });

  test("wrong password and unknown user: the same 400 body", async () => {
    const user = await register();
    const wrongPassword = await login(user.username, `${user.password}!`);
    const unknownUser = await login(`nobody_${user.username}`, user.password);
    const byEmail = await login(user.email, user.password); // login is by username only
    for (const answer of [wrongPassword, unknownUser, byEmail]) {
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual(BAD_CREDENTIALS);
    }
    expect(wrongPassword.text).toBe(unknownUser.text);
  });

  test("the password is case-sensitive", async () => {
    const user = await register();
    const answer = await login(user.username, user.password.toUpperCase());
    expect(answer.body).toEqual(BAD_CREDENTIALS);
  });

  test("a missing or wrongly typed field: the bare field form, no success/errors envelope", async () => {
    const user = await register();
    const cases: [unknown, unknown][] = [
      [{ password: user.password }, { username: ["This field is required."] }],
      [{ username: user.username }, { password: ["This field is required."] }],
      [{}, { username: ["This field is required."], password: ["This field is required."] }],
      [{ username: 42, password: user.password }, { username: ["Not a valid string."] }],
      [{ username: null, password: user.password }, { username: ["Not a valid string."] }],
      [{ username: [user.username], password: user.password }, { username: ["Not a valid string."] }],
      [{ username: user.username, password: { value: user.password } }, { password: ["Not a valid string."] }],
    ];
    for (const [body, expected] of cases) {
      const answer = await post(server, "/account/login", body);
      expect({ sent: body, status: answer.status, body: answer.body }).toEqual({ sent: body, status: 400, body: expected });
    }
    // No body at all counts as {}.
    const empty = await call(server, "/account/login", { method: "POST" });
    expect(empty.body).toEqual({ username: ["This field is required."], password: ["This field is required."] });
  });
});

describe("logout and logoutall", () => {
  test("logout revokes only the token used; another token of the same user still works", async () => {
    const user = await register();
    const other = await loginToken(user.username, user.password);
    // Both are in the server's token index before the logout.
    await expectTokenWorks(server, user.token);
    await expectTokenWorks(server, other);

    const answer = await post(server, "/account/logout", undefined, { token: user.token });
    expectOk(answer);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    await expectTokenRevoked(server, user.token);
    await expectTokenWorks(server, other);
    // The revoked token cannot log out again.
    expect401(await post(server, "/account/logout", undefined, { token: user.token }));
    // The password still works.
    await loginToken(user.username, user.password);
  });

  test("logoutall revokes every token of the user, and only theirs", async () => {
    const user = await register();
    const bystander = await register();
    const tokens = [user.token, await loginToken(user.username, user.password), await loginToken(user.username, user.password)];
    for (const token of tokens) await expectTokenWorks(server, token);

    expectOk(await post(server, "/account/logoutall", undefined, { token: tokens[1] }));
    for (const token of tokens) await expectTokenRevoked(server, token);
    expect401(await post(server, "/account/logoutall", undefined, { token: tokens[0] }));
    await expectTokenWorks(server, bystander.token);
    // A fresh login works again.
    await expectTokenWorks(server, await loginToken(user.username, user.password));
  });

  test("revoked tokens are refused on every authenticated endpoint", async () => {
    const user = await register();
    expectOk(await post(server, "/account/logout", undefined, { token: user.token }));
    const token = user.token;
    expect401(await call(server, "/account/profile", { token }));
    expect401(await call(server, "/account/get_pictures", { token }));
    expect401(await post(server, "/account/set_picture", { id: 1 }, { token }));
    expect401(await post(server, "/acount/set_picture", { id: 1 }, { token }));
    expect401(await post(server, "/account/logoutall", undefined, { token }));
    expect401(await post(server, "/account/delete", undefined, { token }));
    expect401(await call(server, "/account/delete", { method: "DELETE", token }));
    // The account itself was not touched.
    await loginToken(user.username, user.password);
  });
});

describe("401 rules", () => {
  const protectedRoutes: [method: string, path: string][] = [
    ["GET", "/account/profile"],
    ["GET", "/account/get_pictures"],
    ["POST", "/account/logout"],
    ["POST", "/account/logoutall"],
    ["POST", "/account/delete"],
    ["DELETE", "/account/delete"],
    ["POST", "/account/set_picture"],
    ["POST", "/acount/set_picture"],
  ];

  test("no Authorization header: 'Authentication credentials were not provided.' on every protected route", async () => {
    for (const [method, path] of protectedRoutes) {
      const answer = await call(server, path, { method, ...(method === "POST" ? { json: { id: 1 } } : {}) });
      expect({ route: `${method} ${path}`, status: answer.status, body: answer.body }).toEqual({
        route: `${method} ${path}`,
        status: 401,
        body: { detail: NOT_PROVIDED },
      });
      expect(answer.headers.get("www-authenticate")).toBe("Token");
    }
  });

  test("another scheme (Basic) counts as no credentials", async () => {
    expect401(await call(server, "/account/profile", { headers: { authorization: "Basic dXNlcjpwYXNz" } }), NOT_PROVIDED);
  });

  test("malformed or unknown tokens: 'Invalid token.'", async () => {
    const user = await register();
    const headers = [
      "Token zzz",
      `Token ${"0".repeat(64)}`,
      `Token ${sha256Hex("not a token")}`,
      "Token",
      "Bearer zzz",
      `Token ${user.token.slice(0, 63)}`,
      `Token ${user.token}0`,
      `Token ${user.token.toUpperCase()}`,
      `Token ${user.token} extra`,
    ];
    for (const authorization of headers) {
      const answer = await call(server, "/account/profile", { headers: { authorization } });
      expect({ authorization, status: answer.status, body: answer.body }).toEqual({ authorization, status: 401, body: { detail: INVALID_TOKEN } });
      expect(answer.headers.get("www-authenticate")).toBe("Token");
    }
    await expectTokenWorks(server, user.token);
  });

  test("the scheme is case-insensitive, and Bearer is accepted", async () => {
    const user = await register();
    for (const scheme of ["Token", "token", "TOKEN", "ToKeN", "Bearer", "bearer", "BEARER"]) {
      const answer = await call(server, "/account/profile", { headers: { authorization: `${scheme} ${user.token}` } });
      expect({ scheme, status: answer.status }).toEqual({ scheme, status: 200 });
      expect(answer.body.data.id).toBe(user.id);
    }
  });

  test("public routes ignore a garbage Authorization header", async () => {
    const garbage = { authorization: "Token zzz" };
    for (const path of ["/anime/random", "/anime/entry/1", "/anime/entry/18562"]) {
      const plain = await call(server, path);
      const withGarbage = await call(server, path, { headers: garbage });
      expect(withGarbage.status).not.toBe(401);
      expect(withGarbage.status).toBe(plain.status);
      // (a random entry differs from call to call; anything else must be the same)
      if (path !== "/anime/random" || plain.status !== 200) expect(withGarbage.body).toEqual(plain.body);
    }
    const user = uniqueUser("garbage");
    const registered = await post(server, "/account/register", user, { headers: garbage });
    expect(registered.status).toBe(200);
    secrets.add(registered.body.token).add(user.password);
    const loggedIn = await post(server, "/account/login", { username: user.username, password: user.password }, { headers: garbage });
    expect(loggedIn.status).toBe(200);
    secrets.add(loggedIn.body.token);
    // A revoked (once valid) token is ignored there as well.
    expectOk(await post(server, "/account/logout", undefined, { token: loggedIn.body.token }));
    const again = await post(server, "/account/login", { username: user.username, password: user.password }, { token: loggedIn.body.token });
    expect(again.status).toBe(200);
    secrets.add(again.body.token);
  });
});

describe("GET /account/profile", () => {
  test("the profile's shape, created = today (UTC) as DD-MM-YYYY, the default picture; no-store and nosniff", async () => {
    const before = ddmmyyyy(new Date());
    const user = await register();
    const after = ddmmyyyy(new Date());
    const answer = await profile(server, user.token);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      success: true,
      data: { id: user.id, username: user.username, email: user.email, created: expect.any(String), picture: DEFAULT_PICTURE },
    });
    expect(Object.keys(answer.body.data)).toEqual(["id", "username", "email", "created", "picture"]);
    expect(answer.body.data.created).toMatch(/^\d{2}-\d{2}-\d{4}$/);
    expect([before, after]).toContain(answer.body.data.created);
    // And it is the stored created_at's day, as PostgreSQL formats it.
    const [stored] = await server.running.db.sql<[{ created: string }?]>`
      select to_char(created_at at time zone 'UTC', 'DD-MM-YYYY') as created from users where id = ${user.id}`;
    expect(stored).toBeDefined();
    expect(answer.body.data.created).toBe(stored!.created);
    expect(answer.headers.get("content-type")).toStartWith("application/json");
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
  });

  test("created is the UTC day of the stored created_at: day, month and year in their places", async () => {
    // Chosen so that a swapped day and month, a month off by one (getUTCMonth without + 1), a
    // two-digit year, or the local day instead of the UTC one (run with TZ an hour or more off UTC,
    // one of the first two moves a day) would show.
    const cases = [
      { createdAt: "2021-03-04T23:30:00Z", created: "04-03-2021" },
      { createdAt: "1999-12-31T00:30:00Z", created: "31-12-1999" },
      { createdAt: "2024-02-29T12:00:00Z", created: "29-02-2024" },
    ];
    for (const { createdAt, created } of cases) {
      const user = await register();
      // Set before the first profile read, so that no cached profile holds the registration's date.
      await server.running.db.sql`update users set created_at = ${new Date(createdAt)} where id = ${user.id}`;
      const answer = await profile(server, user.token);
      expect({ createdAt, created: answer.body.data.created }).toEqual({ createdAt, created });
    }
  });

  test("?format=json is accepted and changes nothing", async () => {
    const user = await register();
    const plain = await profile(server, user.token);
    const formatted = await call(server, "/account/profile?format=json", { token: user.token });
    expect(formatted.status).toBe(200);
    expect(formatted.body).toEqual(plain.body);
  });

  test("account responses carry Cache-Control: no-store and X-Content-Type-Options: nosniff", async () => {
    const user = uniqueUser("headers");
    const answers: Answer[] = [];
    const registered = await post(server, "/account/register", user);
    answers.push(registered);
    const token = registered.body.token;
    secrets.add(token).add(user.password);
    const loggedIn = await post(server, "/account/login", { username: user.username, password: user.password });
    answers.push(loggedIn);
    secrets.add(loggedIn.body.token);
    answers.push(await call(server, "/account/profile", { token }));
    answers.push(await call(server, "/account/get_pictures", { token }));
    answers.push(await post(server, "/account/set_picture", { id: 2 }, { token }));
    answers.push(await post(server, "/acount/set_picture", { id: 3 }, { token }));
    answers.push(await post(server, "/account/logout", undefined, { token: loggedIn.body.token }));
    answers.push(await post(server, "/account/logoutall", undefined, { token }));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.headers.get("cache-control")).toBe("no-store");
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    }
    // Error answers are not to be sniffed either.
    for (const answer of [await call(server, "/account/profile"), await post(server, "/account/login", {})]) {
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });
});

describe("GET /account/get_pictures", () => {
  test("ids 1–5 male, 6–10 female, the agreed names, anime-planet.com character images", async () => {
    const user = await register();
    const answer = await call(server, "/account/get_pictures", { token: user.token });
    expect(answer.status).toBe(200);
    expect(answer.body.success).toBe(true);
    expect(Object.keys(answer.body.data)).toEqual(["male", "female"]);
    const summary = (list: { id: number; name: string }[]) => list.map(({ id, name }) => [id, name]);
    expect(summary(answer.body.data.male)).toEqual([
      [1, "Ryuzaki"],
      [2, "Kakashi"],
      [3, "Edward"],
      [4, "Light"],
      [5, "Naruto"],
    ]);
    expect(summary(answer.body.data.female)).toEqual([
      [6, "Mikasa"],
      [7, "Erza"],
      [8, "Asuna"],
      [9, "Hinata"],
      [10, "Tenshi"],
    ]);
    for (const entry of [...answer.body.data.male, ...answer.body.data.female]) {
      expect(Object.keys(entry)).toEqual(["id", "name", "picture"]);
      expect(entry.picture).toMatch(/^https:\/\/www\.anime-planet\.com\/images\/characters\/[a-z0-9-]+\.jpg$/);
    }
    const urls = [...answer.body.data.male, ...answer.body.data.female].map((entry) => entry.picture);
    expect(new Set(urls).size).toBe(10);
    expect(urls).not.toContain(DEFAULT_PICTURE);
    expect(answer.headers.get("cache-control")).toBe("no-store");
  });

  test("?format=json is accepted and changes nothing", async () => {
    const user = await register();
    const plain = await call(server, "/account/get_pictures", { token: user.token });
    const formatted = await call(server, "/account/get_pictures?format=json", { token: user.token });
    expect(formatted.status).toBe(200);
    expect(formatted.text).toBe(plain.text);
  });
});

describe("POST /account/set_picture", () => {
  async function pictures(token: string): Promise<Map<number, string>> {
    const answer = await call(server, "/account/get_pictures", { token });
    return new Map([...answer.body.data.male, ...answer.body.data.female].map((entry: { id: number; picture: string }) => [entry.id, entry.picture]));
  }

  test("a number or a string of digits; the profile then shows the chosen picture's URL", async () => {
    const user = await register();
    const catalogue = await pictures(user.token);
    // Cache the profile with the default picture first: choosing one must show at once.
    expect((await profile(server, user.token)).body.data.picture).toBe(DEFAULT_PICTURE);

    expectOk(await post(server, "/account/set_picture", { id: 7 }, { token: user.token }));
    expect((await profile(server, user.token)).body.data.picture).toBe(catalogue.get(7)!);
    expect(catalogue.get(7)).toBe(picture("erza-scarlet"));

    expectOk(await post(server, "/account/set_picture", { id: "3" }, { token: user.token }));
    expect((await profile(server, user.token)).body.data.picture).toBe(catalogue.get(3)!);

    for (const id of [1, 5, 6, 10]) {
      expectOk(await post(server, "/account/set_picture", { id }, { token: user.token }));
      expect((await profile(server, user.token)).body.data.picture).toBe(catalogue.get(id)!);
    }
    expectOk(await post(server, "/account/set_picture", { id: "10" }, { token: user.token }));
    expect((await profile(server, user.token)).body.data.picture).toBe(catalogue.get(10)!);
  });

  test("the picture belongs to the user, not the token: another token sees it too", async () => {
    const user = await register();
    const other = await loginToken(user.username, user.password);
    expectOk(await post(server, "/account/set_picture", { id: 8 }, { token: user.token }));
    expect((await profile(server, other)).body.data.picture).toBe(picture("asuna-yuuki"));
  });

  test("invalid ids: 400 {success: false, errors: {id: ['Invalid picture id.']}}, and the picture is unchanged", async () => {
    const user = await register();
    expectOk(await post(server, "/account/set_picture", { id: 4 }, { token: user.token }));
    const invalid = { success: false, errors: { id: ["Invalid picture id."] } };
    for (const id of [0, 11, -1, 1.5, 100, "abc", "", "0", "11", "1.5", "-1", "1e1", "0x3", "+7", "3.0", "9".repeat(10_000), true, false, null, [3], { id: 3 }]) {
      const answer = await post(server, "/account/set_picture", { id }, { token: user.token });
      expect({ id, status: answer.status, body: answer.body }).toEqual({ id, status: 400, body: invalid });
    }
    const missing = await post(server, "/account/set_picture", {}, { token: user.token });
    expect({ status: missing.status, body: missing.body }).toEqual({ status: 400, body: { success: false, errors: { id: ["This field is required."] } } });
    const noBody = await call(server, "/account/set_picture", { method: "POST", token: user.token });
    expect(noBody.body).toEqual({ success: false, errors: { id: ["This field is required."] } });
    expect((await profile(server, user.token)).body.data.picture).toBe(picture("light-yagami"));
  });

  test("the /acount/set_picture spelling works the same, and is left out of /swagger/json", async () => {
    const user = await register();
    expectOk(await post(server, "/acount/set_picture", { id: 9 }, { token: user.token }));
    expect((await profile(server, user.token)).body.data.picture).toBe(picture("hinata-hyuga"));
    expectOk(await post(server, "/acount/set_picture", { id: "2" }, { token: user.token }));
    expect((await profile(server, user.token)).body.data.picture).toBe(picture("kakashi-hatake"));
    const invalid = await post(server, "/acount/set_picture", { id: 11 }, { token: user.token });
    expect({ status: invalid.status, body: invalid.body }).toEqual({ status: 400, body: { success: false, errors: { id: ["Invalid picture id."] } } });

    const docs = await call(server, "/swagger/json");
    expect(docs.status).toBe(200);
    const paths = Object.keys(docs.body.paths);
    expect(paths).toContain("/account/set_picture");
    expect(paths).not.toContain("/acount/set_picture");
    expect(docs.text).not.toContain("/acount/");
  });
});

describe("deleting the account", () => {
  for (const method of ["POST", "DELETE"]) {
    test(`${method} /account/delete: 200, every token revoked, login fails, the username and email are free again`, async () => {
      const user = await register();
      const other = await loginToken(user.username, user.password);
      expectOk(await post(server, "/account/set_picture", { id: 6 }, { token: user.token }));
      // Cached before the deletion: the deletion must reach the caches.
      await expectTokenWorks(server, user.token);
      await expectTokenWorks(server, other);

      const answer = await call(server, "/account/delete", { method, token: user.token });
      expectOk(answer);
      expect(answer.headers.get("cache-control")).toBe("no-store");

      await expectTokenRevoked(server, user.token);
      await expectTokenRevoked(server, other);
      expect401(await call(server, "/account/get_pictures", { token: other }));
      const failed = await login(user.username, user.password);
      expect({ status: failed.status, body: failed.body }).toEqual({ status: 400, body: BAD_CREDENTIALS });

      // The same username and email (in another case, even) register again, as a new user.
      const again = await post(server, "/account/register", {
        username: user.username.toUpperCase(),
        email: user.email,
        password: "a different password",
      });
      expect(again.status).toBe(200);
      secrets.add(again.body.token);
      expect(again.body.user.id).not.toBe(user.id);
      const me = await profile(server, again.body.token);
      expect(me.body.data).toMatchObject({ id: again.body.user.id, username: user.username.toUpperCase(), picture: DEFAULT_PICTURE });
      // The old token does not come back to life with the new account.
      await expectTokenRevoked(server, user.token);
    });
  }

  test("deleting leaves other users alone", async () => {
    const doomed = await register();
    const bystander = await register();
    expectOk(await post(server, "/account/delete", undefined, { token: doomed.token }));
    const me = await expectTokenWorks(server, bystander.token);
    expect(me.body.data.id).toBe(bystander.id);
    await loginToken(bystander.username, bystander.password);
  });
});

describe("how accounts are stored", () => {
  /** postgres mode: our own connection to the test database; embedded: the server's own pool. */
  async function withDatabase<T>(use: (sql: Sql) => Promise<T>): Promise<T> {
    if (server.database.mode === "embedded") return use(server.running.db.sql);
    const sql = postgres(server.database.url!, { max: 1, onnotice: () => {} });
    try {
      return await use(sql);
    } finally {
      await sql.end();
    }
  }

  test("tokens only as SHA-256 digests; passwords only as argon2id hashes", async () => {
    const user = await register();
    const second = await loginToken(user.username, user.password);
    await withDatabase(async (sql) => {
      const tokens = await sql<{ digest: string; row: string }[]>`
        select encode(digest, 'hex') as digest, row_to_json(t)::text as row from tokens t where user_id = ${user.id}`;
      expect(tokens.map((t) => t.digest).sort()).toEqual([sha256Hex(user.token), sha256Hex(second)].sort());

      const everything = await sql<{ row: string }[]>`
        select row_to_json(t)::text as row from tokens t
        union all select row_to_json(u)::text from users u`;
      const dump = everything.map((r) => r.row).join("\n");
      for (const secret of secrets) expect(dump.includes(secret), `stored in clear: ${secret.slice(0, 8)}…`).toBe(false);
      expect(dump.includes(user.token)).toBe(false);
      expect(dump.includes(second)).toBe(false);
      expect(dump.includes(user.password)).toBe(false);

      const [row] = await sql<[{ password_hash: string; username: string; email: string }?]>`
        select password_hash, username, email from users where id = ${user.id}`;
      expect(row).toBeDefined();
      expect(row!.password_hash).toStartWith("$argon2id$");
      expect(row).toMatchObject({ username: user.username, email: user.email });
      const hashes = await sql<[{ ok: boolean }]>`select bool_and(password_hash like '$argon2id$%') as ok from users`;
      expect(hashes[0].ok).toBe(true);
    });
  });

  test("logout deletes the token's row; account deletion deletes the user's rows", async () => {
    const user = await register();
    const second = await loginToken(user.username, user.password);
    expectOk(await post(server, "/account/logout", undefined, { token: user.token }));
    await withDatabase(async (sql) => {
      const left = await sql<{ digest: string }[]>`select encode(digest, 'hex') as digest from tokens where user_id = ${user.id}`;
      expect(left.map((r) => r.digest)).toEqual([sha256Hex(second)]);
    });
    expectOk(await post(server, "/account/delete", undefined, { token: second }));
    await withDatabase(async (sql) => {
      const [counts] = await sql<{ users: number; tokens: number }[]>`
        select (select count(*)::int from users where id = ${user.id}) as users,
               (select count(*)::int from tokens where user_id = ${user.id}) as tokens`;
      expect(counts).toEqual({ users: 0, tokens: 0 });
    });
  });
});

describe("the whole run", () => {
  test("no request answered 5xx, nothing logged as an error, no token or password in the log", async () => {
    await Bun.sleep(50); // the last request's log line is written after its response
    expectNoServerErrors(server);
    expect(secrets.size).toBeGreaterThan(20);
    expectLogFreeOf(server, secrets);
  });
});
