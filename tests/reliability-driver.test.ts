// The database driver (postgres.js, patched: patches/postgres@3.4.9.patch) when a connection is lost
// while it starts up, through the pool the server opens (src/db/connect.ts). A fake PostgreSQL
// server plays each fault at the exact protocol step, so this runs the same with or without
// DATABASE_URL and needs no database:
//  - lost while the driver fetches the array types (the first statement of every new connection):
//    the query that opened the connection fails with a connection error (503 for a request), and
//    nothing else fails. Unpatched, the driver also rejected a promise nobody awaited: in the server
//    an unhandled rejection, which bun:test charged to whatever test was running (the intermittent
//    failure of tests/reliability-outage.test.ts under load);
//  - terminated (57P01) during a query: that query fails, and the next one, on a new connection,
//    succeeds. Unpatched, the driver replayed the old connection's 57P01 onto it.
import { afterEach, describe, expect, test } from "bun:test";
import { type AddressInfo, type Socket as NetSocket, createServer } from "node:net";
import { loadConfig } from "../src/config.ts";
import { type Database, openDatabase } from "../src/db/connect.ts";
import { isDatabaseUnreachable } from "../src/db/errors.ts";
import { createLogger } from "../src/log.ts";

// ---- Just enough of the PostgreSQL protocol (v3) for the driver's start-up and a statement ----

function message(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
const int32 = (value: number) => Buffer.from([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
const cstring = (text: string) => Buffer.from(`${text}\0`, "utf8");

const AUTHENTICATION_OK = message("R", int32(0));
const READY = message("Z", Buffer.from("I"));
/** The answer to Parse, Describe (statement), Bind, Execute, Sync of a statement that returns no rows. */
const EMPTY_RESULT = Buffer.concat([
  message("1"), // ParseComplete
  message("t", Buffer.from([0, 0])), // ParameterDescription: no parameters
  message("n"), // NoData
  message("2"), // BindComplete
  message("C", cstring("SELECT 0")),
  READY,
]);
const TERMINATED = message(
  "E",
  Buffer.concat([cstring("SFATAL"), cstring("VFATAL"), cstring("C57P01"), cstring("Mterminating connection due to administrator command"), Buffer.from([0])]),
);

/** What the fake server does with a statement (the text of its Parse message). */
type Fault = "close" | "reset" | "terminate";
type Script = (statement: string, connection: number) => Fault | "answer";

interface FakeServer {
  port: number;
  /** Statements received, as `<connection>: <text>`. */
  statements: string[];
  /** Closes the listening socket: later connections are refused. */
  refuse(): void;
  stop(): void;
}

function isArrayTypesQuery(statement: string): boolean {
  return statement.includes("pg_catalog.pg_type");
}

/** A server that accepts every start-up, then answers each statement as `script` says. */
async function fakePostgres(script: Script): Promise<FakeServer> {
  const statements: string[] = [];
  const sockets = new Set<NetSocket>();
  let connections = 0;
  const server = createServer((socket) => {
    const id = ++connections;
    let buffer = Buffer.alloc(0);
    let started = false;
    let statement = "";
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          // StartupMessage: int32 length (itself included), then the protocol and parameters.
          if (buffer.length < 4 || buffer.length < buffer.readInt32BE(0)) return;
          buffer = buffer.subarray(buffer.readInt32BE(0));
          started = true;
          socket.write(Buffer.concat([AUTHENTICATION_OK, READY]));
          continue;
        }
        if (buffer.length < 5 || buffer.length < 1 + buffer.readInt32BE(1)) return;
        const type = String.fromCharCode(buffer[0]!);
        const body = buffer.subarray(5, 1 + buffer.readInt32BE(1));
        buffer = buffer.subarray(1 + buffer.readInt32BE(1));
        if (type === "X") return void socket.end(); // Terminate
        if (type === "P") statement = body.subarray(body.indexOf(0) + 1, body.indexOf(0, body.indexOf(0) + 1)).toString("utf8");
        if (type !== "S") continue; // answer at Sync, once the whole statement is in
        statements.push(`${id}: ${statement.trim().split(/\s+/).join(" ")}`);
        const action = script(statement, id);
        if (action === "answer") socket.write(EMPTY_RESULT);
        else if (action === "terminate") return void socket.end(TERMINATED);
        else if (action === "reset") return void socket.resetAndDestroy();
        else return void socket.end();
      }
    });
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    statements,
    refuse: () => void server.close(),
    stop() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

// ---- The pool the server opens ----

let fake: FakeServer | undefined;
let db: Database | undefined;

afterEach(async () => {
  // Not db.close(): after these faults the driver waits out close()'s 5 s grace period.
  await db?.sql.end({ timeout: 0 });
  fake?.stop();
  db = fake = undefined;
});

function openPool(port: number): Promise<Database> {
  const config = loadConfig({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/lumotist`, LOG_LEVEL: "silent", DB_POOL_MAX: "1" });
  return openDatabase(config, createLogger("silent"));
}

/** How a query ended: "ok", or the code of the error it failed with. */
async function outcome(query: Promise<unknown>): Promise<string> {
  try {
    await query;
    return "ok";
  } catch (error) {
    expect(isDatabaseUnreachable(error)).toBe(true);
    return (error as { code: string }).code;
  }
}

describe("a connection lost while the driver fetches the array types (every new connection's first statement)", () => {
  for (const [fault, expected] of [
    ["close", "ECONNREFUSED"], // the server closed it (a crash: immediate shutdown), and refuses the reconnection
    ["reset", "ECONNRESET"], // the connection was reset
  ] as const) {
    test(`${fault}: the query that opened the connection fails with ${expected}, and nothing else fails`, async () => {
      const server = (fake = await fakePostgres((statement) => {
        if (!isArrayTypesQuery(statement)) return "answer";
        server.refuse(); // the database is gone from now on
        return fault;
      }));
      db = await openPool(server.port);
      expect(await outcome(db.sql`select 1`)).toBe(expected);
      expect(server.statements).toEqual([expect.stringMatching(/^1: select b\.oid, b\.typarray from pg_catalog\.pg_type/)]);
      // An unhandled rejection surfaces within a few turns of the event loop; bun:test fails the test
      // it happens in. Wait past the driver's reconnection backoff (at most 250 ms) for it.
      await Bun.sleep(400);
    });
  }
});

test("a connection terminated (57P01) during a query: the next query, on a new connection, succeeds", async () => {
  let terminated = false;
  fake = await fakePostgres((statement) => {
    if (isArrayTypesQuery(statement) || terminated) return "answer";
    terminated = true;
    return "terminate";
  });
  db = await openPool(fake.port);
  // Ended with 57P01 and then closed: the driver reports the close.
  expect(await outcome(db.sql`select 1`)).toBe("CONNECTION_CLOSED");
  expect(await outcome(db.sql`select 2`)).toBe("ok");
  expect(fake.statements.filter((statement) => !statement.includes("pg_catalog.pg_type"))).toEqual(["1: select 1", "2: select 2"]);
});
