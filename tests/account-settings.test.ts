// Account settings over HTTP: POST /account/change_password, change_username and change_email.
// Each needs the user's password, wrong ones counted exactly like failed logins (the same limits,
// concurrency-safe); a change follows register's rules and uniqueness; a failed change changes nothing;
// a password change revokes every token and hands back one new token.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";
import { type Answer, ISO_UTC_PATTERN, TOKEN_PATTERN, call, expect401, expectLogFreeOf, expectNoServerErrors, expectTokenRevoked, expectTokenWorks, post, profile, REQUIRED, BLANK, NOT_STRING, BAD_EMAIL, BAD_USERNAME, TOO_SHORT, USERNAME_TAKEN, EMAIL_TAKEN, maxLength, WRONG_PASSWORD as WRONG } from "./account-support.ts";

/** Wrong passwords per username from one address before 429 (the other limits stay out of the way). */
const LIMIT = 5;

let server: TestServer;
const secrets = new Set<string>();

beforeAll(async () => {
  server = await startTestServer({
    THROTTLE: "on",
    THROTTLE_LOGIN_USERNAME: `${LIMIT}/15m`,
    THROTTLE_LOGIN_USERNAME_ALL: "1000/15m",
    THROTTLE_LOGIN_ADDRESS: "100000/15m",
    THROTTLE_REGISTER_ADDRESS: "100000/1h",
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);


type User = Awaited<ReturnType<typeof registerUser>>;

async function newUser(prefix = "settings"): Promise<User> {
  const user = await registerUser(server, uniqueUser(prefix));
  secrets.add(user.token).add(user.password);
  return user;
}

const changePassword = (token: string, json: unknown) => post(server, "/account/change_password", json, { token });
const changeUsername = (token: string, json: unknown) => post(server, "/account/change_username", json, { token });
const changeEmail = (token: string, json: unknown) => post(server, "/account/change_email", json, { token });
const login = (username: string, password: string) => post(server, "/account/login", { username, password });

function expectErrors(answer: Answer, errors: Record<string, string[]>) {
  expect({ status: answer.status, body: answer.body }).toEqual({ status: 400, body: { success: false, errors } });
}

/** The user's profile and password are as they were: nothing changed. */
async function expectUnchanged(user: User) {
  const me = await expectTokenWorks(server, user.token);
  expect(me.body.data).toMatchObject({ username: user.username, email: user.email });
  const again = await login(user.username, user.password);
  expect(again.status).toBe(200);
  secrets.add(again.body.token);
}

describe("POST /account/change_password", () => {
  test("revokes every token of the user, hands back one new token; the old password stops working", async () => {
    const user = await newUser();
    const other = await login(user.username, user.password);
    secrets.add(other.body.token);
    const newPassword = "a brand new password";
    secrets.add(newPassword);

    const answer = await changePassword(user.token, { current_password: user.password, new_password: newPassword });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ success: true, token: expect.stringMatching(TOKEN_PATTERN), expiry: expect.stringMatching(ISO_UTC_PATTERN) });
    secrets.add(answer.body.token);
    expect(Date.parse(answer.body.expiry)).toBeGreaterThan(Date.now());

    await expectTokenRevoked(server, user.token);
    await expectTokenRevoked(server, other.body.token);
    await expectTokenWorks(server, answer.body.token);
    const sessions = await call(server, "/account/sessions", { token: answer.body.token });
    expect(sessions.body.data).toHaveLength(1);

    expect((await login(user.username, user.password)).body).toEqual({ non_field_errors: ["Unable to log in with provided credentials."] });
    const fresh = await login(user.username, newPassword);
    expect(fresh.status).toBe(200);
    secrets.add(fresh.body.token);
  });

  test("a wrong current password: 400 current_password 'Wrong password.', nothing changes", async () => {
    const user = await newUser();
    expectErrors(await changePassword(user.token, { current_password: "not the password", new_password: "another password" }), {
      current_password: [WRONG],
    });
    await expectUnchanged(user);
    expect((await login(user.username, "another password")).status).toBe(400);
  });

  test("the new password by register's rules, every failing field at once", async () => {
    const user = await newUser();
    expectErrors(await changePassword(user.token, { current_password: user.password, new_password: "short" }), { new_password: [TOO_SHORT] });
    expectErrors(await changePassword(user.token, { current_password: user.password, new_password: "" }), { new_password: [BLANK] });
    expectErrors(await changePassword(user.token, { current_password: user.password, new_password: "p".repeat(1025) }), {
      new_password: [maxLength(1024)],
    });
    expectErrors(await changePassword(user.token, { current_password: "wrong wrong", new_password: "short" }), {
      current_password: [WRONG],
      new_password: [TOO_SHORT],
    });
    expectErrors(await changePassword(user.token, { current_password: "", new_password: "short" }), { current_password: [BLANK], new_password: [TOO_SHORT] });
    await expectUnchanged(user);
  });

  test("missing fields and wrong types, in the wrapped form, with the rules of the other fields", async () => {
    const user = await newUser();
    expectErrors(await changePassword(user.token, {}), { current_password: [REQUIRED], new_password: [REQUIRED] });
    expectErrors(await changePassword(user.token, { current_password: 12345678, new_password: "short" }), {
      current_password: [NOT_STRING],
      new_password: [TOO_SHORT],
    });
    expectErrors(await changePassword(user.token, { current_password: user.password, new_password: ["x"] }), { new_password: [NOT_STRING] });
    expectErrors(await changePassword(user.token, { current_password: "p".repeat(1025), new_password: "long enough" }), {
      current_password: [maxLength(1024)],
    });
    await expectUnchanged(user);
  });

  test("concurrent changes with the right password: exactly one wins; the others change nothing", async () => {
    const user = await newUser();
    const passwords = Array.from({ length: 4 }, (_, i) => `concurrent new password ${i}`);
    passwords.forEach((password) => secrets.add(password));
    const answers = await Promise.all(passwords.map((new_password) => changePassword(user.token, { current_password: user.password, new_password })));
    const winners = answers.filter((answer) => answer.status === 200);
    expect(winners).toHaveLength(1);
    // A loser either checked the password after the winner changed it, or came after the winner had
    // revoked the token it used.
    for (const answer of answers) {
      if (answer.status === 400) expect(answer.body).toEqual({ success: false, errors: { current_password: [WRONG] } });
      else if (answer.status !== 200) expect401(answer);
    }
    const winner = winners[0]!.body.token as string;
    secrets.add(winner);
    const sessions = await call(server, "/account/sessions", { token: winner });
    expect(sessions.body.data).toHaveLength(1);
    const winning = passwords[answers.indexOf(winners[0]!)]!;
    const fresh = await login(user.username, winning);
    expect(fresh.status).toBe(200);
    secrets.add(fresh.body.token);
  });

  test("needs a token: 401 without one, with a bad one, and with a revoked one", async () => {
    const user = await newUser();
    const body = { current_password: user.password, new_password: "another password" };
    expect401(await post(server, "/account/change_password", body), "Authentication credentials were not provided.");
    expect401(await changePassword("0".repeat(64), body));
    await post(server, "/account/logout", undefined, { token: user.token });
    expect401(await changePassword(user.token, body));
  });
});

describe("POST /account/change_username", () => {
  test("changes the username: the profile (even a cached one) and login follow at once", async () => {
    const user = await newUser();
    expect((await profile(server, user.token)).body.data.username).toBe(user.username); // now cached
    const username = uniqueUser("Renamed").username;
    expect((await changeUsername(user.token, { password: user.password, username: `  ${username} ` })).body).toEqual({ success: true });
    expect((await profile(server, user.token)).body.data.username).toBe(username);
    expect((await login(username.toLowerCase(), user.password)).status).toBe(200);
    expect((await login(user.username, user.password)).status).toBe(400);
  });

  test("one's own username in another case is not 'taken'", async () => {
    const user = await newUser("CaseMe");
    expectOkChange(await changeUsername(user.token, { password: user.password, username: user.username.toUpperCase() }));
    expect((await profile(server, user.token)).body.data.username).toBe(user.username.toUpperCase());
  });

  test("another user's username, in any case or as a look-alike, is taken; the name is free again once changed", async () => {
    const owner = await newUser("admin");
    const user = await newUser();
    expectErrors(await changeUsername(user.token, { password: user.password, username: owner.username.toUpperCase() }), { username: [USERNAME_TAKEN] });
    // Cyrillic а (U+0430) for the Latin a: looks the same.
    const lookalike = owner.username.replace("a", "\u0430");
    expect(lookalike).not.toBe(owner.username);
    expectErrors(await changeUsername(user.token, { password: user.password, username: lookalike }), { username: [USERNAME_TAKEN] });
    await expectUnchanged(user);

    const freed = owner.username;
    expectOkChange(await changeUsername(owner.token, { password: owner.password, username: uniqueUser("moved").username }));
    expectOkChange(await changeUsername(user.token, { password: user.password, username: freed }));
  });

  test("register's rules for the username; a wrong password; every failing field at once", async () => {
    const user = await newUser();
    const cases: [unknown, Record<string, string[]>][] = [
      [{ password: user.password, username: "bad name!" }, { username: [BAD_USERNAME] }],
      [{ password: user.password, username: "   " }, { username: [BLANK] }],
      [{ password: user.password, username: "a".repeat(33) }, { username: [maxLength(32)] }],
      [{ password: "wrong password", username: uniqueUser().username }, { password: [WRONG] }],
      [{ password: "wrong password", username: "bad name!" }, { password: [WRONG], username: [BAD_USERNAME] }],
      [{ password: "", username: "bad name!" }, { password: [BLANK], username: [BAD_USERNAME] }],
      [{}, { password: [REQUIRED], username: [REQUIRED] }],
      [{ password: 1, username: "bad name!" }, { password: [NOT_STRING], username: [BAD_USERNAME] }],
      [{ password: user.password, username: null }, { username: [NOT_STRING] }],
    ];
    for (const [body, errors] of cases) expectErrors(await changeUsername(user.token, body), errors);
    await expectUnchanged(user);
  });
});

describe("POST /account/change_email", () => {
  test("changes the email; the profile follows at once; the old address is free again", async () => {
    const user = await newUser();
    expect((await profile(server, user.token)).body.data.email).toBe(user.email);
    const email = uniqueUser().email;
    expectOkChange(await changeEmail(user.token, { password: user.password, email: ` ${email} ` }));
    expect((await profile(server, user.token)).body.data.email).toBe(email);
    const reuse = await post(server, "/account/register", { ...uniqueUser(), email: user.email });
    expect(reuse.status).toBe(200);
    secrets.add(reuse.body.token);
  });

  test("one's own email in another case is fine; another user's, in any case, is taken", async () => {
    const owner = await newUser();
    const user = await newUser();
    expectOkChange(await changeEmail(user.token, { password: user.password, email: user.email.toUpperCase() }));
    expectErrors(await changeEmail(user.token, { password: user.password, email: owner.email.toUpperCase() }), { email: [EMAIL_TAKEN] });
    expect((await profile(server, user.token)).body.data.email).toBe(user.email.toUpperCase());
  });

  test("register's rules for the email; a wrong password; every failing field at once", async () => {
    const user = await newUser();
    const cases: [unknown, Record<string, string[]>][] = [
      [{ password: user.password, email: "not an email" }, { email: [BAD_EMAIL] }],
      [{ password: user.password, email: "" }, { email: [BLANK] }],
      [{ password: user.password, email: `${"a".repeat(243)}@example.com` }, { email: [maxLength(254)] }],
      [{ password: "wrong password", email: uniqueUser().email }, { password: [WRONG] }],
      [{ password: "wrong password", email: "nope" }, { password: [WRONG], email: [BAD_EMAIL] }],
      [{}, { password: [REQUIRED], email: [REQUIRED] }],
      [{ password: user.password, email: 42 }, { email: [NOT_STRING] }],
    ];
    for (const [body, errors] of cases) expectErrors(await changeEmail(user.token, body), errors);
    await expectUnchanged(user);
  });
});

function expectOkChange(answer: Answer) {
  expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: { success: true } });
}

describe("wrong passwords are throttled like failed logins", () => {
  test("they count against the login limits: after the limit, 429 (with Retry-After) for settings and login alike", async () => {
    const user = await newUser();
    for (let i = 0; i < LIMIT - 2; i++) expectErrors(await changeEmail(user.token, { password: "wrong password", email: uniqueUser().email }), { password: [WRONG] });
    expect((await login(user.username, "wrong password")).status).toBe(400);
    expectErrors(await changeUsername(user.token, { password: "wrong password", username: uniqueUser().username }), { password: [WRONG] });
    const refused = await changePassword(user.token, { current_password: user.password, new_password: "another password" });
    expect(refused.status).toBe(429);
    expect(refused.body.detail).toMatch(/^Request was throttled\. Expected available in \d+ seconds\.$/);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await login(user.username, user.password)).status).toBe(429);
    await expectTokenWorks(server, user.token); // the refused change changed nothing
  });

  test("a right password gives its attempt back", async () => {
    const user = await newUser();
    for (let i = 0; i < LIMIT - 1; i++) expectErrors(await changeEmail(user.token, { password: "wrong password", email: uniqueUser().email }), { password: [WRONG] });
    for (let i = 0; i < 3; i++) expectOkChange(await changeEmail(user.token, { password: user.password, email: uniqueUser().email }));
    // One attempt is left: still a 400, then 429.
    expectErrors(await changeEmail(user.token, { password: "wrong password", email: uniqueUser().email }), { password: [WRONG] });
    expect((await changeEmail(user.token, { password: "wrong password", email: uniqueUser().email })).status).toBe(429);
  });

  test(`60 concurrent wrong current passwords: at most ${LIMIT} are evaluated, the rest are 429`, async () => {
    const user = await newUser();
    const answers = await Promise.all(
      Array.from({ length: 60 }, () => changePassword(user.token, { current_password: "wrong password", new_password: "another password" })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 400).length).toBeLessThanOrEqual(LIMIT);
    expect(statuses.filter((status) => status === 400).length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status !== 400 && status !== 429)).toEqual([]);
    for (const answer of answers) if (answer.status === 400) expect(answer.body).toEqual({ success: false, errors: { current_password: [WRONG] } });
    await expectTokenWorks(server, user.token);
    expect((await login(user.username, user.password)).status).toBe(429);
  });
});

describe("the whole run", () => {
  test("no request answered 5xx, nothing logged as an error, no token or password in the log", () => {
    expectNoServerErrors(server);
    expectLogFreeOf(server, secrets);
  });
});
