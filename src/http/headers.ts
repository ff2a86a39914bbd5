// Response headers every answer carries: X-Content-Type-Options: nosniff, Cache-Control: no-store on
// account answers, and CORS for browsers.
//
// On the hot routes (cached anime entries, profiles) the handler returns a Response whose headers
// already hold all of it (jsonResponse below), and nothing is written into Elysia's `set.headers`:
// when `set.headers` is not empty, Elysia copies every Response into a new one to merge them, which
// measurably costs throughput. So CORS headers are only added to requests that carry an Origin
// header (browsers), and the rest is added after the handler, to whatever it returned.
import { Elysia } from "elysia";

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
const NOSNIFF = "nosniff";
const ACCOUNT_PATH = /^\/a(c)?count\//;

/** A JSON answer from an already serialized body, with the headers every answer needs baked in. */
export function jsonResponse(body: string, options: { noStore?: boolean } = {}): Response {
  const headers: Record<string, string> = { "content-type": JSON_CONTENT_TYPE, "x-content-type-options": NOSNIFF };
  if (options.noStore) headers["cache-control"] = "no-store";
  return new Response(body, { headers });
}

/** The headers an answer to `path` needs, beyond CORS. */
export function baseHeaders(path: string): Record<string, string> {
  return ACCOUNT_PATH.test(path) ? { "x-content-type-options": NOSNIFF, "cache-control": "no-store" } : { "x-content-type-options": NOSNIFF };
}

export function responseHeaders(corsOrigins: string[]) {
  const anyOrigin = corsOrigins.includes("*");
  const allowed = new Set(corsOrigins);

  return new Elysia({ name: "response-headers" })
    .onRequest(({ request, set }) => {
      const origin = request.headers.get("origin");
      if (origin === null) return; // not a cross-origin request from a browser: no CORS headers needed
      if (!anyOrigin) set.headers.vary = "Origin";
      if (!anyOrigin && !allowed.has(origin)) return;
      set.headers["access-control-allow-origin"] = anyOrigin ? "*" : origin;
      set.headers["access-control-expose-headers"] = "Retry-After, WWW-Authenticate";
      if (request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
        Object.assign(set.headers, baseHeaders(new URL(request.url).pathname), {
          "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
          "access-control-allow-headers": "Authorization, Content-Type",
          "access-control-max-age": "600",
        });
        set.status = 204;
        return new Response(null, { status: 204 });
      }
    })
    .onAfterHandle({ as: "global" }, ({ responseValue, path, set }) => {
      const headers = baseHeaders(path);
      if (responseValue instanceof Response) {
        for (const name in headers) if (!responseValue.headers.has(name)) responseValue.headers.set(name, headers[name]);
      } else {
        Object.assign(set.headers, headers);
      }
    });
}
