// GET /account/export.
import { Elysia } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { Auth } from "../auth/service.ts";
import { Detail, ExportDocument } from "./schemas.ts";
import type { Exports } from "./service.ts";

export function exportRoutes(exports: Exports, auth: Auth) {
  return new Elysia({ name: "export", prefix: "/account" }).use(authPlugin(auth)).get("/export", ({ session }) => exports.exportFor(session), {
    auth: true,
    response: { 200: ExportDocument, 401: Detail, 503: Detail },
    detail: {
      summary: "Everything the server holds about the user, as one JSON document",
      description: "The profile, the settings, the sessions and the list. Never a password hash or a token.",
      tags: ["account"],
    },
  });
}
