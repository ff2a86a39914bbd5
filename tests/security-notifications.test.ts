// A change notification is not the database. NOTIFY needs no privilege: a PostgreSQL role that cannot
// read a single table can still send any payload on the server's channel. Such a payload must not
// make a server trust a token the database does not hold (a forged "token.issued" used to put the
// token straight into the index, as any user it named), and malformed payloads are logged and
// dropped without breaking the feed: revocations keep reaching the other instance within a second.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { CHANGES_CHANNEL } from "../src/db/changes.ts";
import { INVALID_TOKEN, logLines, sha256Hex } from "./account-support.ts";
import { eventually } from "./support/cluster.ts";
import { type TestDatabase, adminUrl, createTestDatabase } from "./support/db.ts";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";

const SKIP_REASON = "needs DATABASE_URL: NOTIFY from another role and a second instance need PostgreSQL";
if (!adminUrl) console.warn(`skipping tests/security-notifications.test.ts: ${SKIP_REASON}`);

describe.skipIf(!adminUrl)("notifications from a role with no privileges", () => {
  let database: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  let intruder: postgres.Sql;
  const role = `lumotist_intruder_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await startTestServer({}, database);
    b = await startTestServer({}, database);
    await a.running.db.sql.unsafe(`create role ${role} login`);
    const url = new URL(database.url!);
    url.username = role;
    intruder = postgres(url.href, { max: 1, onnotice: () => {} });
  }, 60_000);

  afterAll(async () => {
    await intruder?.end();
    await b?.running.stop();
    await a?.running.stop();
    const admin = postgres(adminUrl!, { max: 1, onnotice: () => {} });
    await database?.drop();
    await admin.unsafe(`drop role if exists ${role}`);
    await admin.end();
  }, 60_000);

  const notify = (payload: string) => intruder`select pg_notify(${CHANGES_CHANNEL}, ${payload})`;

  test("the intruder cannot read the users table, yet can notify", async () => {
    await expect(intruder`select id from users`).rejects.toThrow(/permission denied/);
    await notify("hello");
  });

  test("a forged token.issued for user 1 does not authenticate its token: 401", async () => {
    const victim = await registerUser(a, uniqueUser("victim"));
    const forged = "f0".repeat(32);
    const envelope = (origin: string) =>
      JSON.stringify({ topic: "token.issued", data: { digest: sha256Hex(forged), userId: victim.id, expiresAt: Date.now() + 86_400_000 }, origin });
    await notify(envelope("forged-origin"));
    await Bun.sleep(200);
    for (const server of [a, b]) {
      const response = await server.request("/account/profile", { token: forged });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ detail: INVALID_TOKEN });
    }
  });

  test("malformed payloads are logged and dropped; the feed keeps working (a logout on A is refused by B within a second)", async () => {
    const user = await registerUser(a, uniqueUser("feed"));
    expect((await b.request("/account/profile", { token: user.token })).status).toBe(200); // B now holds it
    for (const payload of [
      "not json",
      "[]",
      "null",
      JSON.stringify({ topic: 5, origin: "x" }),
      JSON.stringify({ topic: "tokens.revoked", data: 5, origin: "x" }),
      JSON.stringify({ topic: "tokens.revoked", data: ["zz"], origin: "x" }),
      JSON.stringify({ topic: "user.changed", data: "x", origin: "x" }),
      JSON.stringify({ topic: "user.changed", data: -1, origin: "x" }),
      JSON.stringify({ topic: "catalogue", data: null, origin: "x" }),
    ]) {
      await notify(payload);
    }
    expect((await a.request("/account/logout", { method: "POST", token: user.token })).status).toBe(200);
    const refused = await eventually(async () => (await b.request("/account/profile", { token: user.token })).status === 401, {
      timeoutMs: 1_000,
      intervalMs: 20,
    });
    expect(refused.ok).toBe(true);
    const dropped = logLines(b).filter((line) => line.level === "warn" && /change notification/.test(line.msg));
    expect(dropped.length).toBeGreaterThanOrEqual(7);
    expect(logLines(b).filter((line) => line.level === "error")).toEqual([]);
  });
});
