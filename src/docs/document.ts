// Turns what @elysiajs/swagger generates from the routes into a valid OpenAPI 3.0 document that says
// what the server really does:
//  - every body is JSON (the other media types the plugin lists are dropped), except where
//    OTHER_MEDIA says otherwise: the list's MyAnimeList XML import and export;
//  - schemas are TypeBox's JSON Schema, which OpenAPI 3.0 only partly accepts: `const`, `type: "null"`,
//    `patternProperties`, `examples` arrays and Elysia's `t.Integer` (a string-or-integer union that
//    accepts numeric strings on input) are rewritten into their OpenAPI 3.0 forms;
//  - the plugin puts a schema's examples beside `content`, where OpenAPI has no such field: they move
//    into the media type object, as `example` or named `examples`;
//  - the statuses the contract's general rules add (400 and 413 for a body, 401 with a token, 500,
//    503 when the database is needed) are documented with the contract's bodies and headers.
import { invalidToken, internalError, notAuthenticated, notFound, serviceUnavailable, throttled } from "../http/errors.ts";
import { tooLarge } from "../http/body.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Schema = JsonObject;

interface MediaType {
  schema?: Schema;
  example?: Json;
  examples?: Record<string, { summary?: string; value: Json }>;
}

interface Response {
  description: string;
  headers?: Record<string, { description: string; schema: Schema }>;
  content?: Record<string, MediaType>;
  [key: string]: unknown;
}

interface Parameter {
  name: string;
  in: string;
  description?: string;
  required?: boolean;
  schema?: Schema;
  example?: Json;
  [key: string]: unknown;
}

interface Operation {
  summary?: string;
  description?: string;
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; description?: string; content: Record<string, MediaType> };
  responses?: Record<string, Response>;
  [key: string]: unknown;
}

export interface OpenApiDocument {
  openapi: string;
  info: JsonObject;
  tags?: JsonObject[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema>; securitySchemes?: JsonObject; [key: string]: unknown };
  [key: string]: unknown;
}

const JSON_TYPE = "application/json";
const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/** Operations that answer without the database, so never with its 503. */
const DATABASE_FREE = new Set(["GET /health"]);

const DETAIL_SCHEMA: Schema = {
  type: "object",
  properties: { detail: { type: "string" } },
  required: ["detail"],
};

type Examples = Record<string, Json>;

/** The contract's bodies for the general-rule statuses, taken from the code that produces them. */
const CONTRACT_ERRORS: Record<string, { description: string; examples: Examples; headers?: Response["headers"] }> = {
  "400": {
    description: "The body is not a JSON object",
    examples: {
      not_json: { detail: "JSON parse error - Unexpected identifier \"oops\"" },
      not_an_object: { detail: "Expected a JSON object." },
    },
  },
  "401": {
    description: "No token, or the token is unknown, malformed, expired or revoked",
    examples: { no_credentials: notAuthenticated().body as Json, invalid_token: invalidToken().body as Json },
    headers: { "WWW-Authenticate": { description: "Always `Token`", schema: { type: "string", example: "Token" } } },
  },
  "404": { description: "Not found", examples: { not_found: notFound().body as Json } },
  "413": {
    description: "The body is larger than the limit (BODY_LIMIT, 64 KiB by default)",
    examples: { too_large: tooLarge().body as Json },
  },
  "429": {
    description: "Too many attempts: throttled",
    examples: { throttled: throttled(60).body as Json },
    headers: { "Retry-After": { description: "Seconds until the next attempt is allowed", schema: { type: "integer" } } },
  },
  "500": { description: "An unexpected error (never a stack trace)", examples: { internal: internalError().body as Json } },
  "503": {
    description: "The database is unreachable; try again shortly",
    examples: { unavailable: serviceUnavailable().body as Json },
    headers: { "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer" } } },
  },
};

const SUCCESS_DESCRIPTION = "Success";
const OTHER_DESCRIPTIONS: Record<string, string> = {
  "400": "Invalid input: the failing fields with their messages, or a body that is not a JSON object",
};

/**
 * Examples, named, where a route's schema cannot carry the right ones because the schema is shared
 * (FieldFailure, the health Status) or has several. The bodies are the contract's (API.md).
 */
const EXAMPLE_OVERRIDES: Record<string, Record<string, Examples>> = {
  "GET /ready": { "200": { ready: { status: "ready" } }, "503": { unavailable: { status: "unavailable" } } },
  "POST /account/register": {
    "400": {
      field_errors: {
        success: false,
        errors: { username: ["user with this username already exists."], email: ["user with this email already exists."] },
      },
    },
  },
  "POST /account/login": {
    "400": {
      bad_credentials: { non_field_errors: ["Unable to log in with provided credentials."] },
      missing_field: { username: ["This field is required."] },
    },
  },
  "POST /list/import": {
    "400": {
      list_full: { success: false, errors: { non_field_errors: ["A list holds at most 10000 entries."] } },
      not_an_export: { detail: "The root element is <rss>, not <myanimelist>: this is not a MyAnimeList export." },
      doctype: { detail: "The file declares a DOCTYPE: a MyAnimeList export has none, and DOCTYPEs and entity declarations are refused." },
    },
  },
  "PUT /list/{anime_id}": {
    "400": {
      field_errors: { success: false, errors: { score: ["Ensure this value is less than or equal to 10."] } },
      list_full: { success: false, errors: { non_field_errors: ["A list holds at most 10000 entries."] } },
      dates: { success: false, errors: { finished_on: ["Ensure this date is not before started_on."] } },
    },
  },
  "POST /account/set_picture": { "400": { invalid_picture: { success: false, errors: { id: ["Invalid picture id."] } } } },
  "GET /anime/search": {
    "400": {
      bad_filter: { type: ['"Film" is not a valid choice.'], year_from: ["A valid integer is required."] },
      relevance_without_q: { sort: ["Sorting by relevance needs q."] },
      page_size: { page_size: ["Ensure this value is less than or equal to 100."] },
    },
    "404": { invalid_page: { detail: "Invalid page." } },
  },
  "GET /anime/random": { "400": { bad_filter: { type: ['"Film" is not a valid choice.'] } } },
  "GET /anime/entries": {
    "400": {
      missing: { ids: ["This field is required."] },
      invalid: { ids: ["Enter up to 100 positive integers, separated by commas."] },
    },
  },
  "GET /anime/lookup": { "400": { missing: { source: ["This field is required."] } } },
};
const DESCRIPTION_OVERRIDES: Record<string, Record<string, string>> = {
  "GET /anime/search": { "404": "`page` is not a positive integer, or is past the last page" },
  "GET /ready": {
    "200": "Ready: the database answers and every migration is applied",
    "503": "Not ready: the database is unreachable or not migrated",
  },
  "POST /list/import": {
    "400": "A file that is not a MyAnimeList anime export, is malformed, declares a DOCTYPE or entities, or a broken gzip (`detail` says why); a list past 10,000 entries; `mode` not merge or replace",
    "413": "The body, or the file it inflates to, is larger than 16 MiB",
  },
};

/** The routes whose bodies are not JSON: what they take, and the statuses whose answer is not JSON. */
const MAL_EXPORT_EXAMPLE =
  '<?xml version="1.0" encoding="UTF-8" ?>\n<myanimelist>\n\t<myinfo>\n\t\t<user_id>18</user_id>\n\t\t<user_name>test</user_name>\n' +
  "\t\t<user_export_type>1</user_export_type>\n\t</myinfo>\n\t<anime>\n\t\t<series_animedb_id>22319</series_animedb_id>\n" +
  "\t\t<series_title><![CDATA[Tokyo Ghoul]]></series_title>\n\t\t<my_watched_episodes>3</my_watched_episodes>\n" +
  "\t\t<my_start_date>2024-01-05</my_start_date>\n\t\t<my_finish_date>0000-00-00</my_finish_date>\n\t\t<my_score>8</my_score>\n" +
  "\t\t<my_status>Watching</my_status>\n\t\t<my_comments><![CDATA[]]></my_comments>\n\t\t<my_times_watched>0</my_times_watched>\n" +
  "\t</anime>\n</myanimelist>\n";
const OTHER_MEDIA: Record<string, { request?: { types: string[]; description: string }; responses?: Record<string, string> }> = {
  "POST /list/import": {
    request: {
      types: ["application/xml", "text/xml", "application/gzip"],
      description:
        "The MyAnimeList export file (animelist_….xml, or the .xml.gz as downloaded), up to 16 MiB once inflated. " +
        "Gzip is recognised by `Content-Encoding: gzip` or by the file's own magic bytes, whatever the Content-Type.",
    },
  },
  "GET /list/export": { responses: { "200": "application/xml" } },
};

const FORMAT_PARAMETER: Parameter = {
  name: "format",
  in: "query",
  required: false,
  description: "Accepted for compatibility (`json`); changes nothing",
  schema: { type: "string", enum: ["json"] },
};

/** Returns a new document; `generated` is not modified. */
export function finishDocument(generated: OpenApiDocument): OpenApiDocument {
  const document = structuredClone(generated);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method)) continue;
      finishOperation(`${method.toUpperCase()} ${path}`, method, operation);
    }
  }
  const components = document.components ?? {};
  if (components.schemas) {
    for (const [name, schema] of Object.entries(components.schemas)) components.schemas[name] = toOpenApiSchema(schema);
    if (!Object.keys(components.schemas).length) delete components.schemas;
  }
  return document;
}

function finishOperation(key: string, method: string, operation: Operation) {
  // Parameters: OpenAPI's `examples` is a map of Example objects; TypeBox gives an array.
  const parameters = (operation.parameters ?? []).map(finishParameter);
  if (method === "get" && !parameters.some((p) => p.in === "query" && p.name === "format")) parameters.push({ ...FORMAT_PARAMETER });
  if (parameters.length) operation.parameters = parameters;
  else delete operation.parameters;

  const otherMedia = OTHER_MEDIA[key];
  const hasBody = operation.requestBody !== undefined || otherMedia?.request !== undefined;
  if (otherMedia?.request) {
    const { types, description } = otherMedia.request;
    const media = (type: string): MediaType =>
      type === "application/gzip" ? { schema: { type: "string", format: "binary" } } : { schema: { type: "string" }, example: MAL_EXPORT_EXAMPLE };
    operation.requestBody = { required: true, description, content: Object.fromEntries(types.map((type) => [type, media(type)])) };
  } else if (operation.requestBody) {
    const media = jsonOnly(operation.requestBody.content);
    operation.requestBody = { required: true, content: { [JSON_TYPE]: finishMedia(media) } };
  }

  const responses: Record<string, Response> = {};
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    responses[status] = finishResponse(status, response);
    const examples = EXAMPLE_OVERRIDES[key]?.[status];
    const media = responses[status]?.content?.[JSON_TYPE];
    if (examples && media) setExamples(media, examples);
    const mediaType = otherMedia?.responses?.[status];
    if (mediaType) responses[status].content = { [mediaType]: responses[status].content![JSON_TYPE]! };
  }

  // The general rules of the contract.
  if (hasBody) {
    responses["400"] = responses["400"] ? withDetailAlternative(responses["400"]) : contractResponse("400");
    responses["413"] ??= contractResponse("413");
  }
  if (operation.security?.length) responses["401"] ??= contractResponse("401");
  if (!DATABASE_FREE.has(key)) responses["503"] ??= contractResponse("503");
  responses["500"] ??= contractResponse("500");

  // A route's `{"detail": …}` answers get the contract's own examples and headers for their status.
  for (const [status, response] of Object.entries(responses)) {
    if (EXAMPLE_OVERRIDES[key]?.[status]) continue;
    if (isDetailResponse(response) && CONTRACT_ERRORS[status]) responses[status] = contractResponse(status);
    const description = DESCRIPTION_OVERRIDES[key]?.[status];
    if (description) responses[status]!.description = description;
  }
  // Answers that can be revalidated: the 200 names its ETag.
  if (responses["304"] && responses["200"]) responses["200"].headers = { ...ETAG_HEADER };
  operation.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

function finishParameter(parameter: Parameter): Parameter {
  const { examples, schema, ...rest } = parameter as Parameter & { examples?: Json };
  const finished: Parameter = { ...rest };
  if (schema) finished.schema = toOpenApiSchema(schema);
  const example = Array.isArray(examples) ? examples[0] : undefined;
  if (example !== undefined) finished.example = example;
  if (finished.description === undefined) delete finished.description;
  return finished;
}

const ETAG_HEADER: Response["headers"] = {
  ETag: { description: "Strong; send it back in `If-None-Match` to get 304 while the answer is unchanged", schema: { type: "string", example: '"v42"' } },
};

function finishResponse(status: string, response: Response): Response {
  // 304 has no body.
  if (status === "304") return { description: "Not modified: `If-None-Match` matches the answer's ETag (no body)", headers: { ...ETAG_HEADER } };
  // The plugin copies the schema's own keywords (examples, description…) onto the response object.
  const { content, examples } = response as Response & { examples?: Json };
  const media = finishMedia(jsonOnly(content), Array.isArray(examples) ? examples : undefined);
  const description = status.startsWith("2")
    ? SUCCESS_DESCRIPTION
    : (OTHER_DESCRIPTIONS[status] ?? CONTRACT_ERRORS[status]?.description ?? "Error");
  return { description, content: { [JSON_TYPE]: media } };
}

function jsonOnly(content: Record<string, MediaType> | undefined): MediaType {
  return content?.[JSON_TYPE] ?? Object.values(content ?? {})[0] ?? {};
}

/** The schema in OpenAPI 3.0 form, with the schema's examples moved onto the media type. */
function finishMedia(media: MediaType, outerExamples?: Json[]): MediaType {
  const schema = media.schema ?? {};
  const examples = (Array.isArray(schema.examples) ? schema.examples : undefined) ?? outerExamples ?? [];
  const finished: MediaType = { schema: toOpenApiSchema(schema) };
  delete finished.schema!.example; // shown on the media type instead
  setExamples(finished, Object.fromEntries(examples.map((value, index) => [`example_${index + 1}`, value])));
  return finished;
}

function setExamples(media: MediaType, examples: Examples) {
  delete media.example;
  delete media.examples;
  const entries = Object.entries(examples);
  const [only] = entries;
  if (entries.length === 1 && only) media.example = only[1];
  else if (entries.length > 1) media.examples = Object.fromEntries(entries.map(([name, value]) => [name, { value }]));
}

function contractResponse(status: string): Response {
  const known = CONTRACT_ERRORS[status];
  if (!known) throw new Error(`no contract body for status ${status}`);
  const { description, examples, headers } = known;
  const media: MediaType = { schema: structuredClone(DETAIL_SCHEMA) };
  setExamples(media, examples);
  return { description, ...(headers ? { headers: structuredClone(headers) } : {}), content: { [JSON_TYPE]: media } };
}

function isDetailResponse(response: Response): boolean {
  const schema = response.content?.[JSON_TYPE]?.schema;
  const properties = schema?.properties;
  return !!properties && typeof properties === "object" && !Array.isArray(properties) && Object.keys(properties).join() === "detail";
}

/** A 400 whose body is either the route's own (field errors) or the contract's `{"detail": …}` for a bad body. */
function withDetailAlternative(response: Response): Response {
  if (isDetailResponse(response)) return contractResponse("400");
  const media = response.content?.[JSON_TYPE] ?? {};
  const own =
    media.example !== undefined
      ? { field_errors: media.example }
      : Object.fromEntries(Object.entries(media.examples ?? {}).map(([name, example]) => [name, example.value]));
  const combined: MediaType = { schema: { oneOf: [media.schema ?? {}, structuredClone(DETAIL_SCHEMA)] } };
  setExamples(combined, { ...own, ...CONTRACT_ERRORS["400"]?.examples });
  return { description: OTHER_DESCRIPTIONS["400"] ?? "Invalid input", content: { [JSON_TYPE]: combined } };
}

// ---------------------------------------------------------------------------------------------------
// JSON Schema (as TypeBox and Elysia write it) to the OpenAPI 3.0 Schema Object.

const OPENAPI_SCHEMA_KEYWORDS = new Set([
  "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength",
  "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties", "required", "enum", "type",
  "not", "allOf", "oneOf", "anyOf", "items", "properties", "additionalProperties", "description", "format",
  "default", "nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "example", "deprecated", "$ref",
]);

const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

/** Elysia's t.Integer/t.Numeric: a string branch that only exists to coerce numeric input. */
const isNumericStringBranch = (schema: Json) =>
  isObject(schema) && schema.type === "string" && (schema.format === "integer" || schema.format === "numeric");

export function toOpenApiSchema(input: Schema): Schema {
  let schema: Schema = { ...input };

  if ("const" in schema) {
    schema.enum = [schema.const];
    delete schema.const;
  }
  if (Array.isArray(schema.examples)) {
    const [first] = schema.examples;
    if (schema.example === undefined && first !== undefined) schema.example = first;
    delete schema.examples;
  }
  if (typeof schema.exclusiveMinimum === "number") {
    schema.minimum = schema.exclusiveMinimum;
    schema.exclusiveMinimum = true;
  }
  if (typeof schema.exclusiveMaximum === "number") {
    schema.maximum = schema.exclusiveMaximum;
    schema.exclusiveMaximum = true;
  }
  if (isObject(schema.patternProperties)) {
    const [valueSchema] = Object.values(schema.patternProperties);
    if (schema.additionalProperties === undefined && isObject(valueSchema)) schema.additionalProperties = valueSchema;
    delete schema.patternProperties;
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((type) => type !== "null");
    if (types.length < schema.type.length) schema.nullable = true;
    const [only] = types;
    if (types.length === 1 && only !== undefined) schema.type = only;
    else {
      delete schema.type;
      schema.anyOf = types.map((type) => ({ type }));
    }
  }

  // Recurse first, so that the unions below see converted members.
  if (isObject(schema.properties)) {
    schema.properties = Object.fromEntries(Object.entries(schema.properties).map(([name, value]) => [name, toOpenApiSchema(value as Schema)]));
  }
  if (isObject(schema.items)) schema.items = toOpenApiSchema(schema.items);
  if (isObject(schema.additionalProperties)) schema.additionalProperties = toOpenApiSchema(schema.additionalProperties);
  if (isObject(schema.not)) schema.not = toOpenApiSchema(schema.not);
  for (const keyword of ["anyOf", "oneOf", "allOf"] as const) {
    const members = schema[keyword];
    if (Array.isArray(members)) schema[keyword] = members.map((member) => toOpenApiSchema(member as Schema));
  }

  for (const keyword of ["anyOf", "oneOf"] as const) {
    if (Array.isArray(schema[keyword])) schema = simplifyUnion(schema, keyword);
  }

  if (Array.isArray(schema.required) && schema.required.length === 0) delete schema.required;
  for (const key of Object.keys(schema)) {
    if (!OPENAPI_SCHEMA_KEYWORDS.has(key) && !key.startsWith("x-")) delete schema[key];
  }
  return schema;
}

function simplifyUnion(schema: Schema, keyword: "anyOf" | "oneOf"): Schema {
  let members = (schema[keyword] as Schema[]).filter((member) => !isNumericStringBranch(member));
  const nullable = members.some((member) => member.type === "null");
  members = members.filter((member) => member.type !== "null");
  // Nested unions of the same kind are flattened (t.Union([t.Integer(), t.Null()]) nests t.Integer's).
  members = members.flatMap((member) =>
    Array.isArray(member[keyword]) && Object.keys(member).every((key) => key === keyword) ? (member[keyword] as Schema[]) : [member],
  );
  const { [keyword]: _, ...outer } = schema;
  if (nullable) outer.nullable = true;

  // A union of literals of one type is an enum.
  const literalType = members[0]?.type;
  if (
    members.length > 1 &&
    members.every((member) => Array.isArray(member.enum) && member.type === literalType && Object.keys(member).every((k) => k === "enum" || k === "type"))
  ) {
    return { ...outer, type: literalType ?? null, enum: members.flatMap((member) => member.enum as Json[]) };
  }
  const [only] = members;
  if (members.length === 1 && only) {
    // The member's own keywords win over the wrapper's, except the wrapper's documentation.
    return { ...only, ...pick(outer, ["description", "example", "nullable", "default", "title"]), ...merged(outer, only) };
  }
  return { ...outer, [keyword]: members };
}

function pick(schema: Schema, keys: string[]): Schema {
  return Object.fromEntries(keys.flatMap((key) => (schema[key] === undefined ? [] : [[key, schema[key]]])));
}

/** Keywords of the wrapper the member does not have (t.Integer({minimum}) repeats them on both). */
function merged(outer: Schema, member: Schema): Schema {
  return Object.fromEntries(Object.entries(outer).filter(([key]) => member[key] === undefined));
}
