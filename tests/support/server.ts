// Starts the real server (the same startServer that `bun run start` runs) on a random port, on a
// fresh test database, and talks HTTP to it.
import { buildApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { type RunningServer, startServer } from "../../src/main.ts";
import { type TestDatabase, createTestDatabase } from "./db.ts";

/** A fetch init with the tests' shorthand: `token` for `Authorization: Token …`, `json` for a JSON body. */
export type TestRequestInit = RequestInit & { token?: string; json?: unknown };

export interface TestServer {
  base: string;
  running: RunningServer;
  database: TestDatabase;
  /** Log lines the server wrote (JSON strings). */
  logs: string[];
  request(path: string, init?: TestRequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/** The environment tests run the server with; `env` overrides it. */
export const TEST_ENV = {
  PORT: "0",
  HOST: "127.0.0.1",
  LOG_LEVEL: "info",
  THROTTLE: "off",
  LOAD_SAMPLE: "off",
  // Cheaper argon2id so that suites with many logins stay quick; the algorithm is the same.
  PASSWORD_HASH_MEMORY_KIB: "4096",
  PASSWORD_HASH_TIME_COST: "1",
};

export async function startTestServer(env: Record<string, string> = {}, database?: TestDatabase): Promise<TestServer> {
  database ??= await createTestDatabase();
  const logs: string[] = [];
  const config = loadConfig({ ...TEST_ENV, ...database.env, ...env });
  const running = await startServer(config, createLogger(config.logLevel, (line) => void logs.push(line)));
  const base = running.url.href.replace(/\/$/, "");
  return {
    base,
    running,
    database,
    logs,
    request: (path, init = {}) => fetch(base + path, requestInit(init)),
    async stop() {
      await running.stop();
      await database!.drop();
    },
  };
}

/** A fetch init from the test shorthand: `token` becomes `Authorization: Token …`, `json` the body. */
export function requestInit(init: TestRequestInit): RequestInit {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Token ${init.token}`);
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers.set("content-type", "application/json");
  }
  return { ...init, headers, body };
}

/**
 * The routes of the app the server runs, as the app itself lists them: the same composition built
 * again on the server's database (it never listens). Building it starts services on the server's
 * change feed (the token index's load, the catalogue's import polling on the embedded database);
 * they are stopped again before this returns.
 */
export async function appRoutes(server: TestServer): Promise<{ method: string; path: string }[]> {
  const config = loadConfig({ ...TEST_ENV, ...server.database.env });
  const { app, services } = await buildApp(config, server.running.db, createLogger("silent"));
  try {
    return app.routes.map((route) => ({ method: route.method, path: route.path }));
  } finally {
    services.auth.stop();
    services.catalogue.stop();
  }
}

let counter = 0;
/** A username and email nobody else in the run has. */
export function uniqueUser(prefix = "user") {
  const suffix = `${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return { username: `${prefix}_${suffix}`, email: `${prefix}.${suffix}@example.com`, password: "correct horse battery" };
}

export async function registerUser(server: TestServer, user = uniqueUser()) {
  const response = await server.request("/account/register", { method: "POST", json: user });
  if (response.status !== 200) throw new Error(`register failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { token: string; user: { id: number } };
  return { ...user, id: body.user.id, token: body.token };
}
