// The OpenAPI document at /swagger/json: valid OpenAPI 3 (checked by @apidevtools/swagger-parser), and
// true to the server: every route the app serves is in it (except the misspelt /acount/set_picture
// and the docs themselves), with every status the contract lets it answer, the security requirement
// exactly where the server asks for a token, and examples and real answers that fit the schemas.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import packageJson from "../package.json";
import { type TestRequestInit, type TestServer, appRoutes as readAppRoutes, registerUser, startTestServer } from "./support/server.ts";

type Json = any;

let server: TestServer;
let doc: Json;
/** "METHOD /openapi/{path}" of every route the app serves, as the app itself lists them. */
let appRoutes: { method: string; path: string; elysiaPath: string }[];

beforeAll(async () => {
  server = await startTestServer({ LOAD_SAMPLE: "on" });
  const response = await fetch(`${server.base}/swagger/json`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("application/json");
  doc = await response.json();

  // The same composition the running server uses, built again to read its route table.
  appRoutes = (await readAppRoutes(server))
    .filter((route) => route.method !== "OPTIONS" && !route.path.startsWith("/swagger") && route.path !== "/acount/set_picture")
    .map((route) => ({ method: route.method, elysiaPath: route.path, path: route.path.replace(/:([^/]+)/g, "{$1}") }));
}, 60_000);

afterAll(async () => {
  await server?.stop();
}, 60_000);

const operation = (method: string, path: string): Json => doc.paths?.[path]?.[method.toLowerCase()];
const allOperations = (): [string, string, Json][] =>
  Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => [method.toUpperCase(), path, op] as [string, string, Json]),
  );

/**
 * How the live server answers this route without a token (401: it asks for one). A route with a body
 * gets its documented example, so that a validation answer cannot hide the 401.
 */
async function answersUnauthenticated(method: string, elysiaPath: string, op: Json): Promise<number> {
  const path = elysiaPath.replace(/:[^/]+/g, "1");
  const example = op?.requestBody?.content?.["application/json"]?.example;
  const response = await fetch(server.base + path, { method, ...(example === undefined ? {} : { body: JSON.stringify(example) }) });
  await response.arrayBuffer();
  return response.status;
}

describe("the document", () => {
  test("passes a real OpenAPI 3 validator", async () => {
    const api = (await SwaggerParser.validate(structuredClone(doc))) as { openapi?: string };
    expect(api.openapi).toStartWith("3.");
  });

  test("has the title, package.json's version, the credit for the anime data, and the three tags", () => {
    expect(doc.info.title).toBe("Lumotist API");
    expect(doc.info.version).toBe(packageJson.version);
    for (const text of ["anime-offline-database", "ODbL 1.0", "DbCL 1.0"]) expect(doc.info.description).toContain(text);
    const tags = (doc.tags as { name: string; description: string }[]).map((tag) => tag.name);
    expect(tags).toEqual(expect.arrayContaining(["account", "anime", "health"]));
    expect(doc.tags.find((tag: Json) => tag.name === "anime").description).toContain("ODbL 1.0");
  });

  test("declares the Authorization: Token apiKey scheme and tells users to type `Token <key>`", () => {
    const schemes = doc.components.securitySchemes;
    const [name] = Object.keys(schemes);
    expect(Object.keys(schemes)).toHaveLength(1);
    if (name === undefined) throw new Error("no security scheme");
    expect(schemes[name]).toMatchObject({ type: "apiKey", in: "header", name: "Authorization" });
    expect(schemes[name].description).toContain("Token <key>");
  });

  test("leaves out the misspelt /acount/set_picture and the docs' own routes", () => {
    const paths = Object.keys(doc.paths);
    expect(paths).not.toContain("/acount/set_picture");
    expect(paths.filter((path) => path.startsWith("/swagger"))).toEqual([]);
    expect(JSON.stringify(doc)).not.toContain("/acount/");
  });
});

describe("every route the server answers", () => {
  test("the app has the routes of the contract (the list below is not empty by accident)", () => {
    const names = appRoutes.map((route) => `${route.method} ${route.path}`);
    expect(names).toEqual(
      expect.arrayContaining([
        "GET /health",
        "GET /ready",
        "POST /account/register",
        "POST /account/login",
        "POST /account/logout",
        "POST /account/logoutall",
        "GET /account/profile",
        "POST /account/delete",
        "DELETE /account/delete",
        "GET /account/get_pictures",
        "POST /account/set_picture",
        "GET /anime/entry/{id}",
        "GET /anime/random",
        "GET /list",
        "GET /list/random",
        "GET /list/stats",
        "POST /list/import",
        "GET /list/export",
        "GET /list/{anime_id}",
        "PUT /list/{anime_id}",
        "PATCH /list/{anime_id}",
        "DELETE /list/{anime_id}",
        "GET /account/settings",
        "POST /account/settings",
        "GET /users/{username}/list",
        "GET /users/{username}/list/stats",
        "GET /anime/search",
        "GET /anime/entry/{id}/details",
        "GET /anime/entries",
        "GET /anime/lookup",
      ]),
    );
  });

  test("is in the document, with a summary and a known tag, and nothing else is", () => {
    const tags = new Set((doc.tags as { name: string }[]).map((tag) => tag.name));
    for (const { method, path } of appRoutes) {
      const op = operation(method, path);
      expect(op, `${method} ${path} is documented`).toBeDefined();
      expect(op.summary, `${method} ${path} has a summary`).toBeString();
      expect(op.summary.length).toBeGreaterThan(3);
      expect(op.tags?.length, `${method} ${path} has a tag`).toBeGreaterThan(0);
      for (const tag of op.tags) expect(tags.has(tag), `${method} ${path}: tag ${tag} is declared`).toBeTrue();
    }
    const served = new Set(appRoutes.map((route) => `${route.method} ${route.path}`));
    for (const [method, path] of allOperations()) expect(served.has(`${method} ${path}`), `${method} ${path} is served`).toBeTrue();
  });

  test("documents every status it can answer, each with a JSON schema and a description", () => {
    const settingsRoutes = ["POST /account/change_password", "POST /account/change_username", "POST /account/change_email"];
    const bodyRoutes = new Set([
      "POST /account/register",
      "POST /account/login",
      "POST /account/set_picture",
      ...settingsRoutes,
      "POST /list/import",
      "PUT /list/{anime_id}",
      "PATCH /list/{anime_id}",
      "POST /account/settings",
    ]);
    /** Statuses a list route answers beyond the general rules: 404 (not on the list, invalid page), 400 for query parameters, 201 when created. */
    const listStatuses: Record<string, string[]> = {
      "GET /list": ["400", "404"],
      "GET /list/random": ["400", "404"],
      "GET /list/{anime_id}": ["404"],
      "PUT /list/{anime_id}": ["201", "404"],
      "PATCH /list/{anime_id}": ["404"],
      "DELETE /list/{anime_id}": ["404"],
      "GET /users/{username}/list": ["400", "404"],
      "GET /users/{username}/list/stats": ["404"],
    };
    const throttled = new Set(["POST /account/register", "POST /account/login", ...settingsRoutes]);
    const queryRoutes = new Set(["GET /anime/search", "GET /anime/random", "GET /anime/entries", "GET /anime/lookup"]);
    const taggedRoutes = new Set(["GET /anime/entry/{id}", "GET /anime/entry/{id}/details", "GET /anime/search", "GET /anime/entries", "GET /anime/lookup"]);
    const notFoundRoutes = new Set(["DELETE /account/sessions/{id}"]);
    const protectedRoutes = new Set([
      "POST /account/logout",
      "POST /account/logoutall",
      "GET /account/profile",
      "POST /account/delete",
      "DELETE /account/delete",
      "GET /account/get_pictures",
      "POST /account/set_picture",
      ...settingsRoutes,
      "GET /account/sessions",
      "DELETE /account/sessions/{id}",
      "GET /account/export",
      "GET /list",
      "GET /list/random",
      "GET /list/stats",
      "POST /list/import",
      "GET /list/export",
      "GET /list/{anime_id}",
      "PUT /list/{anime_id}",
      "PATCH /list/{anime_id}",
      "DELETE /list/{anime_id}",
      "GET /account/settings",
      "POST /account/settings",
    ]);
    for (const { method, path } of appRoutes) {
      const key = `${method} ${path}`;
      const expected = ["200", "500"]; // API.md: any unexpected error is a 500 with a detail
      if (key !== "GET /health") expected.push("503"); // everything else may need the database
      if (protectedRoutes.has(key)) expected.push("401");
      if (bodyRoutes.has(key)) expected.push("400", "413");
      if (throttled.has(key)) expected.push("429");
      if ((path.startsWith("/anime/") && key !== "GET /anime/entries") || notFoundRoutes.has(key)) expected.push("404");
      expected.push(...(listStatuses[key] ?? []));
      if (queryRoutes.has(key)) expected.push("400");
      if (taggedRoutes.has(key)) expected.push("304");
      const responses = operation(method, path).responses;
      expect(Object.keys(responses).sort(), key).toEqual(expected.sort());
      for (const [status, response] of Object.entries(responses as Record<string, Json>)) {
        if (status === "304") {
          expect(response.content, `${key} 304 has no body`).toBeUndefined();
          expect(response.headers?.ETag, `${key} 304 names its ETag`).toBeDefined();
          expect(responses["200"].headers?.ETag, `${key} 200 names its ETag`).toBeDefined();
          continue;
        }
        expect(response.description, `${key} ${status} description`).toBeString();
        // The list's export is the one answer that is not JSON: the MyAnimeList XML format.
        const mediaType = key === "GET /list/export" && status === "200" ? "application/xml" : "application/json";
        expect(Object.keys(response.content ?? {}), `${key} ${status} is ${mediaType} only`).toEqual([mediaType]);
        expect(response.content[mediaType].schema, `${key} ${status} has a schema`).toBeObject();
        expect(response.examples, `${key} ${status}: examples belong in the media type`).toBeUndefined();
      }
    }
  });

  test("the list import takes the export file as XML or gzip, and the export answers XML", () => {
    const importBody = operation("POST", "/list/import").requestBody;
    expect(Object.keys(importBody.content)).toEqual(["application/xml", "text/xml", "application/gzip"]);
    expect(importBody.content["application/xml"].example).toContain("<myanimelist>");
    expect(operation("POST", "/list/import").responses["413"].description).toContain("16 MiB");
    expect(operation("GET", "/list/export").responses["200"].content["application/xml"].schema.type).toBe("string");
    expect((doc.tags as { name: string }[]).map((tag) => tag.name)).toContain("list");
  });

  test("401 answers carry WWW-Authenticate, 429 and the database's 503 carry Retry-After", () => {
    for (const [method, path, op] of allOperations()) {
      if (op.responses["401"]) expect(op.responses["401"].headers?.["WWW-Authenticate"], `${method} ${path}`).toBeDefined();
      if (op.responses["429"]) expect(op.responses["429"].headers?.["Retry-After"], `${method} ${path}`).toBeDefined();
      if (op.responses["503"] && path !== "/ready") expect(op.responses["503"].headers?.["Retry-After"], `${method} ${path}`).toBeDefined();
    }
  });

  test("carries the security requirement exactly when the live server asks for a token", async () => {
    const schemeName = Object.keys(doc.components.securitySchemes)[0];
    if (schemeName === undefined) throw new Error("no security scheme");
    for (const { method, path, elysiaPath } of appRoutes) {
      const op = operation(method, path);
      const status = await answersUnauthenticated(method, elysiaPath, op);
      if (status === 401) {
        expect(op.security, `${method} ${path} needs a token`).toEqual([{ [schemeName]: [] }]);
      } else {
        expect(op.security ?? [], `${method} ${path} is public (answered ${status})`).toEqual([]);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Schemas against examples and against real answers. A small checker for the OpenAPI 3.0 schema subset
// the document uses; it fails on any keyword it does not know, so it cannot silently pass.

const KNOWN = new Set([
  "type", "properties", "required", "additionalProperties", "items", "enum", "anyOf", "oneOf", "nullable", "pattern",
  "minimum", "maximum", "maxLength", "minLength", "format", "description", "example", "default", "title",
]);

function problems(schema: Json, value: Json, at = "$"): string[] {
  const unknown = Object.keys(schema).filter((key) => !KNOWN.has(key));
  if (unknown.length) return [`${at}: unknown keywords ${unknown.join(", ")}`];
  if (value === null) return schema.nullable ? [] : [`${at}: null but not nullable`];
  if (schema.anyOf || schema.oneOf) {
    const members: Json[] = schema.anyOf ?? schema.oneOf;
    const passing = members.filter((member) => problems(member, value, at).length === 0).length;
    if (schema.oneOf ? passing !== 1 : passing === 0) return [`${at}: matches ${passing} of ${members.length} alternatives`];
  }
  const out: string[] = [];
  const type = schema.type;
  const actual = Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
  if (type && !(type === actual || (type === "number" && actual === "integer"))) return [`${at}: ${actual} is not ${type}`];
  if (schema.enum && !schema.enum.includes(value)) out.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (schema.pattern && !new RegExp(schema.pattern).test(value)) out.push(`${at}: does not match ${schema.pattern}`);
  if (schema.minimum !== undefined && value < schema.minimum) out.push(`${at}: below minimum`);
  if (schema.maxLength !== undefined && value.length > schema.maxLength) out.push(`${at}: too long`);
  if (schema.format === "date-time" && Number.isNaN(Date.parse(value))) out.push(`${at}: not a date-time`);
  if (actual === "object") {
    for (const name of schema.required ?? []) if (!(name in value)) out.push(`${at}.${name}: missing`);
    for (const [name, item] of Object.entries(value)) {
      const sub = schema.properties?.[name] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
      if (sub) out.push(...problems(sub, item, `${at}.${name}`));
      else if (schema.additionalProperties === false) out.push(`${at}.${name}: not allowed`);
    }
  }
  if (actual === "array" && schema.items) (value as Json[]).forEach((item, i) => out.push(...problems(schema.items, item, `${at}[${i}]`)));
  return out;
}

function examplesOf(media: Json): [string, Json][] {
  if (media.example !== undefined) return [["example", media.example]];
  return Object.entries(media.examples ?? {}).map(([name, example]: [string, Json]) => [name, example.value]);
}

describe("schemas and examples", () => {
  test("integers are plain integers, not Elysia's string-or-integer union", () => {
    const user = operation("POST", "/account/register").responses["200"].content["application/json"].schema.properties.user;
    expect(user.properties.id).toEqual({ type: "integer" });
    const anime = operation("GET", "/anime/random").responses["200"].content["application/json"].schema.properties;
    expect(anime.year).toEqual({ type: "integer", nullable: true });
    expect(JSON.stringify(doc)).not.toContain('"format":"integer"');
  });

  test("every request and response has an example, and every example fits its schema", () => {
    let checked = 0;
    for (const [method, path, op] of allOperations()) {
      const medias: [string, Json][] = Object.entries(op.responses)
        .filter(([status]) => status !== "304")
        .map(([status, r]: [string, Json]) => [status, r.content["application/json"] ?? r.content["application/xml"]]);
      for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Record<string, Json>)) {
        if (media.schema?.format !== "binary") medias.push([`request ${type}`, media]); // a gzip file has no text example
      }
      for (const [where, media] of medias) {
        const examples = examplesOf(media);
        expect(examples.length, `${method} ${path} ${where} has an example`).toBeGreaterThan(0);
        for (const [name, value] of examples) {
          expect(problems(media.schema, value), `${method} ${path} ${where} example ${name}`).toEqual([]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  test("the contract's examples are the ones shown", () => {
    const media = (method: string, path: string, status: string) => operation(method, path).responses[status].content["application/json"];
    expect(media("GET", "/anime/entry/{id}", "200").example).toMatchObject({ id: 18562, title: "Tokyo Ghoul", year: 2014 });
    expect(media("GET", "/anime/entry/{id}", "404").example).toEqual({ detail: "Not found." });
    expect(examplesOf(media("GET", "/account/profile", "401")).map(([, v]) => v.detail)).toEqual([
      "Authentication credentials were not provided.",
      "Invalid token.",
    ]);
    expect(media("POST", "/account/register", "413").example).toEqual({ detail: "Request body too large." });
    expect(media("POST", "/account/login", "429").example.detail).toMatch(/^Request was throttled\. Expected available in \d+ seconds\.$/);
    expect(media("GET", "/account/profile", "503").example).toEqual({ detail: "Service temporarily unavailable." });
    expect(examplesOf(media("POST", "/account/login", "400")).map(([, v]) => v)).toContainEqual({
      non_field_errors: ["Unable to log in with provided credentials."],
    });
    expect(operation("POST", "/account/register").requestBody.content["application/json"].example).toEqual({
      username: "test",
      email: "test@test.com",
      password: "correct horse",
    });
    expect(media("GET", "/health", "200").example).toMatchObject({ status: "ok", token_index: { ready: true } });
    expect(media("GET", "/ready", "200").example).toEqual({ status: "ready" });
    expect(media("GET", "/ready", "503").example).toEqual({ status: "unavailable" });
  });

  test("real answers of the server fit the documented schemas", async () => {
    const user = await registerUser(server);
    const schemaFor = (method: string, path: string, status: number) =>
      operation(method, path).responses[String(status)].content["application/json"].schema;
    const calls: [string, string, string, TestRequestInit, number][] = [
      ["GET", "/health", "/health", {}, 200],
      ["GET", "/ready", "/ready", {}, 200],
      ["POST", "/account/register", "/account/register", { method: "POST", json: { username: user.username, email: "x@example.com", password: "correct horse" } }, 400],
      ["POST", "/account/register", "/account/register", { method: "POST", body: "{oops" }, 400],
      ["POST", "/account/register", "/account/register", { method: "POST", body: "x".repeat(70 * 1024) }, 413],
      ["POST", "/account/login", "/account/login", { method: "POST", json: { username: user.username, password: user.password } }, 200],
      ["POST", "/account/login", "/account/login", { method: "POST", json: { username: user.username, password: "wrong password" } }, 400],
      ["POST", "/account/login", "/account/login", { method: "POST", json: {} }, 400],
      ["GET", "/account/profile", "/account/profile", { token: user.token }, 200],
      ["GET", "/account/profile", "/account/profile", {}, 401],
      ["GET", "/account/get_pictures", "/account/get_pictures", { token: user.token }, 200],
      ["POST", "/account/set_picture", "/account/set_picture", { method: "POST", token: user.token, json: { id: 99 } }, 400],
      ["POST", "/account/set_picture", "/account/set_picture", { method: "POST", token: user.token, json: { id: "7" } }, 200],
      ["GET", "/anime/entry/{id}", "/anime/entry/999999", {}, 404],
      ["GET", "/anime/entry/{id}/details", "/anime/entry/1/details", {}, 200],
      ["GET", "/anime/search", "/anime/search?q=tokyo&page_size=2", {}, 200],
      ["GET", "/anime/search", "/anime/search?type=TV&sort=-score", {}, 200],
      ["GET", "/anime/search", "/anime/search?sort=relevance&year_from=x", {}, 400],
      ["GET", "/anime/search", "/anime/search?page=999", {}, 404],
      ["GET", "/anime/random", "/anime/random?type=TV&tags=action", {}, 200],
      ["GET", "/anime/random", "/anime/random?season=Autumn", {}, 400],
      ["GET", "/anime/entries", "/anime/entries?ids=1,2,3", {}, 200],
      ["GET", "/anime/entries", "/anime/entries?ids=0", {}, 400],
      ["GET", "/anime/lookup", "/anime/lookup?source=http://anidb.net/anime/10401/", {}, 200],
      ["GET", "/anime/lookup", "/anime/lookup", {}, 400],
      ["POST", "/account/logout", "/account/logout", { method: "POST", token: user.token }, 200],
      ["POST", "/account/logout", "/account/logout", { method: "POST", token: user.token }, 401],
    ];
    for (const [method, path, url, init, status] of calls) {
      const response = await server.request(url, init);
      const body = await response.json();
      expect(response.status, `${method} ${url}: ${JSON.stringify(body)}`).toBe(status);
      expect(problems(schemaFor(method, path, status), body), `${method} ${url} ${status}`).toEqual([]);
    }
  });
});
