// /anime/*: one entry by id, and a uniformly random entry. Public: the Authorization header is ignored.
import { Elysia } from "elysia";
import { notFound } from "../http/errors.ts";
import { type Catalogue, parseAnimeId } from "./catalogue.ts";
import { Anime, EntryParams, FormatQuery, NotFound } from "./schemas.ts";

const tags = ["anime"];
const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };
const CREDIT = "Data: anime-offline-database (manami-project), ODbL 1.0 + DbCL 1.0.";

function respond(body: string | undefined): Response {
  if (body === undefined) throw notFound();
  return new Response(body, { headers: JSON_HEADERS });
}

export function animeRoutes(catalogue: Catalogue) {
  return new Elysia({ name: "anime", prefix: "/anime" })
    .get(
      "/entry/:id",
      async ({ params }) => {
        const id = parseAnimeId(params.id);
        return respond(id === undefined ? undefined : await catalogue.entryBody(id));
      },
      {
        params: EntryParams,
        query: FormatQuery,
        response: { 200: Anime, 404: NotFound },
        detail: { summary: "One anime by id", description: CREDIT, tags },
      },
    )
    .get("/random", async () => respond(await catalogue.randomBody()), {
      query: FormatQuery,
      response: { 200: Anime, 404: NotFound },
      detail: { summary: "A uniformly random anime", description: CREDIT, tags },
    });
}
