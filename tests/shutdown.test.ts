// Operating the real process, `bun src/main.ts`, as a supervisor would:
//  - graceful shutdown: SIGTERM while a slow request (a login whose argon2id costs about a second) is
//    in flight lets it finish with its normal answer, refuses new connections at once, and exits 0
//    well before SHUTDOWN_TIMEOUT;
//  - structured logs: every stdout line is one JSON object with time, level and msg; requests are
//    logged with method, path, status and duration; tokens and passwords never appear.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { type TestDatabase, createTestDatabase } from "./support/db.ts";
import { TEST_ENV, uniqueUser } from "./support/server.ts";

const ROOT = resolve(import.meta.dir, "..");
const SHUTDOWN_TIMEOUT_MS = 15_000;
/** argon2id parameters that make one hash or verification take roughly a second. */
const SLOW_HASH = { PASSWORD_HASH_MEMORY_KIB: "65536", PASSWORD_HASH_TIME_COST: "15" };

interface LogLine {
  time: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** Collects a stream's lines as they come; waits for one that matches. */
class Lines {
  readonly all: string[] = [];
  private waiters: { match: (line: string) => boolean; done: (line: string) => void }[] = [];
  readonly ended: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.ended = this.read(stream);
  }

  private async read(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        this.push(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    }
    if (pending) this.push(pending);
  }

  private push(line: string) {
    this.all.push(line);
    for (const waiter of [...this.waiters]) {
      if (waiter.match(line)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.done(line);
      }
    }
  }

  waitFor(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const found = this.all.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no matching line in ${timeoutMs} ms; got:\n${this.all.join("\n")}`)), timeoutMs);
      this.waiters.push({ match, done: (line) => (clearTimeout(timer), done(line)) });
    });
  }
}

const parse = (line: string): LogLine | undefined => {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
};

/** Resolves to "connected" or the connection error's code. */
function tryConnect(port: number): Promise<string> {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), done("connected")));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

let database: TestDatabase;
let proc: Subprocess<"ignore", "pipe", "pipe">;
let stdout: Lines;
let stderr: Lines;
let base: URL;

beforeAll(async () => {
  database = await createTestDatabase();
  proc = Bun.spawn(["bun", "src/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      ...TEST_ENV,
      ...database.env,
      ...SLOW_HASH,
      SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS}ms`,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  stdout = new Lines(proc.stdout);
  stderr = new Lines(proc.stderr);
  const listening = parse(await stdout.waitFor((line) => parse(line)?.msg === "listening", 55_000))!;
  base = new URL(listening.url as string);
}, 60_000);

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
  await database?.drop();
}, 60_000);

const user = uniqueUser("shutdown");
let token = "";

describe("the server process", () => {
  test("logs `listening` with its URL as JSON on stdout", () => {
    expect(base.hostname).toBe("127.0.0.1");
    expect(Number(base.port)).toBeGreaterThan(0);
  });

  test("SIGTERM lets an in-flight request finish, refuses new connections, and exits 0 promptly", async () => {
    const registered = await fetch(new URL("/account/register", base), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(user),
    });
    expect(registered.status).toBe(200);
    token = ((await registered.json()) as { token: string }).token;

    // Two connections at once: the login reuses one, the other stays idle (keep-alive) through the
    // shutdown and must not hold the exit up.
    const probes = await Promise.all([1, 2].map(() => fetch(new URL("/health", base))));
    expect(probes.map((response) => response.status)).toEqual([200, 200]);
    await Promise.all(probes.map((response) => response.arrayBuffer()));

    const sent = performance.now();
    const login = fetch(new URL("/account/login", base), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: user.username, password: user.password }),
    }).then(async (response) => ({ at: performance.now(), status: response.status, body: (await response.json()) as Record<string, unknown> }));
    let loginSettled = false;
    void login.finally(() => (loginSettled = true)).catch(() => {});
    await Bun.sleep(250); // the login is now in the server, verifying the password

    const signalled = performance.now();
    proc.kill("SIGTERM");
    await stdout.waitFor((line) => parse(line)?.msg === "shutting down", 5_000);
    // The listener closes right after that line is written; allow for the process being scheduled.
    let refusal = "";
    for (const started = performance.now(); performance.now() - started < 1_000; await Bun.sleep(10)) {
      refusal = await tryConnect(Number(base.port));
      if (refusal === "ECONNREFUSED") break;
    }
    expect(refusal).toBe("ECONNREFUSED");
    expect(loginSettled).toBeFalse(); // new connections were refused while the login was still being served

    const answered = await login;
    expect(answered.at).toBeGreaterThan(signalled); // it really was in flight when the signal came
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ success: true, token: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(answered.at - sent).toBeGreaterThan(500); // the slow request was slow

    const code = await Promise.race([proc.exited, Bun.sleep(SHUTDOWN_TIMEOUT_MS - 5_000).then(() => "still running")]);
    expect(code).toBe(0);
    expect(performance.now() - answered.at).toBeLessThan(5_000);
    await stdout.ended;
    await stderr.ended;

    const shutdown = parse(stdout.all.find((line) => parse(line)?.msg === "shutting down")!)!;
    expect(shutdown).toMatchObject({ level: "info", signal: "SIGTERM" });
    expect(stdout.all.some((line) => line.includes("did not finish in time"))).toBeFalse();
  }, 60_000);

  test("wrote only JSON lines, logged each request with method, path, status and duration, and no secrets", () => {
    const lines = stdout.all.filter((line) => line.trim() !== "");
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      const entry = parse(line);
      expect(entry, line).toBeObject();
      expect(Number.isNaN(Date.parse(entry!.time)), line).toBeFalse();
      expect(["debug", "info", "warn", "error"]).toContain(entry!.level);
      expect(entry!.msg).toBeString();
    }

    const requests = lines.map(parse).filter((entry) => entry?.msg === "request");
    const login = requests.find((entry) => entry!.path === "/account/login")!;
    expect(login).toMatchObject({ level: "info", method: "POST", path: "/account/login", status: 200 });
    expect(login.duration_ms).toBeGreaterThan(200);
    expect(requests.find((entry) => entry!.path === "/account/register")).toMatchObject({ method: "POST", status: 200 });

    const everything = stdout.all.join("\n") + stderr.all.join("\n");
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(user.password);
  });
});
