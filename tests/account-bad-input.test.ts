// Bad input to the account endpoints, end to end over HTTP against the real server: the field
// validation messages of registration and login, and the general answers for bad requests (unknown
// paths, wrong methods, bodies that are not JSON objects or are too large, very long and SQL-looking
// strings). Nothing here may ever answer 5xx.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";
import { type Answer, call, expectLogFreeOf, expectNoServerErrors, expectTokenWorks, post, REQUIRED, BLANK, NOT_STRING, BAD_EMAIL, BAD_USERNAME, TOO_SHORT, maxLength } from "./account-support.ts";

let server: TestServer;
const secrets = new Set<string>();

beforeAll(async () => {
  server = await startTestServer();
}, 60_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

const BAD_CREDENTIALS = { non_field_errors: ["Unable to log in with provided credentials."] };

const register = (body: unknown) => post(server, "/account/register", body);
const login = (body: unknown) => post(server, "/account/login", body);

/** A registration that must fail with exactly these field errors. */
async function expectRegisterErrors(body: unknown, errors: Record<string, string[]>) {
  const answer = await register(body);
  expect({ sent: body, status: answer.status, body: answer.body }).toEqual({ sent: body, status: 400, body: { success: false, errors } });
}

/** A registration that must succeed, returning the user as the server echoed it. */
async function expectRegistered(body: { username: string; email: string; password: string }) {
  const answer = await register(body);
  expect({ sent: body, status: answer.status }).toEqual({ sent: body, status: 200 });
  secrets.add(answer.body.token).add(body.password);
  return answer.body as { token: string; user: { id: number; username: string; email: string } };
}

/** A short suffix that keeps a test's usernames apart from every other run's. */
const tag = () => uniqueUser().username.slice(-7);

describe("values whose toString is not a function", () => {
  // Elysia 1.4.30 wrote the value into its validation message, which threw for these: a 500
  // (patches/elysia@1.4.30.patch). fast-check found it with {"notes": {"toString": 0}}.
  const odd: unknown[] = [{ toString: 0 }, [{ toString: 0 }], { valueOf: 0, toString: 0 }];

  test("in any string field of register and login: 400, the field 'Not a valid string.' (login's errors bare, as DRF's)", async () => {
    for (const value of odd) {
      const fields = { username: `odd${tag()}`, email: `odd${tag()}@example.com`, password: "long enough password" };
      for (const field of ["username", "email", "password"] as const) {
        const answer = await register({ ...fields, [field]: value });
        expect({ field, value, status: answer.status, error: answer.body.errors?.[field] }).toEqual({ field, value, status: 400, error: [NOT_STRING] });
      }
      for (const field of ["username", "password"] as const) {
        const answer = await login({ username: "someone", password: "long enough password", [field]: value });
        expect({ field, value, status: answer.status, error: answer.body[field] }).toEqual({ field, value, status: 400, error: [NOT_STRING] });
      }
    }
  });
});

describe("register: field validation", () => {
  test("invalid emails: 'Enter a valid email address.'", async () => {
    const emails = [
      "plainaddress",
      "no-at.example.com",
      "trailing@",
      "@example.com",
      "two@@example.com",
      "a b@example.com",
      "name@example",
      "name@exa mple.com",
      "name@example..com",
      "name@-example.com",
      ".name@example.com",
      "name.@example.com",
      "name@example.com.",
      "<name@example.com>",
    ];
    for (const email of emails) await expectRegisterErrors({ ...uniqueUser(), email }, { email: [BAD_EMAIL] });
  });

  test("valid unusual emails are accepted and echoed as sent", async () => {
    const t = tag();
    for (const email of [`first.last+${t}@example.com`, `o'brien_${t}@sub.example.co.uk`, `${t}@xn--bcher-kva.example`, `${t}@bücher.example`]) {
      const user = await expectRegistered({ ...uniqueUser(), email });
      expect(user.user.email).toBe(email);
    }
  });

  test("an email over 254 characters", async () => {
    const email = `${"a".repeat(243)}@example.com`; // 255
    expect(email).toHaveLength(255);
    await expectRegisterErrors({ ...uniqueUser(), email }, { email: [maxLength(254)] });
  });

  test("a short password names the minimum, 8; exactly 8 is enough", async () => {
    await expectRegisterErrors({ ...uniqueUser(), password: "1234567" }, { password: [TOO_SHORT] });
    await expectRegisterErrors({ ...uniqueUser(), password: "a" }, { password: [TOO_SHORT] });
    await expectRegistered({ ...uniqueUser(), password: "12345678" });
  });

  test("the password's length counts characters, not UTF-16 code units", async () => {
    // Four emoji are four characters (eight UTF-16 code units): too short.
    await expectRegisterErrors({ ...uniqueUser(), password: "🔑🔑🔑🔑" }, { password: [TOO_SHORT] });
    const user = { ...uniqueUser(), password: "🔑🔑🔑🔑🔑🔑🔑🔑" };
    await expectRegistered(user);
    const answer = await login({ username: user.username, password: user.password });
    expect(answer.status).toBe(200);
    secrets.add(answer.body.token);
  });

  test("a password over 1024 characters; exactly 1024 is fine", async () => {
    await expectRegisterErrors({ ...uniqueUser(), password: "p".repeat(1025) }, { password: [maxLength(1024)] });
    const user = { ...uniqueUser(), password: "p".repeat(1024) };
    await expectRegistered(user);
    const answer = await login({ username: user.username, password: user.password });
    expect(answer.status).toBe(200);
    secrets.add(answer.body.token);
  });

  test("usernames with characters other than letters, digits, _ and -", async () => {
    const t = tag();
    for (const username of [`a b${t}`, `a@b${t}`, `smile😀${t}`, `dot.${t}`, `semi;${t}`, `tab\t${t}`, `slash/${t}`, `bang!${t}`, `plus+${t}`, `quote'${t}`, `zero\u200bwidth${t}`]) {
      await expectRegisterErrors({ ...uniqueUser(), username }, { username: [BAD_USERNAME] });
    }
  });

  test("letters of any script are fine, and the username is echoed as typed", async () => {
    const t = tag();
    for (const username of [`Дмитрий${t}`, `山田_太郎${t}`, `José-María${t}`, `محمد${t}`, `देवनागरी${t}`, `Ελένη${t}`, `${t}_١٢٣`, `𠮷野家${t}`, `-_${t}_-`]) {
      const user = await expectRegistered({ ...uniqueUser(), username });
      expect(user.user.username).toBe(username);
      const me = await expectTokenWorks(server, user.token);
      expect(me.body.data.username).toBe(username);
    }
  });

  test("the same name in another Unicode normalization form is the same username", async () => {
    const t = tag();
    await expectRegistered({ ...uniqueUser(), username: `Jos\u00e9${t}` });
    await expectRegisterErrors({ ...uniqueUser(), username: `Jose\u0301${t}` }, { username: ["user with this username already exists."] });
  });

  test("usernames: at most 32 characters, counted as characters", async () => {
    const t = tag();
    await expectRegistered({ ...uniqueUser(), username: `${t}${"a".repeat(32 - t.length)}` });
    await expectRegisterErrors({ ...uniqueUser(), username: `${t}${"a".repeat(33 - t.length)}` }, { username: [maxLength(32)] });
    await expectRegistered({ ...uniqueUser(), username: `${t}${"ж".repeat(32 - t.length)}` });
    await expectRegisterErrors({ ...uniqueUser(), username: "ж".repeat(33) }, { username: [maxLength(32)] });
    // 𠮷 is one character but two UTF-16 code units: 20 of them are 20 characters.
    await expectRegistered({ ...uniqueUser(), username: `${"𠮷".repeat(25)}${t}` });
    await expectRegisterErrors({ ...uniqueUser(), username: "𠮷".repeat(33) }, { username: [maxLength(32)] });
  });

  test("usernames are trimmed, then stored as typed", async () => {
    const user = uniqueUser("Trim");
    const registered = await expectRegistered({ ...user, username: `  ${user.username}\t`, email: ` ${user.email} ` });
    expect(registered.user).toMatchObject({ username: user.username, email: user.email });
  });

  test("missing fields: 'This field is required.' for each one missing", async () => {
    const user = uniqueUser();
    await expectRegisterErrors({}, { username: [REQUIRED], email: [REQUIRED], password: [REQUIRED] });
    await expectRegisterErrors({ email: user.email, password: user.password }, { username: [REQUIRED] });
    await expectRegisterErrors({ username: user.username, password: user.password }, { email: [REQUIRED] });
    await expectRegisterErrors({ username: user.username, email: user.email }, { password: [REQUIRED] });
    // No body at all counts as {}.
    const empty = await call(server, "/account/register", { method: "POST" });
    expect(empty.body).toEqual({ success: false, errors: { username: [REQUIRED], email: [REQUIRED], password: [REQUIRED] } });
  });

  test("wrong types (number, null, array, object, boolean): 'Not a valid string.'", async () => {
    for (const value of [42, 0, null, ["x"], [], { x: 1 }, {}, true, false]) {
      await expectRegisterErrors({ username: value, email: value, password: value }, { username: [NOT_STRING], email: [NOT_STRING], password: [NOT_STRING] });
      await expectRegisterErrors({ ...uniqueUser(), password: value }, { password: [NOT_STRING] });
    }
  });

  test("blank and whitespace-only: 'This field may not be blank.'", async () => {
    await expectRegisterErrors({ username: "", email: "", password: "" }, { username: [BLANK], email: [BLANK], password: [BLANK] });
    await expectRegisterErrors({ ...uniqueUser(), username: "   ", email: " \t " }, { username: [BLANK], email: [BLANK] });
    await expectRegisterErrors({ ...uniqueUser(), username: "\n" }, { username: [BLANK] });
  });

  test("every failing field is listed at once, with one message each", async () => {
    await expectRegisterErrors({ username: "a b", email: "nope", password: "short" }, { username: [BAD_USERNAME], email: [BAD_EMAIL], password: [TOO_SHORT] });
    await expectRegisterErrors({ username: 7, email: null, password: ["x"] }, { username: [NOT_STRING], email: [NOT_STRING], password: [NOT_STRING] });
    await expectRegisterErrors({ email: 7 }, { username: [REQUIRED], email: [NOT_STRING], password: [REQUIRED] });
  });
});

describe("login: field validation", () => {
  test("blank fields: the bare field form", async () => {
    const cases: [unknown, unknown][] = [
      [{ username: "", password: "x" }, { username: [BLANK] }],
      [{ username: "  ", password: "x" }, { username: [BLANK] }],
      [{ username: "someone", password: "" }, { password: [BLANK] }],
      [{ username: "", password: "" }, { username: [BLANK], password: [BLANK] }],
    ];
    for (const [body, expected] of cases) {
      const answer = await login(body);
      expect({ sent: body, status: answer.status, body: answer.body }).toEqual({ sent: body, status: 400, body: expected });
    }
  });

  test("wrong types, each alone: the bare field form", async () => {
    for (const value of [42, null, [], ["x"], {}, true]) {
      const answer = await login({ username: value, password: "whatever1" });
      expect({ value, status: answer.status, body: answer.body }).toEqual({ value, status: 400, body: { username: [NOT_STRING] } });
      const other = await login({ username: "someone", password: value });
      expect({ value, status: other.status, body: other.body }).toEqual({ value, status: 400, body: { password: [NOT_STRING] } });
    }
  });
});

describe("general answers", () => {
  test("unknown path: 404 {detail: 'Not found.'}", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["GET", "/account"],
      ["GET", "/account/nope"],
      ["POST", "/account/registerx"],
      ["GET", "/account/profile/extra"],
      ["POST", "/acount/login"],
    ] as const) {
      const answer = await call(server, path, { method });
      expect({ path, status: answer.status, body: answer.body }).toEqual({ path, status: 404, body: { detail: "Not found." } });
    }
  });

  test("known path, wrong method: 405 naming the method used", async () => {
    for (const [method, path] of [
      ["GET", "/account/login"],
      ["GET", "/account/register"],
      ["GET", "/account/logout"],
      ["GET", "/account/logoutall"],
      ["GET", "/account/set_picture"],
      ["GET", "/acount/set_picture"],
      ["POST", "/account/profile"],
      ["PUT", "/account/delete"],
      ["PATCH", "/account/profile"],
      ["DELETE", "/account/login"],
    ] as const) {
      const answer = await call(server, path, { method });
      expect({ path, status: answer.status, body: answer.body }).toEqual({ path, status: 405, body: { detail: `Method "${method}" not allowed.` } });
    }
    expect((await call(server, "/account/login")).text).toBe('{"detail":"Method \\"GET\\" not allowed."}');
  });

  test("invalid JSON: 400 'JSON parse error - …', whatever the Content-Type says", async () => {
    for (const body of ["{", "{nope", '{"username": "a",}', "{'username': 'a'}", "username=a&password=b", '{"a": 1} trailing']) {
      for (const contentType of ["application/json", "text/plain", "application/x-www-form-urlencoded"]) {
        const answer = await call(server, "/account/login", { method: "POST", body, headers: { "content-type": contentType } });
        expect({ body, contentType, status: answer.status }).toEqual({ body, contentType, status: 400 });
        expect(Object.keys(answer.body)).toEqual(["detail"]);
        expect(answer.body.detail).toStartWith("JSON parse error - ");
      }
    }
    // The same on the enveloped routes: the body's form is checked before its fields.
    const onRegister = await call(server, "/account/register", { method: "POST", body: "{nope" });
    expect(onRegister.status).toBe(400);
    expect(onRegister.body.detail).toStartWith("JSON parse error - ");
  });

  test("the parse error does not echo a long body back", async () => {
    const body = `{"username": "${"x".repeat(5_000)}" oops}`;
    const answer = await call(server, "/account/login", { method: "POST", body });
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toStartWith("JSON parse error - ");
    expect(answer.text.length).toBeLessThan(300);
  });

  test("JSON that is not an object: 400 {detail: 'Expected a JSON object.'}", async () => {
    for (const body of ["[]", '[{"username": "a", "password": "b"}]', '"a string"', "42", "null", "true"]) {
      for (const path of ["/account/login", "/account/register"]) {
        const answer = await call(server, path, { method: "POST", body, headers: { "content-type": "application/json" } });
        expect({ body, path, status: answer.status, answer: answer.body }).toEqual({ body, path, status: 400, answer: { detail: "Expected a JSON object." } });
      }
    }
  });

  test("a body over 64 KiB: 413 {detail: 'Request body too large.'}; exactly 64 KiB is read", async () => {
    const shape = (pad: number) => JSON.stringify({ username: "nobody", password: "whatever1", pad: "p".repeat(pad) });
    const exact = shape(65_536 - shape(0).length);
    expect(exact.length).toBe(65_536);
    const atLimit = await call(server, "/account/login", { method: "POST", body: exact });
    expect({ status: atLimit.status, body: atLimit.body }).toEqual({ status: 400, body: BAD_CREDENTIALS });

    const over = shape(65_537 - shape(0).length);
    for (const path of ["/account/login", "/account/register"]) {
      const answer = await call(server, path, { method: "POST", body: over, headers: { "content-type": "application/json" } });
      expect({ path, status: answer.status, body: answer.body }).toEqual({ path, status: 413, body: { detail: "Request body too large." } });
    }
    const big = await call(server, "/account/register", { method: "POST", json: { username: "x".repeat(100_000), email: "a@example.com", password: "12345678" } });
    expect({ status: big.status, body: big.body }).toEqual({ status: 413, body: { detail: "Request body too large." } });
  });

  test("a chunked body (no Content-Length) over 64 KiB: 413 too", async () => {
    const chunk = new TextEncoder().encode(`{"pad": "${"x".repeat(10_000)}`);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await fetch(`${server.base}/account/login`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ detail: "Request body too large." });
  });

  // Bodies far over the limit (over 4 × BODY_LIMIT + 1 KiB, the maxRequestBodySize src/main.ts gives
  // Bun.serve) are refused by Bun itself: status 413, but an empty body instead of the contract's.
  // Fixing it needs src/main.ts (not this suite's to change); this flips to a plain test once it is.
  test("a body far over the limit gets the contract's 413 body too", async () => {
    const body = JSON.stringify({ username: "x".repeat(300 * 1024), password: "whatever1" });
    const response = await fetch(`${server.base}/account/login`, { method: "POST", body });
    expect(response.status).toBe(413);
    expect(await response.text()).toBe('{"detail":"Request body too large."}');
  });

  test("10,000-character strings get field errors, never a 5xx", async () => {
    const long = "x".repeat(10_000);
    await expectRegisterErrors(
      { username: long, email: `${long}@example.com`, password: long },
      { username: [maxLength(32)], email: [maxLength(254)], password: [maxLength(1024)] },
    );
    await expectRegisterErrors({ ...uniqueUser(), username: "ж".repeat(10_000) }, { username: [maxLength(32)] });
    const user = await registerUser(server, uniqueUser("long"));
    secrets.add(user.token).add(user.password);
    const cases: [unknown, number][] = [
      [{ username: long, password: user.password }, 400],
      [{ username: user.username, password: long }, 400],
      [{ username: "😀".repeat(10_000), password: long }, 400],
    ];
    for (const [body, status] of cases) {
      const answer = await login(body);
      expect(answer.status).toBe(status);
      expect(answer.body).not.toHaveProperty("success"); // login's errors are bare
      expect(Object.values(answer.body).flat().length).toBeGreaterThan(0);
    }
    const picture = await post(server, "/account/set_picture", { id: "7".repeat(10_000) }, { token: user.token });
    expect(picture.body).toEqual({ success: false, errors: { id: ["Invalid picture id."] } });
    // Long header values too.
    const header = await call(server, "/account/profile", { headers: { authorization: `Token ${"a".repeat(10_000)}` } });
    expect({ status: header.status, body: header.body }).toEqual({ status: 401, body: { detail: "Invalid token." } });
  });

  test("SQL-looking strings are plain data", async () => {
    const injection = "'; drop table users; --";
    await expectRegisterErrors({ ...uniqueUser(), username: injection }, { username: [BAD_USERNAME] });
    await expectRegisterErrors({ ...uniqueUser(), email: `${injection}@example.com` }, { email: [BAD_EMAIL] });
    for (const username of [injection, "admin' or '1'='1", "x\" or 1=1 --", "\\'; select pg_sleep(10); --"]) {
      const answer = await login({ username, password: "' or '1'='1" });
      expect({ username, status: answer.status, body: answer.body }).toEqual({ username, status: 400, body: BAD_CREDENTIALS });
    }
    // As a password it is just a password: stored hashed, and it logs in.
    const user = { ...uniqueUser("sql"), password: injection };
    await expectRegistered(user);
    const answer = await login({ username: user.username, password: injection });
    expect(answer.status).toBe(200);
    secrets.add(answer.body.token);
    const wrong = await login({ username: user.username, password: "' or '1'='1" });
    expect(wrong.body).toEqual(BAD_CREDENTIALS);
    // A picture id that looks like SQL is just an invalid id.
    const picture = await post(server, "/account/set_picture", { id: "1; update users set picture_id = 1" }, { token: answer.body.token });
    expect(picture.body).toEqual({ success: false, errors: { id: ["Invalid picture id."] } });
    // And the tables are still there.
    await expectTokenWorks(server, answer.body.token);
    await expectRegistered(uniqueUser("after"));
  });

  test("?format=json is accepted on GETs and changes nothing", async () => {
    const user = await registerUser(server, uniqueUser("format"));
    secrets.add(user.token).add(user.password);
    for (const path of ["/account/profile", "/account/get_pictures", "/anime/random", "/anime/entry/1", "/health"]) {
      const plain = await call(server, path, { token: user.token });
      const formatted = await call(server, `${path}?format=json`, { token: user.token });
      expect({ path, status: formatted.status }).toEqual({ path, status: plain.status });
      // (a random entry differs from call to call; anything else must be the same)
      if (path !== "/anime/random" || plain.status !== 200) expect(formatted.body).toEqual(plain.body);
    }
    // On an authenticated GET without a token it is still the 401.
    const anonymous = await call(server, "/account/profile?format=json");
    expect({ status: anonymous.status, body: anonymous.body }).toEqual({ status: 401, body: { detail: "Authentication credentials were not provided." } });
  });

  test("error answers are JSON", async () => {
    const answers: Answer[] = [
      await call(server, "/nope"),
      await call(server, "/account/login"),
      await call(server, "/account/login", { method: "POST", body: "{" }),
      await call(server, "/account/login", { method: "POST", json: {} }),
      await call(server, "/account/register", { method: "POST", json: {} }),
      await call(server, "/account/profile"),
    ];
    for (const answer of answers) {
      expect(answer.headers.get("content-type")).toStartWith("application/json");
      expect(answer.body).toBeDefined();
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });
});

describe("account settings and sessions: hostile input", () => {
  const WRONG = "Wrong password.";
  const TOO_SHORT_NEW = TOO_SHORT;
  type Route = { path: string; passwordField: string; valueField: string; value: () => string };
  const routes: Route[] = [
    { path: "/account/change_password", passwordField: "current_password", valueField: "new_password", value: () => "another password" },
    { path: "/account/change_username", passwordField: "password", valueField: "username", value: () => uniqueUser().username },
    { path: "/account/change_email", passwordField: "password", valueField: "email", value: () => uniqueUser().email },
  ];

  async function settingsUser() {
    const user = await registerUser(server, uniqueUser("hostile"));
    secrets.add(user.token).add(user.password);
    return user;
  }

  async function expectSettingsErrors(route: Route, token: string, body: unknown, errors: Record<string, string[]>) {
    const answer = await post(server, route.path, body, { token });
    expect({ path: route.path, sent: body, status: answer.status, body: answer.body }).toEqual({
      path: route.path,
      sent: body,
      status: 400,
      body: { success: false, errors },
    });
  }

  /** The user can still sign in with the same password, under the same name, and the token works. */
  async function expectNothingChanged(user: Awaited<ReturnType<typeof settingsUser>>) {
    const me = await expectTokenWorks(server, user.token);
    expect(me.body.data).toMatchObject({ username: user.username, email: user.email });
    const again = await login({ username: user.username, password: user.password });
    expect(again.status).toBe(200);
    secrets.add(again.body.token);
  }

  test("wrong types in every field: 'Not a valid string.' in the wrapped form; nothing changes", async () => {
    const user = await settingsUser();
    for (const route of routes) {
      for (const value of [42, 0, null, [], ["x"], {}, { x: 1 }, true, false]) {
        await expectSettingsErrors(route, user.token, { [route.passwordField]: value, [route.valueField]: route.value() }, { [route.passwordField]: [NOT_STRING] });
        await expectSettingsErrors(route, user.token, { [route.passwordField]: user.password, [route.valueField]: value }, { [route.valueField]: [NOT_STRING] });
      }
      await expectSettingsErrors(route, user.token, {}, { [route.passwordField]: [REQUIRED], [route.valueField]: [REQUIRED] });
      const empty = await call(server, route.path, { method: "POST", token: user.token });
      expect(empty.body).toEqual({ success: false, errors: { [route.passwordField]: [REQUIRED], [route.valueField]: [REQUIRED] } });
    }
    await expectNothingChanged(user);
  });

  test("hostile passwords (NUL, lone surrogates, SQL, 10,000 characters) are just wrong; nothing changes", async () => {
    const user = await settingsUser();
    for (const route of routes) {
      for (const password of [`${user.password}\u0000`, "\u0000", "\ud800\udfff\ud800", "' or '1'='1", `${user.password}' --`, "\u202e" + user.password]) {
        await expectSettingsErrors(route, user.token, { [route.passwordField]: password, [route.valueField]: route.value() }, { [route.passwordField]: [WRONG] });
      }
      await expectSettingsErrors(route, user.token, { [route.passwordField]: "p".repeat(10_000), [route.valueField]: route.value() }, {
        [route.passwordField]: [maxLength(1024)],
      });
    }
    await expectNothingChanged(user);
  });

  test("hostile new usernames and emails get register's messages; nothing changes", async () => {
    const user = await settingsUser();
    const [, username, email] = routes as [Route, Route, Route];
    for (const value of ["a\u0000b", "'; drop table users; --", "\u202eevil", "\ud800", "a\u200bb", "tab\tname", "😀", "x\u0301\u0301\u0301 y"]) {
      await expectSettingsErrors(username, user.token, { password: user.password, username: value }, { username: [BAD_USERNAME] });
    }
    await expectSettingsErrors(username, user.token, { password: user.password, username: "x".repeat(10_000) }, { username: [maxLength(32)] });
    await expectSettingsErrors(username, user.token, { password: user.password, username: "ж".repeat(10_000) }, { username: [maxLength(32)] });
    for (const value of ["a\u0000@example.com", "'; drop table users; --@example.com", "\ud800@example.com", "a@exa\u0000mple.com", "<a@example.com>"]) {
      await expectSettingsErrors(email, user.token, { password: user.password, email: value }, { email: [BAD_EMAIL] });
    }
    await expectSettingsErrors(email, user.token, { password: user.password, email: `${"x".repeat(10_000)}@example.com` }, { email: [maxLength(254)] });
    await expectNothingChanged(user);
  });

  test("hostile new passwords: register's rules, and any string that passes them is just a password", async () => {
    const user = await settingsUser();
    const [change] = routes as [Route];
    await expectSettingsErrors(change, user.token, { current_password: user.password, new_password: "\u0000" }, { new_password: [TOO_SHORT_NEW] });
    await expectSettingsErrors(change, user.token, { current_password: user.password, new_password: "😀".repeat(7) }, { new_password: [TOO_SHORT_NEW] });
    await expectSettingsErrors(change, user.token, { current_password: user.password, new_password: "p".repeat(10_000) }, { new_password: [maxLength(1024)] });
    await expectNothingChanged(user);
    const hostile = "\u0000'; drop table users; --\u202e😀";
    const changed = await post(server, change.path, { current_password: user.password, new_password: hostile }, { token: user.token });
    expect(changed.status).toBe(200);
    secrets.add(changed.body.token);
    const again = await login({ username: user.username, password: hostile });
    expect(again.status).toBe(200);
    secrets.add(again.body.token);
  });

  test("bodies that are not JSON objects, or too large, on the settings routes", async () => {
    const user = await settingsUser();
    for (const route of routes) {
      const broken = await call(server, route.path, { method: "POST", token: user.token, body: "{nope" });
      expect(broken.status).toBe(400);
      expect(broken.body.detail).toStartWith("JSON parse error - ");
      for (const body of ["[]", '"x"', "null", "42"]) {
        const answer = await call(server, route.path, { method: "POST", token: user.token, body, headers: { "content-type": "application/json" } });
        expect({ body, status: answer.status, answer: answer.body }).toEqual({ body, status: 400, answer: { detail: "Expected a JSON object." } });
      }
      const big = await post(server, route.path, { [route.passwordField]: user.password, [route.valueField]: "x".repeat(70_000) }, { token: user.token });
      expect({ status: big.status, body: big.body }).toEqual({ status: 413, body: { detail: "Request body too large." } });
    }
    await expectNothingChanged(user);
  });

  test("hostile user agents are stored kept to 256 characters; hostile session ids are 404", async () => {
    const user = await settingsUser();
    for (const agent of ["x".repeat(10_000), "'; drop table tokens; --", "Tab\tAgent", "caf\u00e9/1.0"]) {
      const answer = await post(server, "/account/login", { username: user.username, password: user.password }, { headers: { "user-agent": agent } });
      expect(answer.status).toBe(200);
      secrets.add(answer.body.token);
    }
    const sessions = await call(server, "/account/sessions", { token: user.token });
    expect(sessions.body.data.slice(0, 4).map((s: { user_agent: string }) => s.user_agent)).toEqual([
      "caf\u00e9/1.0",
      "Tab\tAgent",
      "'; drop table tokens; --",
      "x".repeat(256),
    ]);
    for (const id of ["%00", "a%00", "'%20or%201=1%20--", "%F0%9F%98%80", "%ED%A0%80", "A".repeat(10_000), "..%2F..%2Fprofile", "%25", "null", "-1"]) {
      const answer = await call(server, `/account/sessions/${id}`, { method: "DELETE", token: user.token });
      expect({ id: id.slice(0, 40), status: answer.status, body: answer.body }).toEqual({ id: id.slice(0, 40), status: 404, body: { detail: "Not found." } });
    }
    expect((await call(server, "/account/sessions", { token: user.token })).body.data).toHaveLength(5);
  });

  test("known paths, wrong methods: 405", async () => {
    for (const [method, path] of [
      ["GET", "/account/change_password"],
      ["GET", "/account/change_username"],
      ["PUT", "/account/change_email"],
      ["POST", "/account/sessions"],
      ["GET", "/account/sessions/AAAAAAAAAAAAAAAAAAAAAA"],
      ["POST", "/account/export"],
    ] as const) {
      const answer = await call(server, path, { method });
      expect({ path, status: answer.status, body: answer.body }).toEqual({ path, status: 405, body: { detail: `Method "${method}" not allowed.` } });
    }
  });
});

describe("the whole run", () => {
  test("no request answered 5xx, nothing logged as an error, no token or password in the log", async () => {
    await Bun.sleep(50);
    expectNoServerErrors(server);
    expectLogFreeOf(server, secrets);
  });
});
