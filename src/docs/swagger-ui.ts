// Swagger UI at /swagger, entirely from this server: the page, its script and stylesheet come out of
// the swagger-ui-dist package on disk, so it works without internet access and never loads a CDN.
// (@elysiajs/swagger's own page hard-codes unpkg.com; this plugin's /swagger replaces it.)
import { dirname, join } from "node:path";
import { Elysia } from "elysia";
import distPackage from "swagger-ui-dist/package.json";
import { notFound } from "../http/errors.ts";

export const SWAGGER_PATH = "/swagger";
export const SPEC_PATH = `${SWAGGER_PATH}/json`;
const ASSETS_PATH = `${SWAGGER_PATH}/assets`;
/** swagger-ui-dist's absolute path on disk (what its getAbsoluteFSPath() answers, without loading its bundle). */
const DIST_DIR = dirname(Bun.resolveSync("swagger-ui-dist/package.json", import.meta.dir));
/** Appended to asset URLs so that a new swagger-ui-dist is never hidden by a cached old one. */
const VERSION = encodeURIComponent(distPackage.version);

/** The files of swagger-ui-dist the page uses (an allow-list: nothing else of the package is served). */
const ASSETS: Record<string, string> = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-bundle.js.map": "application/json; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui.css.map": "application/json; charset=utf-8",
  "favicon-16x16.png": "image/png",
  "favicon-32x32.png": "image/png",
};

const INIT_SCRIPT = "init.js";

const SWAGGER_UI_OPTIONS = {
  url: SPEC_PATH,
  dom_id: "#swagger-ui",
  deepLinking: true,
  // "Authorize" survives a reload of the page (kept in the browser's localStorage).
  persistAuthorization: true,
  displayRequestDuration: true,
  // The default sends the document to validator.swagger.io for a badge: no outside requests.
  validatorUrl: null,
};

const initScript = `window.ui = SwaggerUIBundle(${JSON.stringify(SWAGGER_UI_OPTIONS)});\n`;

const asset = (name: string) => `${ASSETS_PATH}/${name}?v=${VERSION}`;

function page(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)}</title>
  <link rel="icon" type="image/png" href="${asset("favicon-32x32.png")}" sizes="32x32">
  <link rel="icon" type="image/png" href="${asset("favicon-16x16.png")}" sizes="16x16">
  <link rel="stylesheet" href="${asset("swagger-ui.css")}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${asset("swagger-ui-bundle.js")}"></script>
  <script src="${asset(INIT_SCRIPT)}"></script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Everything the page loads comes from this origin; Swagger UI itself needs inline styles and data: icons.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const ASSET_CACHE = "public, max-age=86400";

export function swaggerUi(title: string) {
  const html = page(title);
  return new Elysia({ name: "swagger-ui" })
    .get(
      SWAGGER_PATH,
      () =>
        new Response(html, {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "cache-control": "no-cache",
          },
        }),
      { detail: { hide: true } },
    )
    .get(
      `${ASSETS_PATH}/*`,
      ({ params }) => {
        const name = params["*"];
        if (name === INIT_SCRIPT) {
          return new Response(initScript, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": ASSET_CACHE } });
        }
        const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
        if (!type) throw notFound();
        return new Response(Bun.file(join(DIST_DIR, name)), { headers: { "content-type": type, "cache-control": ASSET_CACHE } });
      },
      { detail: { hide: true } },
    );
}
