// The request mixes of the finding rows (issue 11), shared by bench/run.ts, bench/find-micro.ts and
// bench/search-speed.ts: deterministic per catalogue size, so every run asks the same paths.
import type { Sql } from "postgres";
import { idRange } from "./lib.ts";

/** A small deterministic random source, so every run asks the same mixes. */
export function seeded(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Queries a user would type for these titles: exact, lower case, no punctuation, words swapped, begun, one typo, a synonym. */
export function realisticQueries(entries: { title: string; synonyms: string[] }[], random: () => number): string[] {
  const typo = (word: string) => {
    if (word.length < 5) return word;
    const i = 1 + Math.floor(random() * (word.length - 2));
    return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
  };
  return entries.map(({ title, synonyms }, i) => {
    const words = title.split(/\s+/);
    switch (i % 7) {
      case 0: return title;
      case 1: return title.toLowerCase();
      case 2: return words.slice(0, -1).join(" ").normalize("NFKD").replace(/[\u0300-\u036f]/g, "") || title;
      case 3: return [...words].reverse().join(" ");
      case 4: return `${words.slice(0, -1).join(" ")} ${words.at(-1)!.slice(0, 3)}`.trim();
      case 5: return words.map((word, k) => (k === 0 ? typo(word) : word)).join(" ");
      default: return synonyms[0] ?? title;
    }
  });
}

export interface FindingRow {
  scenario: string;
  path: string;
  /** The request mix: paths drawn uniformly by wrk. */
  paths: string[];
}

/** The ids of the 3,000 entries the search row's queries are made from (`id % step = 0`, ascending). */
export function searchSampleStep(n: number): number {
  return Math.max(1, Math.floor(n / 3000));
}
export const SEARCH_SAMPLE_SIZE = 3000;

/** The finding rows' mixes for a catalogue of `n` entries with ids min..max and the search sample. */
export function findingRows(n: number, ids: { min: number; max: number }, sample: { title: string; synonyms: string[] }[]): FindingRow[] {
  const random = seeded(n);
  const { min, max } = ids;
  const id = () => min + Math.floor(random() * (max - min + 1));
  const tags = ["action", "comedy", "drama", "fantasy", "romance", "school", "magic", "mystery", "sci-fi", "horror"];
  const pair = () => {
    const a = tags[Math.floor(random() * tags.length)]!;
    const b = tags.filter((tag) => tag !== a)[Math.floor(random() * (tags.length - 1))]!;
    return `${a},${b}`;
  };
  const types = ["TV", "Movie", "OVA", "ONA", "Special"];
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const oneFilter = () =>
    pick([
      () => `type=${pick(types)}`,
      () => `tags=${encodeURIComponent(pick(tags))}`,
      () => `season=${pick(["Spring", "Summer", "Fall", "Winter"])}`,
      () => `studio=${encodeURIComponent(pick(["bones", "madhouse", "mappa", "trigger", "sunrise"]))}`,
      () => `year_from=${1960 + Math.floor(random() * 60)}`,
      () => `status=Finished`,
    ])();
  const sorts = ["title", "-title", "year", "-year", "episodes", "-episodes", "score", "-score"];
  const many = (count: number, make: () => string) => [...new Set(Array.from({ length: count }, make))];
  return [
    { scenario: "random-1f", path: "GET /anime/random?<one filter>", paths: many(200, () => `/anime/random?${oneFilter()}`) },
    {
      scenario: "random-3f",
      path: "GET /anime/random?type&tags=a,b",
      paths: many(300, () => `/anime/random?type=${pick(types)}&tags=${encodeURIComponent(pair())}`),
    },
    {
      scenario: "search",
      path: "GET /anime/search?q=<realistic>",
      paths: realisticQueries(sample, random).map((q) => `/anime/search?q=${encodeURIComponent(q)}`),
    },
    {
      scenario: "browse",
      path: "GET /anime/search?<filters>&sort",
      paths: many(300, () => `/anime/search?${oneFilter()}${random() < 0.5 ? `&tags=${encodeURIComponent(pick(tags))}` : ""}&sort=${pick(sorts)}&page=${1 + Math.floor(random() * 3)}`),
    },
    { scenario: "details", path: "GET /anime/entry/{id}/details", paths: many(5000, () => `/anime/entry/${id()}/details`) },
    {
      scenario: "bulk",
      path: "GET /anime/entries?ids=<20 ids>",
      paths: many(2000, () => `/anime/entries?ids=${Array.from({ length: 20 }, id).join(",")}`),
    },
    // Details over every id: nearly every answer a miss of the details cache (what the details row's
    // cached answers cost when first asked for). Last: it fills the cache, and later rows' memory would show it.
    { scenario: "details-cold", path: "GET /anime/entry/{id}/details, every id", paths: shuffled(min, max, random).map((n) => `/anime/entry/${n}/details`) },
  ];
}

/** The integers min..max in a random order. */
function shuffled(min: number, max: number, random: () => number): number[] {
  const values = Array.from({ length: max - min + 1 }, (_, i) => min + i);
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

/** The mixes for the catalogue in a database (its id range, and the search sample read from it). */
export async function findingRowsIn(sql: Sql, n: number): Promise<FindingRow[]> {
  const ids = await idRange(sql);
  const sample = await sql<{ title: string; synonyms: string[] }[]>`
    select title, synonyms from anime where id % ${searchSampleStep(n)} = 0 order by id limit ${SEARCH_SAMPLE_SIZE}`;
  return findingRows(n, ids, sample);
}
