// GET /account/export: everything the server holds about the user as one JSON document (profile,
// settings, sessions, list), and never a secret: no password, password hash, token or token digest.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type TestServer, startTestServer, uniqueUser } from "./support/server.ts";
import { call, expect401, expectLogFreeOf, expectNoServerErrors, post, sha256Hex } from "./account-support.ts";
import { type FixtureAnime, loadFixtureCatalogue, putEntry } from "./support/list.ts";

let server: TestServer;
let anime: FixtureAnime[];
const secrets = new Set<string>();

beforeAll(async () => {
  server = await startTestServer();
  anime = await loadFixtureCatalogue(server, 3);
}, 120_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

async function register() {
  const user = uniqueUser("export");
  const answer = await post(server, "/account/register", user, { headers: { "user-agent": "ExportTest/1.0" } });
  expect(answer.status).toBe(200);
  secrets.add(answer.body.token).add(user.password);
  return { ...user, id: answer.body.user.id as number, token: answer.body.token as string };
}

const exportOf = (token: string) => call(server, "/account/export", { token });

describe("GET /account/export", () => {
  test("the profile as /account/profile shows it, the settings, every session as /account/sessions lists it, the list", async () => {
    const user = await register();
    expect((await post(server, "/account/set_picture", { id: 7 }, { token: user.token })).status).toBe(200);
    const second = await post(server, "/account/login", { username: user.username, password: user.password });
    secrets.add(second.body.token);

    const answer = await exportOf(user.token);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    const document = answer.body;
    expect(Object.keys(document).sort()).toEqual(["list", "profile", "sessions", "settings"]);

    const profile = await call(server, "/account/profile", { token: user.token });
    expect(document.profile).toEqual(profile.body.data);
    expect(document.profile).toMatchObject({ id: user.id, username: user.username, email: user.email });
    expect(document.profile.picture).toContain("anime-planet.com");

    const sessions = await call(server, "/account/sessions", { token: user.token });
    expect(document.sessions).toEqual(sessions.body.data);
    expect(document.sessions).toHaveLength(2);
    expect(document.sessions.find((s: { current: boolean }) => s.current).user_agent).toBe("ExportTest/1.0");

    expect(document.settings).toEqual({ list_public: false });
    expect(document.list).toEqual([]);
  });

  test("the settings as /account/settings shows them, and every list entry as /list shows it, private ones and notes included", async () => {
    const user = await register();
    expect((await post(server, "/account/settings", { list_public: true }, { token: user.token })).status).toBe(200);
    const [first, second] = anime;
    await putEntry(server, user.token, first!.id, { status: "watching", episodes_watched: 1, score: 7, notes: "a note", started_on: "2024-01-05" });
    await putEntry(server, user.token, second!.id, { status: "plan_to_watch", private: true });

    const document = (await exportOf(user.token)).body;
    expect(document.settings).toEqual((await call(server, "/account/settings", { token: user.token })).body.data);
    expect(document.settings).toEqual({ list_public: true });
    const list = await call(server, "/list", { token: user.token });
    expect(document.list).toEqual(list.body.results);
    expect(document.list).toHaveLength(2);
    expect(document.list.find((entry: { private: boolean }) => entry.private).anime.id).toBe(second!.id);
    expect(document.list.find((entry: { notes: string }) => entry.notes === "a note").anime.id).toBe(first!.id);
  });

  test("holds no secret: no password, password hash, token or digest (in any encoding)", async () => {
    const user = await register();
    const second = await post(server, "/account/login", { username: user.username, password: user.password });
    const tokens = [user.token, second.body.token as string];
    secrets.add(tokens[1]!);
    const text = (await exportOf(user.token)).text;

    const [row] = await server.running.db.sql<[{ password_hash: string }]>`select password_hash from users where id = ${user.id}`;
    const forbidden = [user.password, row.password_hash, row.password_hash.split("$").pop()!];
    for (const token of tokens) {
      const digest = Buffer.from(sha256Hex(token), "hex");
      forbidden.push(token, digest.toString("hex"), digest.toString("base64"), digest.toString("base64url"), digest.subarray(0, 16).toString("hex"));
    }
    for (const secret of forbidden) expect(text.includes(secret), `the export holds a secret: ${secret.slice(0, 8)}…`).toBe(false);
    expect(text).not.toMatch(/argon2|password|digest|token/i);
  });

  test("only the user's own data", async () => {
    const user = await register();
    const stranger = await register();
    const text = (await exportOf(user.token)).text;
    expect(text.includes(stranger.username)).toBe(false);
    expect(text.includes(stranger.email)).toBe(false);
  });

  test("needs a token", async () => {
    expect401(await call(server, "/account/export"), "Authentication credentials were not provided.");
    expect401(await call(server, "/account/export", { token: "a".repeat(64) }));
  });
});

describe("the whole run", () => {
  test("no request answered 5xx, nothing logged as an error, no token or password in the log", () => {
    expectNoServerErrors(server);
    expectLogFreeOf(server, secrets);
  });
});
