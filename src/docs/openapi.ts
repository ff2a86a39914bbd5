// The OpenAPI document (at /swagger/json) and the Swagger UI page (at /swagger).
// @elysiajs/swagger generates the document from the routes' schemas; finishDocument (document.ts)
// makes it valid OpenAPI 3.0 and completes it from the contract. The page and its assets are served
// from swagger-ui-dist (swagger-ui.ts), never from a CDN.
import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
import packageJson from "../../package.json";
import { TOKEN_SECURITY_SCHEME } from "../auth/plugin.ts";
import { type OpenApiDocument, finishDocument } from "./document.ts";
import { SPEC_PATH, SWAGGER_PATH, swaggerUi } from "./swagger-ui.ts";

const TITLE = "Lumotist API";

const DATA_CREDIT =
  "Anime data: [anime-offline-database](https://github.com/manami-project/anime-offline-database) (manami-project), " +
  "licensed ODbL 1.0 + DbCL 1.0: the database under the [Open Database License 1.0](https://opendatacommons.org/licenses/odbl/1-0/), " +
  "its contents under the [Database Contents License 1.0](https://opendatacommons.org/licenses/dbcl/1-0/).";

const DESCRIPTION = [
  "Accounts with token authentication and an anime catalogue. Every body is JSON.",
  "",
  "**Authentication.** Get a key from `POST /account/register` or `POST /account/login`, then send it as " +
    "`Authorization: Token <key>` (`Bearer <key>` works too). In this page: click **Authorize** and type " +
    "`Token ` followed by the key, e.g. `Token 22c1455447b5ee0310cab3f194e3f5559d06f95ec512df15f3751cd58c514d4f` — " +
    "the value is sent exactly as typed, so the word `Token` is needed.",
  "",
  "**Errors** have a `detail` message: 401 without or with a bad token, 404, 405 for a known path with another " +
    "method, 400 for a body that is not a JSON object, 413 for a body over the limit, 429 when throttled " +
    "(with `Retry-After`), 503 while the database is unreachable, 500 otherwise.",
  "",
  DATA_CREDIT,
].join("\n");

const TOKEN_DESCRIPTION =
  "Type `Token <key>`: the word `Token`, a space, then the 64-character key from /account/register or " +
  "/account/login (`Bearer <key>` is accepted too). The value is sent verbatim in the `Authorization` header.";

function generator() {
  return swagger({
    path: SWAGGER_PATH,
    specPath: SPEC_PATH,
    documentation: {
      info: {
        title: TITLE,
        version: packageJson.version,
        description: DESCRIPTION,
        license: { name: packageJson.license },
      },
      tags: [
        { name: "account", description: "Registration, tokens, profile and profile pictures" },
        { name: "anime", description: `The anime catalogue (public). ${DATA_CREDIT}` },
        {
          name: "list",
          description:
            "Each user's anime list (token required), its MyAnimeList XML import and export, and the public view of a list its owner made public",
        },
        { name: "health", description: "Liveness and readiness, for orchestrators and load balancers" },
      ],
      components: {
        securitySchemes: {
          [TOKEN_SECURITY_SCHEME]: { type: "apiKey", in: "header", name: "Authorization", description: TOKEN_DESCRIPTION },
        },
      },
    },
    exclude: [SWAGGER_PATH, SPEC_PATH, "/acount/set_picture"],
  });
}

export function openApi() {
  const plugin = generator();
  // The plugin's own handler builds the document from every route of the app it ends up in.
  const generate = plugin.routes.find((route) => route.method === "GET" && route.path === SPEC_PATH)?.handler as
    | (() => OpenApiDocument)
    | undefined;
  if (!generate) throw new Error(`@elysiajs/swagger no longer serves ${SPEC_PATH}`);

  // Routes registered later replace the plugin's: its /swagger/json by the finished document, and its
  // CDN-loading /swagger page by the self-hosted one.
  return new Elysia({ name: "docs" })
    .use(plugin)
    .get(SPEC_PATH, () => finishDocument(generate()), { detail: { hide: true } })
    .use(swaggerUi(`${TITLE} — Swagger UI`));
}
