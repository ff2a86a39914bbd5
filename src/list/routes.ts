// /list/* (token required), /account/settings, and the public /users/{username}/list views.
import { Elysia } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { Auth } from "../auth/service.ts";
import { type FieldErrors, badUpload } from "../http/errors.ts";
import { type JsonResponder, sendableBody } from "../http/headers.ts";
import { readImportBody } from "../http/raw-body.ts";
import { MalFormatError, parseMalExportAsync, serializeMalExport } from "./mal-xml.ts";
import {
  AnimeIdParams,
  Deleted,
  Detail,
  ExportXml,
  FormatOnlyQuery,
  IMPORT_LIMIT_BYTES,
  ImportQuery,
  ImportReport,
  ListEntry,
  ListFailure,
  ListPage,
  ListQuery,
  PatchEntryBody,
  PublicListPage,
  PutEntryBody,
  QueryErrors,
  RandomQuery,
  Settings,
  SettingsBody,
  Stats,
  UsernameParams,
} from "./schemas.ts";
import type { ExportRow } from "./queries.ts";
import type { Lists } from "./service.ts";

const tags = ["list"];
const MAX_ANIME_ID = 2_147_483_647;

/** The import reads its body itself (up to 16 MiB, maybe gzip): the JSON body parser leaves it alone. */
export const RAW_BODY_PATHS = new Set(["/list/import"]);

/**
 * The 400 body for a request body the schema rejected on a list route: wrapped, as register's
 * (`{"success": false, "errors": {...}}`).
 */
export function rejectedListBody(path: string, _body: unknown, schemaErrors: FieldErrors): unknown | undefined {
  if (path.startsWith("/list/") || path === "/account/settings") return { success: false, errors: schemaErrors };
  return undefined;
}

function parseAnimeId(text: string): number | undefined {
  if (!/^[1-9]\d{0,9}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ANIME_ID ? id : undefined;
}

const notFoundResponse = { 404: Detail };

export function listRoutes(lists: Lists, auth: Auth, json: JsonResponder) {
  const mine = (body: string | Uint8Array, status = 200) => json(body, "private", status);

  return new Elysia({ name: "list" })
    .use(authPlugin(auth))
    .get("/list", async ({ session, query, request }) => mine(await lists.page(session.userId, query, request.url)), {
      auth: true,
      query: ListQuery,
      response: { 200: ListPage, 400: QueryErrors, ...notFoundResponse },
      detail: { summary: "The user's list, a page at a time", description: "`page` past the last page: 404 `Invalid page.`", tags },
    })
    .get("/list/random", async ({ session, query }) => mine(await lists.random(session.userId, query)), {
      auth: true,
      query: RandomQuery,
      response: { 200: ListEntry, 400: QueryErrors, ...notFoundResponse },
      detail: {
        summary: "A random entry of the user's list: what do I watch next?",
        description:
          "Drawn uniformly from the entries matching `status` (the list status) and the anime filters; the anime's airing status is `anime_status`. 404 when none matches.",
        tags,
      },
    })
    .get("/list/stats", ({ session }) => lists.stats(session.userId, false), {
      auth: true,
      query: FormatOnlyQuery,
      response: { 200: Stats },
      detail: { summary: "Totals of the user's list", tags },
    })
    .post(
      "/list/import",
      async ({ session, query, request }) => {
        const mode = lists.importMode(query);
        const xml = await readImportBody(request, IMPORT_LIMIT_BYTES);
        let parsed: Awaited<ReturnType<typeof parseMalExportAsync>>;
        try {
          parsed = await parseMalExportAsync(xml);
        } catch (error) {
          if (error instanceof MalFormatError) throw badUpload(error.message);
          throw error;
        }
        return lists.importEntries(session.userId, parsed.entries, mode);
      },
      {
        auth: true,
        query: ImportQuery,
        response: { 200: ImportReport, 400: ListFailure },
        detail: {
          summary: "Import a MyAnimeList XML export",
          description:
            "The body is the export file as MyAnimeList, AniList and Kitsu write it, plain or gzip-compressed (`Content-Encoding: gzip`, or a raw `.xml.gz`), up to 16 MiB. " +
            "Entries are matched by MyAnimeList id; values out of range are brought into it. One transaction: a file that is not such an export, " +
            "declares a DOCTYPE or entities, or is too large changes nothing (400 with a `detail`, 413 for size).",
          tags,
        },
      },
    )
    .get(
      "/list/export",
      async ({ session }) => {
        const { username, rows } = await lists.exportRows(session.userId);
        const exported = rows.filter((row): row is ExportRow & { malId: number } => row.malId !== null);
        const xml = serializeMalExport({ id: session.userId, username }, exported, rows.length - exported.length);
        return new Response(sendableBody(xml), {
          headers: {
            "content-type": "application/xml; charset=utf-8",
            "content-disposition": 'attachment; filename="animelist.xml"',
            "cache-control": "no-store",
          },
        });
      },
      {
        auth: true,
        query: FormatOnlyQuery,
        response: { 200: ExportXml },
        detail: {
          summary: "The whole list as a MyAnimeList XML export",
          description: "Entries whose anime has no myanimelist.net source are left out and counted in an XML comment.",
          tags,
        },
      },
    )
    .get("/list/:anime_id", async ({ session, params }) => mine(await lists.entry(session.userId, parseAnimeId(params.anime_id))), {
      auth: true,
      params: AnimeIdParams,
      query: FormatOnlyQuery,
      response: { 200: ListEntry, ...notFoundResponse },
      detail: { summary: "One entry of the user's list", tags },
    })
    .put(
      "/list/:anime_id",
      async ({ session, params, body }) => {
        const { json: entry, created } = await lists.put(session.userId, parseAnimeId(params.anime_id), body);
        return mine(entry, created ? 201 : 200);
      },
      {
        auth: true,
        params: AnimeIdParams,
        body: PutEntryBody,
        response: { 200: ListEntry, 201: ListEntry, 400: ListFailure, ...notFoundResponse },
        detail: { summary: "Add an anime to the list, or replace its entry", description: "Absent fields take their defaults. 201 when created.", tags },
      },
    )
    .patch(
      "/list/:anime_id",
      async ({ session, params, body }) => mine(await lists.patch(session.userId, parseAnimeId(params.anime_id), body)),
      {
        auth: true,
        params: AnimeIdParams,
        body: PatchEntryBody,
        response: { 200: ListEntry, 400: ListFailure, ...notFoundResponse },
        detail: { summary: "Change some fields of an entry", tags },
      },
    )
    .delete("/list/:anime_id", ({ session, params }) => lists.remove(session.userId, parseAnimeId(params.anime_id)), {
      auth: true,
      params: AnimeIdParams,
      response: { 200: Deleted, ...notFoundResponse },
      detail: { summary: "Remove an entry from the list", tags },
    })
    .get("/account/settings", ({ session }) => lists.settings(session.userId), {
      auth: true,
      query: FormatOnlyQuery,
      response: { 200: Settings },
      detail: { summary: "The account's settings (whether the list is public)", tags: ["list", "account"] },
    })
    .post("/account/settings", ({ session, body }) => lists.changeSettings(session.userId, body.list_public), {
      auth: true,
      body: SettingsBody,
      response: { 200: Settings, 400: ListFailure },
      detail: { summary: "Change the account's settings", tags: ["list", "account"] },
    })
    .get(
      "/users/:username/list",
      async ({ params, query, request }) => json(await lists.publicPage(params.username, query, request.url), "private"),
      {
        params: UsernameParams,
        query: ListQuery,
        response: { 200: PublicListPage, 400: QueryErrors, ...notFoundResponse },
        detail: {
          summary: "A user's public list",
          description: "Without private entries and without notes. 404 when the user does not exist or keeps the list private.",
          tags,
        },
      },
    )
    .get("/users/:username/list/stats", async ({ params }) => lists.stats(await lists.publicOwner(params.username), true), {
      params: UsernameParams,
      query: FormatOnlyQuery,
      response: { 200: Stats, ...notFoundResponse },
      detail: { summary: "Totals of a user's public list (private entries left out)", tags },
    });
}
