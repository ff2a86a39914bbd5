// Hostile input, property-based (fast-check), against the running server: random JSON values,
// random bytes, huge and deeply nested bodies, odd headers, methods and paths on every route the app
// has (read from the app itself), and raw malformed HTTP on the socket. Whatever arrives: never a
// 5xx, never a hang (every request has a deadline), and a rejected request changes nothing (users,
// tokens, the session's token and profile are exactly as before).
//
// FUZZ_RUNS scales the number of runs (default 1 = the sizes below, chosen to keep this file well
// under a minute in both database modes).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import net from "node:net";
import { type TestServer, appRoutes, registerUser, startTestServer, uniqueUser } from "./support/server.ts";

const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const DEADLINE_MS = 5_000;
const BODY_LIMIT = 64 * 1024;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

let server: TestServer;
let routes: { method: string; path: string }[];
let session: { username: string; password: string; token: string };

interface Sent {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>;
  token?: boolean;
}

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

/** Sends with a deadline; a request that does not finish in time fails the property as a hang. */
async function send({ method, path, headers = {}, body, token }: Sent): Promise<Answer> {
  const allHeaders = new Headers(headers);
  if (token) allHeaders.set("authorization", `Token ${session.token}`);
  let response: Response;
  try {
    response = await fetch(server.base + path, {
      method,
      headers: allHeaders,
      body: ["GET", "HEAD"].includes(method.toUpperCase()) ? undefined : body,
      signal: AbortSignal.timeout(DEADLINE_MS),
      // @ts-expect-error Bun: streamed bodies need duplex
      duplex: body instanceof ReadableStream ? "half" : undefined,
    });
  } catch (error) {
    if ((error as Error).name === "TimeoutError") throw new Error(`hang: ${method} ${path} got no answer within ${DEADLINE_MS} ms`);
    throw error;
  }
  const text = await response.text();
  return { status: response.status, text, headers: response.headers };
}

/** What a rejected request must leave alone. */
async function state() {
  const [counts] = await server.running.db.sql<{ users: number; tokens: number }[]>`
    select (select count(*)::int from users) as users, (select count(*)::int from tokens) as tokens`;
  const profile = await send({ method: "GET", path: "/account/profile", token: true });
  return { ...counts, profile: `${profile.status} ${profile.text}` };
}

/** After an accepted request that ended the session (logout, deletion…), start a new one. */
async function ensureSession() {
  const profile = await send({ method: "GET", path: "/account/profile", token: true });
  if (profile.status === 200) return;
  const user = await registerUser(server, uniqueUser("fuzz"));
  session = { username: user.username, password: user.password, token: user.token };
}

/** The invariants every answer must keep; rejected answers must also have changed nothing. */
async function checkAnswer(sent: Sent, answer: Answer, before: Awaited<ReturnType<typeof state>>) {
  const where = `${sent.method} ${sent.path}`;
  if (answer.status >= 500) throw new Error(`${where} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  if (answer.status >= 400 && answer.text && sent.method !== "HEAD") {
    // Error bodies are the contract's JSON, never a stack trace or SQL.
    const body = JSON.parse(answer.text) as unknown;
    expect(typeof body).toBe("object");
    expect(answer.text).not.toMatch(/\bat .+:\d+:\d+|node_modules|select |insert into|postgres|TypeError|RangeError/i);
  }
  if (answer.status >= 400) {
    const after = await state();
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      throw new Error(`${where} was rejected (${answer.status}) but changed state: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
    }
  } else await ensureSession();
}

async function exchange(sent: Sent) {
  const before = await state();
  const answer = await send(sent);
  await checkAnswer(sent, answer, before);
  return answer;
}

const samplePath = (path: string) =>
  fc.constant(path).chain((p) =>
    p.includes(":")
      ? fc
          .oneof(fc.constantFrom("1", "36", "0", "-1", "2147483648", "01", "1e3", "%20", "abc", "9".repeat(40)), fc.string({ maxLength: 20 }).map(encodeURIComponent))
          .map((id) => p.replace(/:[^/]+/, id))
      : fc.constant(p),
  );

/** Values for the fields the routes read, plausible and not. */
const fieldValue = () =>
  fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.string({ maxLength: 40, unit: "grapheme" }),
    fc.constantFrom("", " ", "a", "correct horse battery", "x".repeat(1025), "user@example.com", "7", "11", "-1", "1.5", "\u0000", "a\u0000b", "a\nb", "\ud800", "x\udfff@example.com", "ǅ", "İ"),
    fc.string({ maxLength: 20, unit: "binary" }),
    fc.integer(),
    fc.double(),
  );

const bodyObject = () =>
  fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.record(
      { username: fieldValue(), email: fieldValue(), password: fieldValue(), id: fieldValue() },
      { requiredKeys: [] },
    ),
    // Aimed at the session's own account: a wrong password, the username in another case.
    fc.record({ username: fc.constant(null).map(() => session.username.toUpperCase()), password: fieldValue() }),
  );

const odd = {
  // Methods fetch sends as given (Bun's fetch turns other unknown ones into GET); the raw-socket
  // test sends any method token.
  method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "PROPFIND"),
  contentType: fc.constantFrom(
    undefined,
    "application/json",
    "application/json; charset=latin1",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=zz",
    "application/octet-stream",
    ";;;=",
    "application/json; boundary=\"",
  ),
  authorization: fc.oneof(
    fc.constantFrom("Token", "Token ", "Bearer", "Basic dXNlcjpwYXNz", "Token " + "0".repeat(64), "token  " + "a".repeat(64), "Token " + "A".repeat(64), "Token " + "a".repeat(63), "Token " + "a".repeat(65), "Digest x"),
    fc.string({ maxLength: 100 }).map((s) => s.replace(/[\r\n\0]/g, " ")),
    fc.string({ maxLength: 80 }).map((s) => `Token ${s.replace(/[\r\n\0]/g, "")}`),
  ),
};

beforeAll(async () => {
  server = await startTestServer({ LOAD_SAMPLE: "on", LOG_LEVEL: "info" });
  // The route list comes from the app itself: a second app on the same database, never listening.
  routes = await appRoutes(server);
  const user = await registerUser(server, uniqueUser("fuzz"));
  session = { username: user.username, password: user.password, token: user.token };
  console.log(`fuzz: seed ${SEED} (FUZZ_SEED to replay), ${routes.length} routes`);
}, 60_000);

afterAll(async () => {
  await server?.stop();
}, 60_000);

describe("hostile input: never a 5xx, never a hang, rejected requests change nothing", () => {
  test("the route list covers the whole contract", () => {
    const paths = new Set(routes.map((r) => r.path));
    for (const path of ["/account/register", "/account/login", "/account/logout", "/account/logoutall", "/account/profile", "/account/delete", "/account/get_pictures", "/account/set_picture", "/acount/set_picture", "/anime/entry/:id", "/anime/random", "/health", "/ready"]) {
      expect(paths).toContain(path);
    }
  });

  test("random JSON bodies on every route, with and without a token, any method and content type", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes).chain((route) => fc.tuple(fc.constant(route), samplePath(route.path))),
        fc.oneof(fc.constant(undefined), odd.method),
        bodyObject(),
        fc.boolean(),
        odd.contentType,
        async ([route, path], method, value, token, contentType) => {
          await exchange({
            method: method ?? route.method,
            path,
            body: JSON.stringify(value),
            token,
            headers: contentType ? { "content-type": contentType } : {},
          });
        },
      ),
      { numRuns: runs(250), seed: SEED },
    );
  }, 60_000);

  test("random bytes as bodies", async () => {
    const posts = routes.filter((r) => r.method !== "GET");
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...posts),
        fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.string({ unit: "binary", maxLength: 200 }).map((s) => new TextEncoder().encode(s))),
        fc.boolean(),
        odd.contentType,
        async (route, bytes, token, contentType) => {
          await exchange({ method: route.method, path: route.path.replace(":id", "1"), body: bytes, token, headers: contentType ? { "content-type": contentType } : {} });
        },
      ),
      { numRuns: runs(120), seed: SEED },
    );
  }, 60_000);

  test("odd Authorization headers, odd headers, odd query strings", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        odd.authorization,
        fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), fc.string({ maxLength: 60 }).map((s) => s.replace(/[\r\n\0]/g, "")), { maxKeys: 4 }),
        fc.option(fc.webQueryParameters(), { nil: undefined }),
        async (route, authorization, extra, query) => {
          const path = route.path.replace(":id", "1") + (query ? `?${query}` : "");
          await exchange({ method: route.method, path, headers: { authorization, ...extra }, body: route.method === "GET" ? undefined : "{}" });
        },
      ),
      { numRuns: runs(150), seed: SEED },
    );
    // The session's token still works after all of that.
    expect((await send({ method: "GET", path: "/account/profile", token: true })).status).toBe(200);
  }, 60_000);

  test("random paths and methods: 404 or 405, never worse", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.webPath(),
          fc.constantFrom(...routes).map((r) => r.path.replace(":id", "1")).chain((p) => fc.constantFrom(p, `${p}/`, `${p}//x`, p.toUpperCase(), `${p}%00`, `${p}/..`, `/${p}`, `${p}.json`)),
          fc.string({ maxLength: 60, unit: "grapheme" }).map((s) => `/${encodeURIComponent(s)}`),
        ),
        odd.method,
        fc.boolean(),
        async (path, method, token) => {
          const answer = await exchange({ method, path, token, body: method === "GET" || method === "HEAD" ? undefined : "{}" });
          if (method !== "OPTIONS" && method !== "HEAD" && answer.status >= 400) expect([400, 401, 404, 405, 413]).toContain(answer.status);
        },
      ),
      { numRuns: runs(150), seed: SEED },
    );
  }, 60_000);

  test("bodies around and far beyond the limit, with a Content-Length and streamed: 413 above the limit", async () => {
    const sizes = [BODY_LIMIT - 1, BODY_LIMIT, BODY_LIMIT + 1, 4 * BODY_LIMIT, 40 * BODY_LIMIT];
    for (const size of sizes) {
      for (const route of ["/account/register", "/account/login", "/account/set_picture"]) {
        // A JSON string of `size` bytes in a field: valid JSON, too big past the limit.
        const text = `{"username":"${"a".repeat(Math.max(0, size - 30))}","password":"x"}`.slice(0, size);
        const answer = await exchange({ method: "POST", path: route, body: text, token: true, headers: { "content-type": "application/json" } });
        if (size > BODY_LIMIT) expect(answer.status).toBe(413);
        const streamed = new ReadableStream<Uint8Array>({
          start(controller) {
            const bytes = new TextEncoder().encode(text);
            for (let at = 0; at < bytes.length; at += 16 * 1024) controller.enqueue(bytes.subarray(at, at + 16 * 1024));
            controller.close();
          },
        });
        const chunked = await exchange({ method: "POST", path: route, body: streamed, token: true, headers: { "content-type": "application/json" } });
        if (size > BODY_LIMIT) expect(chunked.status).toBe(413);
      }
    }
  }, 60_000);

  test("deeply nested bodies: 400, not a stack overflow", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/account/register", "/account/login", "/account/set_picture", "/acount/set_picture", "/account/logout"),
        fc.constantFrom("username", "password", "id", "email"),
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom("[", '{"a":'),
        async (path, field, depth, open) => {
          const close = open === "[" ? "]" : "}";
          const body = `{"${field}":${open.repeat(depth)}1${close.repeat(depth)}}`;
          const answer = await exchange({ method: "POST", path, body, token: true, headers: { "content-type": "application/json" } });
          expect(answer.status).toBeLessThan(500);
        },
      ),
      { numRuns: runs(40), seed: SEED },
    );
    // Deeply nested as the whole body, too.
    for (const depth of [100, 10_000, 30_000]) {
      const answer = await exchange({ method: "POST", path: "/account/login", body: "[".repeat(depth) + "]".repeat(depth) });
      expect(answer.status).toBe(400);
    }
  }, 60_000);

  test("malformed HTTP on the raw socket: an answer that is not 5xx, or a closed connection, within the deadline", async () => {
    const port = Number(new URL(server.base).port);
    const rawExchange = (bytes: Uint8Array) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1");
        const chunks: Buffer[] = [];
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`hang: no answer and no close within ${DEADLINE_MS} ms for ${JSON.stringify(Buffer.from(bytes).toString("latin1").slice(0, 200))}`));
        }, DEADLINE_MS);
        socket.on("data", (chunk) => chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk)); // a Buffer: no encoding is set
        socket.on("error", () => {});
        socket.on("close", () => {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString("latin1"));
        });
        socket.write(bytes, () => setTimeout(() => socket.end(), 50));
      });
    const token = () => fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
    const headerValue = fc.string({ unit: "binary-ascii", maxLength: 60 }).map((s) => s.replace(/[\r\n]/g, ""));
    const request = fc
      .record({
        method: fc.oneof(odd.method, token(), fc.constantFrom("TRACE", "CONNECT", "FOO", "get", "Post", "")),
        target: fc.oneof(
          fc.constantFrom(...routes).map((r) => r.path.replace(":id", "1")),
          fc.constantFrom("*", "http://127.0.0.1/health", "/%zz", "/anime/entry/%E0%A4%A", "//", "/account/../account/profile", ""),
          fc.string({ unit: "binary-ascii", maxLength: 40 }).map((s) => "/" + s.replace(/[\s]/g, "")),
        ),
        version: fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1 extra", "", "HTTP/9"),
        headers: fc.array(fc.tuple(fc.oneof(token(), fc.constantFrom("Content-Length", "Transfer-Encoding", "Authorization", "Host", "Content-Type")), headerValue), { maxLength: 6 }),
        body: fc.oneof(fc.constant(""), fc.string({ unit: "binary", maxLength: 300 }), fc.jsonValue().map((v) => JSON.stringify(v))),
        contentLength: fc.oneof(fc.constant("exact"), fc.constant("none"), fc.constant("chunked"), fc.integer({ min: -5, max: 100_000 }).map(String), fc.constantFrom("abc", "1, 2", " 3", "99999999999999999999")),
      })
      .map(({ method, target, version, headers, body, contentLength }) => {
        const lines = [`${method} ${target} ${version}`.trim(), "Host: 127.0.0.1", ...headers.map(([name, value]) => `${name}: ${value}`)];
        const bodyBytes = Buffer.from(body, "utf8");
        let payload: Buffer = bodyBytes;
        if (contentLength === "exact") lines.push(`Content-Length: ${bodyBytes.length}`);
        else if (contentLength === "chunked") {
          lines.push("Transfer-Encoding: chunked");
          payload = Buffer.concat([Buffer.from(`${bodyBytes.length.toString(16)}\r\n`), bodyBytes, Buffer.from("\r\n0\r\n\r\n")]);
        } else if (contentLength !== "none") lines.push(`Content-Length: ${contentLength}`);
        lines.push("Connection: close");
        return new Uint8Array(Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), payload]));
      });
    await fc.assert(
      fc.asyncProperty(fc.oneof({ arbitrary: request, weight: 4 }, { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 400 }), weight: 1 }), async (bytes) => {
        const before = await state();
        const answer = await rawExchange(bytes);
        for (const response of answer.split(/(?=HTTP\/1\.[01] \d{3})/).filter((part) => /^HTTP\/1\.[01] \d{3}/.test(part))) {
          const status = Number(response.slice(9, 12));
          // Bun's HTTP parser answers some request lines it cannot read (a version other than
          // HTTP/1.0 or 1.1, a NUL in the target) with 505 before the app sees them; those answers
          // lack the headers the app puts on every response. The app itself never answers 5xx here.
          const fromApp = /\r\nx-content-type-options: nosniff\r\n/i.test(response.split("\r\n\r\n", 1)[0] + "\r\n");
          if (status >= 500 && (fromApp || status !== 505)) throw new Error(`raw request answered ${status}: ${response.slice(0, 300)}`);
        }
        // A raw request may have been a valid one that changed something (a logout…); only check
        // rejected ones, which is what their answer says.
        const statuses = (answer.match(/HTTP\/1\.[01] (\d{3})/g) ?? []).map((line) => Number(line.slice(-3)));
        if (statuses.length && statuses.every((status) => status >= 400)) {
          const after = await state();
          expect(after).toEqual(before);
        } else await ensureSession();
      }),
      { numRuns: runs(150), seed: SEED },
    );
  }, 60_000);

  test("the server is healthy afterwards and logged no unhandled error", async () => {
    expect((await send({ method: "GET", path: "/health" })).status).toBe(200);
    expect((await send({ method: "GET", path: "/ready" })).status).toBe(200);
    await ensureSession();
    expect((await send({ method: "GET", path: "/account/profile", token: true })).status).toBe(200);
    const problems = server.logs.filter((line) => /"level":"error"|"status":5\d\d/.test(line));
    expect(problems).toEqual([]);
  });
});
