// Deciding what an import changes, given the release's entries and the catalogue as it is. Pure, so
// the rules (which row an entry keeps, what counts as changed) can be read and tested on their own.
import { type AnimeRow, serializeAnime, serializeDetails } from "../catalogue-data.ts";

export interface CurrentCatalogue {
  /** Every anime row's id and stored body. */
  bodies: Map<number, string>;
  /** Every anime row's stored details (null for a row imported before they were kept). */
  details: Map<number, string | null>;
  /** Every source URL and the id of the row it belongs to. */
  sourceOwners: Map<string, number>;
  /** Ids of the anime on someone's list: a prune keeps them (read only for a prune). */
  listedIds?: Set<number>;
}

export interface SourceAssignment {
  url: string;
  anime_id: number;
}

/** A row as written: its API body (which holds its id) and its serialized details. */
export interface StoredEntry {
  body: string;
  details: string;
}

export interface CataloguePlan {
  /** The rows to insert, and the rows to overwrite. */
  inserts: StoredEntry[];
  updates: StoredEntry[];
  /** Source URLs not in the catalogue yet, and URLs that move to another row. */
  newSources: SourceAssignment[];
  movedSources: SourceAssignment[];
  /** Source URLs that a row in the release no longer lists and no other entry took. */
  staleSources: string[];
  prunedIds: number[];
  counts: { inserted: number; updated: number; unchanged: number; pruned: number; keptListed: number };
}

/**
 * The existing row each entry keeps, or undefined for a new entry. An entry matches every row that
 * shares a source URL with it; it takes the oldest (lowest id) one no earlier entry has taken, so
 * when a release merges two entries the merged one keeps the older id.
 */
export function matchExistingIds(rows: AnimeRow[], sourceOwners: Map<string, number>): (number | undefined)[] {
  const claimed = new Set<number>();
  return rows.map((row) => {
    const candidates = row.sources.map((url) => sourceOwners.get(url)).filter((id) => id !== undefined);
    const id = candidates.sort((a, b) => a - b).find((candidate) => !claimed.has(candidate));
    if (id !== undefined) claimed.add(id);
    return id;
  });
}

/** `ids[i]` is the id of `rows[i]`: its matched row's, or a freshly allocated one. */
export function planChanges(rows: AnimeRow[], ids: number[], current: CurrentCatalogue, prune: boolean): CataloguePlan {
  const sourcesByAnime = groupSourcesByAnime(current.sourceOwners);
  const urlsInRelease = new Set(rows.flatMap((row) => row.sources));
  const plan: CataloguePlan = {
    inserts: [],
    updates: [],
    newSources: [],
    movedSources: [],
    staleSources: [],
    prunedIds: [],
    counts: { inserted: 0, updated: 0, unchanged: 0, pruned: 0, keptListed: 0 },
  };

  rows.forEach((row, i) => {
    const id = ids[i]!; // one id per row
    const body = serializeAnime(id, row);
    const details = serializeDetails(row.details);
    const previousBody = current.bodies.get(id);
    const changed = body !== previousBody || details !== current.details.get(id);
    const reassigned = row.sources.filter((url) => current.sourceOwners.get(url) !== id);
    const dropped = (sourcesByAnime.get(id) ?? []).filter((url) => !row.sources.includes(url));

    if (previousBody === undefined) plan.inserts.push({ body, details });
    else if (changed) plan.updates.push({ body, details });
    for (const url of reassigned) {
      const moves = current.sourceOwners.has(url);
      (moves ? plan.movedSources : plan.newSources).push({ url, anime_id: id });
    }
    plan.staleSources.push(...dropped.filter((url) => !urlsInRelease.has(url)));

    if (previousBody === undefined) plan.counts.inserted++;
    else if (changed || reassigned.length || dropped.length) plan.counts.updated++;
    else plan.counts.unchanged++;
  });

  if (prune) {
    const kept = new Set(ids);
    const absent = [...current.bodies.keys()].filter((id) => !kept.has(id));
    plan.prunedIds = absent.filter((id) => !current.listedIds?.has(id));
    plan.counts.pruned = plan.prunedIds.length;
    plan.counts.keptListed = absent.length - plan.prunedIds.length;
  }
  return plan;
}

function groupSourcesByAnime(sourceOwners: Map<string, number>): Map<number, string[]> {
  const byAnime = new Map<number, string[]>();
  for (const [url, id] of sourceOwners) {
    const urls = byAnime.get(id);
    if (urls) urls.push(url);
    else byAnime.set(id, [url]);
  }
  return byAnime;
}
