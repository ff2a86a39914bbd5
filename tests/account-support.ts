// Helpers shared by the account and token suites (account*.test.ts, tokens*.test.ts): one HTTP call
// read into status, headers and parsed body, the contract's 401 checks, and the after-the-fact
// checks on a server's log (no 5xx, no secret).
import { expect } from "bun:test";
import type { TestRequestInit, TestServer } from "./support/server.ts";

export interface Answer {
  status: number;
  headers: Headers;
  /** The parsed JSON body (undefined when the body is empty or not JSON). */
  body: any;
  text: string;
}


/** One request; every answer in these suites must be below 500, so that is checked right here. */
export async function call(server: TestServer, path: string, init: TestRequestInit = {}): Promise<Answer> {
  const response = await server.request(path, init);
  const text = await response.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  expect(response.status, `${init.method ?? "GET"} ${path} answered ${response.status}: ${text.slice(0, 200)}`).toBeLessThan(500);
  return { status: response.status, headers: response.headers, body, text };
}

export const post = (server: TestServer, path: string, json?: unknown, init: TestRequestInit = {}) =>
  call(server, path, { ...init, method: "POST", ...(json === undefined ? {} : { json }) });

export const NOT_PROVIDED = "Authentication credentials were not provided.";
export const INVALID_TOKEN = "Invalid token.";

/** The contract's 401: the detail, and `WWW-Authenticate: Token`. */
export function expect401(answer: Answer, detail: string = INVALID_TOKEN) {
  expect({ status: answer.status, body: answer.body }).toEqual({ status: 401, body: { detail } });
  expect(answer.headers.get("www-authenticate")).toBe("Token");
}

export function expectOk(answer: Answer, body: unknown = { success: true }) {
  expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body });
}

export const profile = (server: TestServer, token: string) => call(server, "/account/profile", { token });

/** The token still authenticates (GET /account/profile answers 200). */
export async function expectTokenWorks(server: TestServer, token: string) {
  const answer = await profile(server, token);
  expect(answer.status).toBe(200);
  return answer;
}

export async function expectTokenRevoked(server: TestServer, token: string) {
  expect401(await profile(server, token));
}

export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;
export const ISO_UTC_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function sha256Hex(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

interface LogLine {
  level: string;
  msg: string;
  status?: number;
  [key: string]: unknown;
}

export function logLines(server: TestServer): LogLine[] {
  return server.logs.map((line) => JSON.parse(line) as LogLine);
}

/** Over the server's whole life: no request answered 5xx, nothing logged as an error. */
export function expectNoServerErrors(server: TestServer) {
  const lines = logLines(server);
  expect(lines.filter((line) => line.msg === "request").length).toBeGreaterThan(0);
  expect(lines.filter((line) => line.level === "error")).toEqual([]);
  expect(lines.filter((line) => line.msg === "request" && (line.status ?? 200) >= 500)).toEqual([]);
}

/** No token or password the suite used ever reached the log. */
export function expectLogFreeOf(server: TestServer, secrets: Iterable<string>) {
  const log = server.logs.join("");
  for (const secret of secrets) expect(log.includes(secret), `a secret reached the log: ${secret.slice(0, 8)}…`).toBe(false);
}

// The contract's field messages (API.md, "Validation messages"), written out once for the suites.
export const REQUIRED = "This field is required.";
export const BLANK = "This field may not be blank.";
export const NOT_STRING = "Not a valid string.";
export const BAD_EMAIL = "Enter a valid email address.";
export const BAD_USERNAME = "Username may contain only letters, digits, _ and -.";
export const TOO_SHORT = "This password is too short. It must contain at least 8 characters.";
export const USERNAME_TAKEN = "user with this username already exists.";
export const EMAIL_TAKEN = "user with this email already exists.";
export const WRONG_PASSWORD = "Wrong password.";
export const maxLength = (n: number) => `Ensure this field has no more than ${n} characters.`;
