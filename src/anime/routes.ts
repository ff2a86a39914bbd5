// /anime/*: one entry by id, and a uniformly random entry. Public: the Authorization header is ignored.
import { Elysia } from "elysia";
import { notFound } from "../http/errors.ts";
import type { JsonResponder } from "../http/headers.ts";
import { type Body, type Catalogue, parseAnimeId } from "./catalogue.ts";
import { Anime, EntryParams, FormatQuery, NotFound } from "./schemas.ts";

const tags = ["anime"];
const CREDIT = "Data: anime-offline-database (manami-project), ODbL 1.0 + DbCL 1.0.";

export function animeRoutes(catalogue: Catalogue, json: JsonResponder) {
  const respond = (body: Body | undefined): Response => {
    if (body === undefined) throw notFound();
    return json(body);
  };
  /** Cached bodies arrive synchronously: answering them without a promise keeps the hot path short. */
  const respondTo = (body: Body | undefined | Promise<Body | undefined>) =>
    body instanceof Promise ? body.then(respond) : respond(body);

  return new Elysia({ name: "anime", prefix: "/anime" })
    .get(
      "/entry/:id",
      ({ params }) => {
        const id = parseAnimeId(params.id);
        return respondTo(id === undefined ? undefined : catalogue.entryBody(id));
      },
      {
        params: EntryParams,
        query: FormatQuery,
        response: { 200: Anime, 404: NotFound },
        detail: { summary: "One anime by id", description: CREDIT, tags },
      },
    )
    .get("/random", () => respondTo(catalogue.randomBody()), {
      query: FormatQuery,
      response: { 200: Anime, 404: NotFound },
      detail: { summary: "A uniformly random anime", description: CREDIT, tags },
    });
}
