// Usernames that a reader cannot tell apart are one username: `admin` in Latin letters and `аdmin`
// with a Cyrillic а, fullwidth letters, digits that pass for letters and added combining marks are
// refused as taken, with the contract's uniqueness message. Accounts made before the look-alike key
// existed get it at start; two of them that clash both keep working, and the clash is logged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { logLines, post } from "./account-support.ts";
import { type TestServer, startTestServer, uniqueUser } from "./support/server.ts";

const TAKEN = { success: false, errors: { username: ["user with this username already exists."] } };

describe("look-alike usernames", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  const register = (username: string) => post(server, "/account/register", { ...uniqueUser(), username });

  test("admin in Latin letters, then with a Cyrillic а: the second is taken", async () => {
    const base = `admin${Math.random().toString(36).slice(2, 7)}`;
    expect((await register(base)).status).toBe(200);
    const lookalike = `\u0430${base.slice(1)}`; // Cyrillic а
    expect(lookalike).not.toBe(base);
    const answer = await register(lookalike);
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 400, body: TAKEN });
  });

  test("fullwidth letters, a digit for a letter, and added combining marks are taken too", async () => {
    const base = `olga${Math.random().toString(36).slice(2, 7).replace(/[0-9]/g, "x")}`;
    expect((await register(base)).status).toBe(200);
    const fullwidth = [...base].map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join("");
    for (const lookalike of [fullwidth, `0${base.slice(1)}`, `${base.slice(0, 2)}\u0301${base.slice(2)}`, base.toUpperCase()]) {
      const answer = await register(lookalike);
      expect({ lookalike, status: answer.status, body: answer.body }).toEqual({ lookalike, status: 400, body: TAKEN });
    }
  });

  test("names that only share letters are not look-alikes", async () => {
    const base = `kira${Math.random().toString(36).slice(2, 7)}`;
    expect((await register(base)).status).toBe(200);
    expect((await register(`${base}x`)).status).toBe(200);
    expect((await register(`Кира${base.slice(4)}`)).status).toBe(200); // Cyrillic К, и, р, а: not all confusable
  });
});

describe("accounts made before look-alike keys existed", () => {
  test("get their key at start; a clash keeps both accounts working and is logged, never merged", async () => {
    const first = await startTestServer();
    const { sql } = first.running.db;
    const suffix = Math.random().toString(36).slice(2, 7);
    const latin = { ...uniqueUser(), username: `admin${suffix}` };
    const other = { ...uniqueUser(), username: `plain${suffix}` };
    for (const user of [latin, other]) expect((await post(first, "/account/register", user)).status).toBe(200);
    // As the database stood before the key existed: no keys, and a look-alike that registration now refuses.
    await sql`update users set username_skeleton = null`;
    const cyrillic = { ...uniqueUser(), username: `\u0430dmin${suffix}` };
    await sql`insert into users (username, username_key, email, email_key, password_hash)
              select ${cyrillic.username}, ${cyrillic.username.toLowerCase()}, ${cyrillic.email}, ${cyrillic.email}, password_hash
              from users where username = ${latin.username}`;
    await first.running.stop();

    const second = await startTestServer({}, first.database);
    try {
      const keys = await second.running.db.sql<{ username: string; username_skeleton: string | null }[]>`
        select username, username_skeleton from users order by id`;
      expect(keys.map((row) => [row.username, row.username_skeleton !== null])).toEqual([
        [latin.username, true],
        [other.username, true],
        [cyrillic.username, false],
      ]);
      const clash = logLines(second).find((line) => line.level === "warn" && /look alike/.test(line.msg));
      expect(clash).toBeDefined();
      // Both still log in, each as themselves (the Cyrillic one has the Latin one's password hash).
      expect((await post(second, "/account/login", { username: latin.username, password: latin.password })).status).toBe(200);
      expect((await post(second, "/account/login", { username: cyrillic.username, password: latin.password })).status).toBe(200);
      // New look-alikes of the keyed name are refused.
      const again = await post(second, "/account/register", { ...uniqueUser(), username: `ADMIN${suffix}` });
      expect(again.body).toEqual(TAKEN);
    } finally {
      await second.stop();
    }
  }, 60_000); // two server starts: the embedded database takes seconds each
});
