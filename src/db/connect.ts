// Opens the database the configuration names: a real PostgreSQL through DATABASE_URL, or the
// embedded PGlite served on a Unix socket in DATA_DIR.
import { connect as connectSocket, type Socket } from "node:net";
import postgres, { type Options, type Sql, type TransactionSql } from "postgres";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { type ChangeFeed, localChangeFeed, postgresChangeFeed } from "./changes.ts";
import { EMBEDDED_PORT, type EmbeddedDatabase, embeddedSocketPath, isSocketServed, startEmbeddedDatabase } from "./embedded.ts";

export type DatabaseMode = "postgres" | "embedded";

export interface Database {
  sql: Sql;
  mode: DatabaseMode;
  changes: ChangeFeed;
  close(): Promise<void>;
}

type DatabaseConfig = Pick<Config, "databaseUrl" | "dataDir" | "dbPoolMax" | "dbConnectTimeoutSeconds">;

function baseOptions(config: DatabaseConfig): Options<{}> {
  return {
    connect_timeout: config.dbConnectTimeoutSeconds,
    idle_timeout: 60,
    // After a failed connection attempt postgres.js waits before the next one, by default growing to
    // 20 s, and a query queued behind that attempt waits with it, with no deadline. While the database
    // was down, requests then hung for many seconds instead of failing fast with 503, and recovery
    // lagged as long once it was back. Keep the pause short: an attempt that fails costs little.
    backoff: (retries: number) => Math.min(0.01 * 2 ** retries, 0.25),
    onnotice: () => {},
    connection: { application_name: "lumotist" },
  };
}

/**
 * Opens the TCP (or Unix) socket of a PostgreSQL connection for postgres.js (its `socket` option),
 * so that a peer that accepts the connection and closes it without a word (a TCP proxy or load
 * balancer with no database behind it) fails the queries waiting for it. postgres.js itself takes
 * such a close during start-up for a reason to reconnect at once, again and again, while the query
 * that wanted the connection waits: the request hung until the client gave up, instead of a 503.
 */
function openSocket(options: { host: string[]; port: number[]; path?: string | false }): Socket {
  const socket = options.path ? connectSocket(options.path) : connectSocket(options.port[0] ?? 5432, options.host[0]);
  let answered = false;
  socket.once("data", () => (answered = true));
  socket.once("close", (hadError) => {
    if (answered || hadError) return;
    const error = Object.assign(new Error("the database closed the connection before answering"), { code: "CONNECTION_CLOSED" });
    socket.emit("error", error);
  });
  return socket;
}

/** The pool options for the embedded database: PGlite runs one query at a time, so one connection. */
function embeddedOptions(config: DatabaseConfig): Options<{}> {
  return {
    ...baseOptions(config),
    host: embeddedSocketPath(config.dataDir).replace(/\/[^/]+$/, ""),
    port: EMBEDDED_PORT,
    username: "postgres",
    database: "postgres",
    max: 1,
  };
}

/**
 * The server's database. With the embedded database this process becomes its owner, and refuses to
 * start if another process already serves it.
 */
export async function openDatabase(config: DatabaseConfig, log: Logger): Promise<Database> {
  if (config.databaseUrl) {
    const options = { ...baseOptions(config), max: config.dbPoolMax, socket: openSocket } as Options<{}>;
    const sql = postgres(config.databaseUrl, options);
    return {
      sql,
      mode: "postgres",
      changes: postgresChangeFeed(sql, config.databaseUrl, options, log),
      close: () => sql.end({ timeout: 5 }),
    };
  }
  const embedded = await startEmbeddedDatabase(config.dataDir);
  return embeddedDatabase(embedded, config, log);
}

function embeddedDatabase(embedded: EmbeddedDatabase | undefined, config: DatabaseConfig, log: Logger): Database {
  const sql = postgres(embeddedOptions(config));
  return {
    sql,
    mode: "embedded",
    changes: localChangeFeed(sql, log),
    async close() {
      await sql.end({ timeout: 5 });
      await embedded?.stop();
    },
  };
}

/**
 * A database for a command-line tool (the importer): DATABASE_URL, or the embedded database through
 * the socket of the server that owns it, or, when no server runs, the embedded database itself.
 */
export async function openDatabaseForTool(config: DatabaseConfig, log: Logger): Promise<Database> {
  if (config.databaseUrl) return openDatabase(config, log);
  if (await isSocketServed(embeddedSocketPath(config.dataDir))) return embeddedDatabase(undefined, config, log);
  return openDatabase(config, log);
}

/** What query functions take: the pool, or a transaction inside sql.begin(). */
export type Queryable = Sql | TransactionSql;
