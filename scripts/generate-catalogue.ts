// bun scripts/generate-catalogue.ts N out.(json|jsonl)[.zst] [--seed S] [--pretty]
// Writes a synthetic anime-offline-database release of N entries, in the real format: unique sources
// per entry, varied types, statuses, years and tags. The same N and seed always give the same file.
// Used by the importer's tests and by benchmarks.

const RELEASE_REPOSITORY = "https://github.com/manami-project/anime-offline-database";
const RAW_SCHEMAS = "https://raw.githubusercontent.com/manami-project/anime-offline-database/master/schemas";

export const RELEASE_METADATA = {
  license: {
    name: "Open Data Commons Open Database License (ODbL) v1.0 + Database Contents License (DbCL) v1.0",
    url: `${RELEASE_REPOSITORY}/blob/master/LICENSE`,
  },
  repository: RELEASE_REPOSITORY,
  scoreRange: { minInclusive: 1.0, maxInclusive: 10.0 },
  lastUpdate: "2025-01-04",
};

/** An entry with every field the dataset has (the importer only reads some of them). */
export interface GeneratedEntry {
  sources: string[];
  title: string;
  type: string;
  episodes: number;
  status: string;
  animeSeason: { season: string; year?: number };
  picture: string;
  thumbnail: string;
  duration?: { value: number; unit: "SECONDS" };
  score?: { arithmeticGeometricMean: number; arithmeticMean: number; median: number };
  synonyms: string[];
  studios: string[];
  producers: string[];
  relatedAnime: string[];
  tags: string[];
}

const WORDS = [
  "Crimson", "Academy", "Sky", "Blade", "Shōnen", "Lost", "Garden", "Star", "Requiem", "Tokyo", "Dragon",
  "Melody", "Ghost", "Summer", "Iron", "Kingdom", "Moon", "Café", "Rebellion", "Spirit", "Ocean", "Nocturne",
  "Paradox", "東京", "夢", "Clockwork", "Eden", "Frontier", "Wolf", "Lantern",
];
const TAGS = [
  "action", "adventure", "comedy", "drama", "fantasy", "horror", "mystery", "romance", "sci-fi", "slice of life",
  "sports", "supernatural", "thriller", "mecha", "music", "psychological", "school", "school life", "shounen",
  "seinen", "shoujo", "josei", "isekai", "magic", "military", "historical", "space", "time travel", "idols",
  "male protagonist", "female protagonist", "based on a manga", "based on a light novel", "original work",
  "dark fantasy", "coming of age", "gore", "violence", "école", "ëlves", "14th century", "cgi",
];
const STUDIOS = ["bones", "madhouse", "sunrise", "kyoto animation", "production i.g", "wit studio", "mappa", "trigger"];
const SEASONS = ["SPRING", "SUMMER", "FALL", "WINTER", "UNDEFINED"];
const TYPES: [string, number][] = [["TV", 35], ["MOVIE", 15], ["OVA", 15], ["ONA", 15], ["SPECIAL", 15], ["UNKNOWN", 5]];
const STATUSES: [string, number][] = [["FINISHED", 85], ["ONGOING", 5], ["UPCOMING", 5], ["UNKNOWN", 5]];
const NO_PICTURE = `${RELEASE_REPOSITORY.replace("github.com", "raw.githubusercontent.com")}/master/pics/no_pic.png`;
const NO_THUMBNAIL = NO_PICTURE.replace("no_pic", "no_pic_thumbnail");

/** mulberry32: small, fast, and good enough to vary test data reproducibly. */
export function randomSource(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[Math.floor(next() * items.length)]!; // next() < 1
  };
  return {
    chance: (probability: number) => next() < probability,
    integer: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick,
    weighted: (choices: [string, number][]) => {
      const [first] = choices;
      if (first === undefined) throw new Error("weighted pick from no choices");
      let roll = next() * choices.reduce((sum, [, weight]) => sum + weight, 0);
      for (const [choice, weight] of choices) if ((roll -= weight) < 0) return choice;
      return first[0];
    },
    some: <T>(items: readonly T[], max: number): T[] => {
      const count = Math.floor(next() * (max + 1));
      return Array.from({ length: count }, () => pick(items));
    },
  };
}

type Random = ReturnType<typeof randomSource>;

/** Provider URLs derived from the entry's index, so they are unique across the release. */
function sourcesFor(index: number, random: Random): string[] {
  const id = index + 1;
  const sources = [
    random.chance(0.6) && `https://anidb.net/anime/${id}`,
    random.chance(0.85) && `https://myanimelist.net/anime/${id}`,
    random.chance(0.75) && `https://anilist.co/anime/${id}`,
    random.chance(0.7) && `https://kitsu.app/anime/${id}`,
    random.chance(0.5) && `https://anime-planet.com/anime/synthetic-${id}`,
    random.chance(0.4) && `https://livechart.me/anime/${id}`,
    random.chance(0.3) && `https://notify.moe/anime/S${id.toString(36)}`,
  ].filter((url): url is string => typeof url === "string");
  if (sources.length === 0) sources.push(`https://anisearch.com/anime/${id}`);
  return sources.sort();
}

function episodesFor(type: string, random: Random): number {
  if (type === "TV") return random.pick([10, 12, 13, 24, 25, 26, 50, 51, 64, 148]);
  if (type === "MOVIE") return 1;
  if (type === "UNKNOWN") return random.integer(0, 1);
  return random.integer(1, 6);
}

export function generateEntry(index: number, random: Random): GeneratedEntry {
  const sources = sourcesFor(index, random);
  const type = random.weighted(TYPES);
  const hasPicture = sources.some((url) => url.includes("myanimelist"));
  const pictureBase = `https://cdn.myanimelist.net/images/anime/${random.integer(1, 1999)}/${100000 + index}`;
  const title = `${random.some(WORDS, 3).concat(random.pick(WORDS)).join(" ")} ${index + 1}`;
  const year = random.chance(0.9) ? random.integer(1960, 2026) : undefined;
  const score = random.integer(300, 900) / 100;
  return {
    sources,
    title,
    type,
    episodes: episodesFor(type, random),
    status: random.weighted(STATUSES),
    animeSeason: year === undefined ? { season: "UNDEFINED" } : { season: random.pick(SEASONS), year },
    picture: hasPicture ? `${pictureBase}.jpg` : NO_PICTURE,
    thumbnail: hasPicture ? `${pictureBase}t.jpg` : NO_THUMBNAIL,
    ...(random.chance(0.9) && { duration: { value: random.integer(60, 7200), unit: "SECONDS" as const } }),
    ...(random.chance(0.8) && { score: { arithmeticGeometricMean: score, arithmeticMean: score, median: score } }),
    synonyms: [...new Set(random.some(WORDS, 4).map((word) => `${word} ${title}`))],
    studios: [...new Set(random.some(STUDIOS, 2))],
    producers: [...new Set(random.some(STUDIOS, 3))],
    relatedAnime: index > 0 && random.chance(0.4) ? [`https://myanimelist.net/anime/${random.integer(1, index)}`] : [],
    tags: [...new Set(random.some(TAGS, 16))].sort(),
  };
}

export function generateEntries(count: number, seed = 1): GeneratedEntry[] {
  const random = randomSource(seed);
  return Array.from({ length: count }, (_, index) => generateEntry(index, random));
}

export type ReleaseFormat = "json" | "jsonl";

/** The release text: a JSON document (minified unless `pretty`) or JSON lines. */
export function serializeRelease(entries: unknown[], format: ReleaseFormat, pretty = false): string {
  if (format === "jsonl") {
    const metadata = { $schema: `${RAW_SCHEMAS}/anime-offline-database.jsonl.schema.json`, ...RELEASE_METADATA };
    return [metadata, ...entries].map((line) => JSON.stringify(line)).join("\n") + "\n";
  }
  const schema = `${RAW_SCHEMAS}/anime-offline-database${pretty ? "" : "-minified"}.schema.json`;
  return JSON.stringify({ $schema: schema, ...RELEASE_METADATA, data: entries }, null, pretty ? 2 : undefined);
}

/** Writes entries to `path`; the format comes from its name: .json or .jsonl, then optionally .zst. */
export async function writeRelease(path: string, entries: unknown[], options: { pretty?: boolean } = {}): Promise<void> {
  const compressed = path.endsWith(".zst");
  const format: ReleaseFormat = path.replace(/\.zst$/, "").endsWith(".jsonl") ? "jsonl" : "json";
  const text = serializeRelease(entries, format, options.pretty);
  await Bun.write(path, compressed ? Bun.zstdCompressSync(Buffer.from(text)) : text);
}

function usage(): never {
  console.error("usage: bun scripts/generate-catalogue.ts N out.(json|jsonl)[.zst] [--seed S] [--pretty]");
  process.exit(2);
}

if (import.meta.main) {
  const args = Bun.argv.slice(2);
  const seedAt = args.indexOf("--seed");
  const seed = seedAt === -1 ? 1 : Number(args[seedAt + 1]);
  const [count, out] = args.filter((arg, i) => !arg.startsWith("--") && (seedAt === -1 || i !== seedAt + 1));
  if (!Number.isInteger(Number(count)) || Number(count) < 0 || !out || !Number.isInteger(seed)) usage();
  if (!/\.jsonl?(\.zst)?$/.test(out)) usage();
  await writeRelease(out, generateEntries(Number(count), seed), { pretty: args.includes("--pretty") });
  console.error(`wrote ${Number(count).toLocaleString("en-US")} entries to ${out}`);
}
