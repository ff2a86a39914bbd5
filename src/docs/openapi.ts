// The OpenAPI document (at /swagger/json) and the Swagger UI page (at /swagger).
import { swagger } from "@elysiajs/swagger";
import packageJson from "../../package.json";
import { TOKEN_SECURITY_SCHEME } from "../auth/plugin.ts";

export function openApi() {
  return swagger({
    path: "/swagger",
    documentation: {
      info: {
        title: "Lumotist API",
        version: packageJson.version,
        description:
          "Accounts with token authentication and an anime catalogue. Anime data: anime-offline-database " +
          "(manami-project), licensed ODbL 1.0 + DbCL 1.0.",
      },
      tags: [
        { name: "account", description: "Registration, tokens, profile and pictures" },
        { name: "anime", description: "The anime catalogue (data: anime-offline-database, ODbL 1.0 + DbCL 1.0)" },
        { name: "health", description: "Liveness and readiness" },
      ],
      components: {
        securitySchemes: {
          [TOKEN_SECURITY_SCHEME]: {
            type: "apiKey",
            in: "header",
            name: "Authorization",
            description: "`Token <key>` (or `Bearer <key>`), the key from /account/register or /account/login",
          },
        },
      },
    },
    exclude: ["/swagger", "/swagger/json", "/acount/set_picture"],
  });
}
