// Response headers every answer carries: X-Content-Type-Options: nosniff, Cache-Control: no-store on
// account answers, and CORS.
//
// The hot routes (cached anime entries, profiles) return a Response built by `json()` with every
// header already in it, and nothing is written into Elysia's `set.headers` for them: when
// `set.headers` is not empty, Elysia copies each Response into a new one to merge them, and reading
// `request.headers` materialises the request's header map; both cost measurable throughput. So with
// CORS_ORIGINS=* (the default) the CORS headers are static too, and request headers are only read for
// preflights (OPTIONS) or when the allowed origins are a list.
import { type AnyElysia, Elysia } from "elysia";

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/**
 * Bodies larger than this are handed to Bun as a one-chunk stream. Bun 1.4.4 corks a socket only
 * around the synchronous part of a request's handling (oven-sh/bun#41341, open): an answer completed
 * after an await (a database read) goes out uncorked, its head one send() per fragment, and a body
 * past ~15 KB then costs ~4 times the CPU (a bare server answering 54 KB after a macrotask: ~163 µs a
 * request against ~44 µs; below ~14 KB no difference). A stream body leaves corked, head and body in
 * one sendmsg, plus the last chunk: the answer is chunked (no Content-Length) and costs the same
 * whether it completes at once or later.
 */
const STREAMED_ABOVE_BYTES = 12 * 1024;

/**
 * A body sent as it is, with a Content-Length, whatever its size: for answers made within the
 * request's synchronous handling, which leave corked (bulk answers from the caches), and for small
 * ones (search pages, a few KB) that complete after an await.
 */
export class ImmediateBody {
  constructor(readonly bytes: Uint8Array<ArrayBuffer>) {}
}

/** The body as Bun sends it cheapest, whenever the answer completes (see STREAMED_ABOVE_BYTES). */
export function sendableBody(body: string | Uint8Array): BodyInit {
  // A UTF-16 unit takes at most 3 UTF-8 bytes: a short string is not encoded to be measured.
  if (typeof body === "string" && body.length * 3 <= STREAMED_ABOVE_BYTES) return body;
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  if (bytes.byteLength <= STREAMED_ABOVE_BYTES) return bytes as BodyInit;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}
/** Per-user answers: the account's and the list's. */
const ACCOUNT_PATH = /^\/(a(c)?count\/|list(\/|$))/;
const EXPOSED = "Retry-After, WWW-Authenticate";

/** `private` answers are per user (account routes): no shared cache may store them. */
export type Audience = "public" | "private";
export type JsonResponder = (body: string | Uint8Array, audience?: Audience, status?: number) => Response;
/** A public JSON answer carrying an ETag, and the 304 that answers a matching If-None-Match. */
export interface TaggedResponder {
  json(body: string | Uint8Array | ImmediateBody, etag: string): Response;
  notModified(etag: string): Response;
}

export interface HeaderPolicy {
  plugin: AnyElysia;
  /** A JSON answer from an already serialized body, with every header it needs. */
  json: JsonResponder;
  /** The headers (beyond CORS for a listed origin) an answer to `path` needs. */
  baseHeaders(path: string): Record<string, string>;
  tagged: TaggedResponder;
}

export function headerPolicy(corsOrigins: string[]): HeaderPolicy {
  const anyOrigin = corsOrigins.includes("*");
  const allowed = new Set(corsOrigins);
  const publicHeaders: Record<string, string> = { "x-content-type-options": "nosniff" };
  if (anyOrigin) Object.assign(publicHeaders, { "access-control-allow-origin": "*", "access-control-expose-headers": EXPOSED });
  const privateHeaders: Record<string, string> = { ...publicHeaders, "cache-control": "no-store" };
  const jsonHeaders = { public: { "content-type": JSON_CONTENT_TYPE, ...publicHeaders }, private: { "content-type": JSON_CONTENT_TYPE, ...privateHeaders } };
  const baseHeaders = (path: string) => (ACCOUNT_PATH.test(path) ? privateHeaders : publicHeaders);

  /** CORS for a listed origin: echo it (and tell caches the answer depends on Origin). */
  function allowListedOrigin(origin: string | null, set: { headers: Record<string, unknown> }) {
    if (anyOrigin) return true;
    set.headers.vary = "Origin";
    if (origin === null || !allowed.has(origin)) return false;
    set.headers["access-control-allow-origin"] = origin;
    set.headers["access-control-expose-headers"] = EXPOSED;
    return true;
  }

  const plugin = new Elysia({ name: "response-headers", seed: corsOrigins.join(",") })
    .onRequest(({ request, set }) => {
      if (request.method === "OPTIONS") {
        const origin = request.headers.get("origin");
        if (origin === null || !request.headers.has("access-control-request-method")) return;
        if (!allowListedOrigin(origin, set)) return;
        Object.assign(set.headers, baseHeaders(new URL(request.url).pathname), {
          "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
          "access-control-allow-headers": "Authorization, Content-Type",
          "access-control-max-age": "600",
        });
        set.status = 204;
        return new Response(null, { status: 204 });
      }
      if (!anyOrigin) allowListedOrigin(request.headers.get("origin"), set);
    })
    .onAfterHandle({ as: "global" }, ({ responseValue, path, set }) => {
      if (!(responseValue instanceof Response)) return void Object.assign(set.headers, baseHeaders(path));
      if (responseValue.headers.has("x-content-type-options")) return; // built by json(): complete
      const headers = baseHeaders(path);
      for (const [name, value] of Object.entries(headers)) responseValue.headers.set(name, value);
    });

  return {
    plugin,
    json: (body, audience = "public", status = 200) => new Response(sendableBody(body), { status, headers: jsonHeaders[audience] }),
    baseHeaders,
    tagged: taggedResponder(jsonHeaders.public, publicHeaders),
  };
}

/**
 * The header record of the last ETag is kept: on the hot routes the tag is the catalogue's version,
 * the same for every answer until the next import, so those answers build no header object.
 */
function taggedResponder(json: Record<string, string>, bare: Record<string, string>): TaggedResponder {
  let lastTag = "";
  let lastHeaders: Record<string, string> = json;
  return {
    json(body, etag) {
      if (etag !== lastTag) {
        lastTag = etag;
        lastHeaders = { ...json, etag };
      }
      return new Response(body instanceof ImmediateBody ? body.bytes : sendableBody(body), { headers: lastHeaders });
    },
    notModified: (etag) => new Response(null, { status: 304, headers: { ...bare, etag } }),
  };
}
