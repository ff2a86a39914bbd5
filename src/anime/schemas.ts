// Schemas of the anime routes, for validation and the OpenAPI document.
import { t } from "elysia";
import { AnimeStatus, AnimeType } from "../shared/anime-filters.ts";

export const Anime = t.Object(
  {
    id: t.Integer(),
    title: t.String(),
    source: t.String({ description: "The anidb.net URL when there is one, else the first source" }),
    anime_type: AnimeType,
    num_episodes: t.Integer({ minimum: 0 }),
    status: AnimeStatus,
    year: t.Union([t.Integer(), t.Null()]),
    picture: t.String(),
    tags: t.Array(t.String(), { description: "First letter upper-cased, sorted by code point" }),
  },
  {
    examples: [
      {
        id: 18562,
        title: "Tokyo Ghoul",
        source: "https://anidb.net/anime/10401",
        anime_type: "TV",
        num_episodes: 12,
        status: "Finished",
        year: 2014,
        picture: "https://cdn.myanimelist.net/images/anime/5/64449.jpg",
        tags: ["Action", "Crime", "Dark fantasy", "Drama", "Gore", "Horror"],
      },
    ],
  },
);

export const NotFound = t.Object({ detail: t.String() }, { examples: [{ detail: "Not found." }] });

export const EntryParams = t.Object({ id: t.String({ description: "The anime's id (a positive integer)", examples: ["18562"] }) });

export const FormatQuery = t.Object({
  format: t.Optional(t.String({ description: "Accepted for compatibility (`json`); changes nothing" })),
});
