// The in-memory search of GET /anime/search: which entries a `q` matches, best first.
//
// A name (the title or one synonym) is a sequence of words (normalise.ts). A query word matches a name when
// it is one of its words, or several adjacent words written together (`rezero` ↔ `Re:Zero`), or — the last
// query word only, from its third character — the beginning of those; when it is one wrong, missing, extra
// or swapped character away from a word of five or more characters (two from nine); and, a word in
// Chinese/Japanese/Korean script, when the name written without spaces and punctuation contains it.
// An entry matches when one of its names matches every query word.
//
// Everything is held in typed arrays: a sorted dictionary of distinct words, for each word the names that
// have it (postings), for each name its words (to check adjacency and rank), and the names with CJK text
// as one string scanned with indexOf.
import { Dictionary, GrowableInts, TermTable } from "./dictionary.ts";
import { MIN_PREFIX, WordScanner, hasCjk, typosAllowed } from "./normalise.ts";

export interface SearchDocument {
  id: number;
  title: string;
  synonyms: string[];
}

/** How a query word matched a name; smaller is better. Typos are TYPO + their count. */
const WHOLE = 0;
const PARTIAL = 1;
const TYPO = 2;
const NO_MATCH = 9;

const ENTRY_BITS = 2 ** 24;
const CJK_SEPARATOR = "\u0001";
const EMPTY = new Int32Array(0);

interface TermMatches {
  /** the terms marked in termSlot (slot = index + 1) */
  terms: number[];
  /** kinds[(slot - 1) * query words + w]: how the term matches query word w */
  kinds: Uint8Array;
}

const queryScanner = new WordScanner();

interface QueryWord {
  text: string;
  isLast: boolean;
  cjk: boolean;
  /** dictionary term → how it matches this word */
  terms: Map<number, number>;
  /** names that contain this CJK word (sorted), for CJK words */
  cjkNames: Int32Array;
  /** postings to draw candidates from when this word is the most selective */
  candidateTerms: number[];
  cost: number;
  /** the most typos any name word could forgive this word (0: none, or a CJK word) */
  typoLimit: number;
  /** whether the typo walk put this word's typo matches in `terms` (done for the most selective word only) */
  walked: boolean;
  /** for the other words: term → how it matches with typos, checked on the candidates' words */
  typoCache: Map<number, number>;
}

export class SearchIndex {
  /** Use build or buildInBackground. */
  constructor(
    private readonly dictionary: Dictionary,
    private readonly postingStart: Int32Array,
    private readonly postings: Int32Array,
    private readonly nameWordStart: Int32Array,
    private readonly nameWords: Int32Array,
    private readonly nameLiteral: Int32Array,
    private readonly nameKeyLength: Uint8Array,
    private readonly entryNameStart: Int32Array,
    private readonly entryIds: Int32Array,
    private readonly cjkText: string,
    private readonly cjkStart: Int32Array,
    private readonly cjkName: Int32Array,
  ) {
    this.termSlot = new Int32Array(dictionary.length);
  }

  /** Scratch for one search at a time (searches are synchronous): which query-matched term a term is. */
  private readonly termSlot: Int32Array;

  static build(documents: Iterable<SearchDocument>): SearchIndex {
    const builder = new Builder(sortedById(documents));
    while (!builder.done) builder.addSome(Infinity);
    return builder.finish();
  }

  /**
   * The same index, built in slices of `slice` entries with the event loop free between them (for a
   * server that answers other requests while its index builds at start-up).
   */
  static async buildInBackground(documents: Iterable<SearchDocument>, slice = 10_000): Promise<SearchIndex> {
    const builder = new Builder(sortedById(documents));
    while (!builder.done) {
      builder.addSome(slice);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return builder.finish();
  }

  /** Approximate bytes held: the typed arrays and the strings (two bytes a character, plus headers). */
  get memoryBytes(): number {
    const arrays = [
      this.postingStart, this.postings, this.nameWordStart, this.nameWords, this.nameLiteral, this.nameKeyLength, this.termSlot,
      this.entryNameStart, this.entryIds, this.cjkStart, this.cjkName,
    ].reduce((sum, array) => sum + array.byteLength, 0);
    return arrays + this.cjkText.length * 2 + this.dictionary.memoryBytes;
  }

  get entryCount(): number {
    return this.entryIds.length;
  }

  /**
   * Every entry matching q, best first (relevance, ties by id ascending).
   * `typos` (for tests): how words other than the most selective find their typo matches — by walking the
   * dictionary, by checking the candidates' words, or (auto) whichever is cheaper; the answer is the same.
   */
  search(q: string, typos: "auto" | "walk" | "check" = "auto"): Int32Array {
    const scanner = queryScanner.scan(q);
    const texts = scanner.words();
    const literal = scanner.literalHash;
    if (texts.length === 0) return EMPTY;
    const queryWords = distinctWords(texts).map((word) => this.analyse(word));
    if (queryWords.some((word) => word.cost === 0 && word.typoLimit === 0)) return EMPTY;
    // The candidates come from one word; the others are checked on them. A typo walk costs more as it
    // may forgive more, so it weighs in the choice, and only the chosen word walks.
    const estimate = (word: QueryWord) => word.cost + (word.typoLimit === 2 ? this.dictionary.length / 8 : word.typoLimit === 1 ? this.dictionary.length / 64 : 0);
    const selective = queryWords.reduce((best, word) => (estimate(word) < estimate(best) ? word : best));
    if (selective.typoLimit > 0) this.addTypos(selective);
    if (selective.cost === 0) return EMPTY;
    const candidates = selective.cjk ? selective.cjkNames : this.namesOf(selective.candidateTerms);
    // With many candidates, a walk is cheaper than checking each candidate's words for typos.
    for (const word of queryWords) {
      const walkWorth = this.dictionary.length / (word.typoLimit === 2 ? 4 : 32);
      const walk = typos === "walk" || (typos === "auto" && candidates.length > walkWorth);
      if (word.typoLimit > 0 && !word.walked && walk) this.addTypos(word);
    }
    const matches = this.markTerms(queryWords);
    try {
      return this.rank(candidates, queryWords, matches, texts.join(""), literal, texts.length);
    } finally {
      for (const term of matches.terms) this.termSlot[term] = 0;
    }
  }

  /** Notes in termSlot which terms some query word matches, and how, for the checks of every candidate. */
  private markTerms(queryWords: QueryWord[]): TermMatches {
    const terms: number[] = [];
    for (const word of queryWords) {
      for (const term of word.terms.keys()) {
        if (this.termSlot[term] === 0) {
          terms.push(term);
          this.termSlot[term] = terms.length;
        }
      }
    }
    const kinds = new Uint8Array(terms.length * queryWords.length).fill(NO_MATCH);
    queryWords.forEach((word, w) => {
      for (const [term, kind] of word.terms) kinds[(this.termSlot[term]! - 1) * queryWords.length + w] = kind;
    });
    return { terms, kinds };
  }

  private rank(candidates: Int32Array, queryWords: QueryWord[], matches: TermMatches, key: string, literal: number, queryWordCount: number): Int32Array {
    const ranked = new Float64Array(candidates.length);
    let count = 0;
    let entry = 0;
    let entryBest = -1;
    for (let c = 0; c < candidates.length; c++) {
      const name = candidates[c]!;
      let next = entry;
      while (this.entryNameStart[next + 1]! <= name) next++;
      if (next !== entry) {
        if (entryBest >= 0) ranked[count++] = entryBest * ENTRY_BITS + entry;
        entry = next;
        entryBest = -1;
      }
      const score = this.score(name, this.entryNameStart[entry] === name, queryWords, matches, key, literal, queryWordCount);
      if (score >= 0 && (entryBest < 0 || score < entryBest)) entryBest = score;
    }
    if (entryBest >= 0) ranked[count++] = entryBest * ENTRY_BITS + entry;
    const order = ranked.subarray(0, count).sort();
    const ids = new Int32Array(count);
    for (let r = 0; r < count; r++) ids[r] = this.entryIds[order[r]! % ENTRY_BITS]!;
    return ids;
  }

  /** The rank of `name` for the query (smaller is better), or -1 when some word does not match it. */
  private score(
    name: number, isTitle: boolean, queryWords: QueryWord[], matches: TermMatches, key: string, literal: number, queryWordCount: number,
  ): number {
    const from = this.nameWordStart[name]!;
    const to = this.nameWordStart[name + 1]!;
    let worst = WHOLE;
    let typos = 0;
    for (let w = 0; w < queryWords.length; w++) {
      const match = this.matchWord(queryWords[w]!, w, queryWords.length, matches, name, from, to);
      if (match === NO_MATCH) return -1;
      if (match > worst) worst = Math.min(match, TYPO);
      if (match >= TYPO) typos += match - TYPO;
    }
    const keyLength = this.nameKeyLength[name]!;
    let tier: number;
    if ((keyLength === key.length || keyLength === 255) && this.isKey(from, to, key)) tier = this.nameLiteral[name] === literal ? 0 : 1;
    else tier = 2 + worst;
    const extraWords = Math.max(0, to - from - queryWordCount);
    // tier (3 bits) · typos (4) · extra words (6) · synonym (1) · length (8)
    return (((tier * 16 + Math.min(typos, 15)) * 64 + Math.min(extraWords, 63)) * 2 + (isTitle ? 0 : 1)) * 256 + keyLength;
  }

  /** Whether the name's words written together are the query's. */
  private isKey(from: number, to: number, key: string): boolean {
    let position = 0;
    for (let p = from; p < to; p++) {
      const term = this.nameWords[p]!;
      if (!this.dictionary.occursAt(key, position, term)) return false;
      position += this.dictionary.lengthOf(term);
    }
    return position === key.length;
  }

  /** How well query word w matches the name whose words are nameWords[from, to). */
  private matchWord(word: QueryWord, w: number, wordCount: number, matches: TermMatches, name: number, from: number, to: number): number {
    let best = NO_MATCH;
    for (let p = from; p < to; p++) {
      const slot = this.termSlot[this.nameWords[p]!]!;
      if (slot === 0) continue;
      const kind = matches.kinds[(slot - 1) * wordCount + w]!;
      if (kind < best) best = kind;
    }
    if (best === WHOLE) return best;
    if (word.cjk) return binaryHas(word.cjkNames, name) ? Math.min(best, PARTIAL) : best;
    best = Math.min(best, this.matchJoined(word, from, to));
    if (best > PARTIAL && !word.walked && word.typoLimit > 0) best = Math.min(best, this.typoMatch(word, from, to));
    return best;
  }

  /** Several adjacent words of the name written together: `rezero`, `steinsgate`, last word `shingekinokyo`. */
  private matchJoined(word: QueryWord, from: number, to: number): number {
    const text = word.text;
    let best = NO_MATCH;
    for (let start = from; start < to - 1; start++) {
      const first = this.nameWords[start]!;
      const firstLength = this.dictionary.lengthOf(first);
      if (firstLength >= text.length || !this.dictionary.occursAt(text, 0, first)) continue;
      let position = firstLength;
      for (let p = start + 1; p < to; p++) {
        const term = this.nameWords[p]!;
        if (this.dictionary.occursAt(text, position, term)) {
          position += this.dictionary.lengthOf(term);
          if (position === text.length) return WHOLE;
          continue;
        }
        if (word.isLast && text.length >= MIN_PREFIX && this.dictionary.beginsWithRest(term, text, position)) best = PARTIAL;
        break;
      }
    }
    return best;
  }

  /** What a query word matches in the dictionary, and how many postings it would draw candidates from. */
  private analyse({ text, isLast }: { text: string; isLast: boolean }): QueryWord {
    const terms = new Map<number, number>();
    const exact = this.dictionary.find(text);
    if (exact >= 0) terms.set(exact, WHOLE);
    const cjk = hasCjk(text);
    const word: QueryWord = {
      text, isLast, cjk, terms, cjkNames: EMPTY, candidateTerms: [], cost: 0,
      typoLimit: cjk || text.length - 2 > this.dictionary.longest ? 0 : typosAllowed(text.length + 2), walked: false, typoCache: new Map(),
    };
    if (word.cjk) {
      word.cjkNames = this.namesContaining(text);
      word.cost = word.cjkNames.length;
      return word;
    }
    if (isLast && text.length >= MIN_PREFIX) {
      const end = this.dictionary.prefixEnd(text);
      for (let t = this.dictionary.lowerBound(text); t < end; t++) if (!terms.has(t)) terms.set(t, PARTIAL);
    }
    const candidateTerms = [...terms.keys()];
    for (let length = 1; length < Math.min(text.length, this.dictionary.longest + 1); length++) {
      const head = this.dictionary.find(text.slice(0, length));
      if (head >= 0 && !terms.has(head)) candidateTerms.push(head);
    }
    word.candidateTerms = candidateTerms;
    for (const t of candidateTerms) word.cost += this.postingStart[t + 1]! - this.postingStart[t]!;
    return word;
  }

  /** Adds the word's typo matches to its terms and candidates. */
  private addTypos(word: QueryWord): void {
    const found = new Map<number, number>();
    this.typoWalk(word.text, found);
    for (const [term, kind] of found) {
      if (word.terms.has(term)) continue;
      word.terms.set(term, kind);
      word.candidateTerms.push(term);
      word.cost += this.postingStart[term + 1]! - this.postingStart[term]!;
    }
    word.walked = true;
  }

  /** The best typo match of a word that did not walk, against the words of one name. */
  private typoMatch(word: QueryWord, from: number, to: number): number {
    let best = NO_MATCH;
    for (let p = from; p < to; p++) {
      const term = this.nameWords[p]!;
      const length = this.dictionary.lengthOf(term);
      const allowed = typosAllowed(length);
      if (allowed === 0 || Math.abs(length - word.text.length) > allowed) continue;
      let kind = word.typoCache.get(term);
      if (kind === undefined) {
        const distance = boundedDistance(word.text, this.dictionary.at(term), allowed);
        kind = distance <= allowed ? TYPO + distance : NO_MATCH;
        word.typoCache.set(term, kind);
      }
      if (kind < best) best = kind;
    }
    return best;
  }

  /**
   * Adds the dictionary words within the typo allowance of `text`: a walk over the sorted dictionary that
   * reuses the edit-distance rows of the prefix shared with the previous word and skips every word under
   * a prefix that is already too far (optimal string alignment: substitutions, insertions, deletions and
   * swaps of adjacent characters).
   */
  private typoWalk(text: string, terms: Map<number, number>): void {
    const length = text.length;
    const limit = typosAllowed(length + 2);
    if (limit === 0) return;
    const query = new Int32Array(length);
    for (let j = 0; j < length; j++) query[j] = text.charCodeAt(j);
    const dictionary = this.dictionary;
    if (length - limit > dictionary.longest) return;
    const maxDepth = Math.min(length + limit, dictionary.longest);
    const rows: Int32Array[] = Array.from({ length: maxDepth + 1 }, () => new Int32Array(length + 2).fill(FAR));
    for (let j = 0; j <= Math.min(length, limit); j++) rows[0]![j] = j;
    const count = dictionary.latinEnd;
    const shared = dictionary.shared;
    const all = dictionary.text;
    let validDepth = 0;
    let index = 0;
    while (index < count) {
      const offset = dictionary.start[index]!;
      const termLength = dictionary.start[index + 1]! - offset;
      let depth = Math.min(validDepth, shared[index]!);
      let pruned = false;
      while (depth < termLength) {
        depth++;
        if (depth > maxDepth || fillRow(rows, depth, all, offset, query, limit) > limit) {
          pruned = true;
          break;
        }
      }
      if (pruned) {
        // skip every term under this prefix: they follow, sharing at least `depth` characters
        validDepth = depth - 1;
        index++;
        while (index < count && shared[index]! >= depth) index++;
        continue;
      }
      validDepth = termLength;
      const distance = Math.abs(termLength - length) <= limit ? rows[termLength]![length]! : FAR;
      if (distance > 0 && distance <= typosAllowed(termLength) && !terms.has(index)) terms.set(index, TYPO + distance);
      index++;
    }
  }

  /** Names (sorted, distinct) that have any of the terms. */
  private namesOf(termIds: number[]): Int32Array {
    let total = 0;
    for (const t of termIds) total += this.postingStart[t + 1]! - this.postingStart[t]!;
    const names = new Int32Array(total);
    let at = 0;
    for (const t of termIds) {
      const from = this.postingStart[t]!;
      const to = this.postingStart[t + 1]!;
      names.set(this.postings.subarray(from, to), at);
      at += to - from;
    }
    if (termIds.length > 1) names.sort();
    return distinctSorted(names);
  }

  /** Names whose CJK text (words written together) contains `text`, sorted. */
  private namesContaining(text: string): Int32Array {
    const found: number[] = [];
    let at = this.cjkText.indexOf(text);
    while (at >= 0) {
      let low = 0;
      let high = this.cjkName.length - 1;
      while (low < high) {
        const middle = (low + high + 1) >> 1;
        if (this.cjkStart[middle]! <= at) low = middle;
        else high = middle - 1;
      }
      found.push(this.cjkName[low]!);
      const next = this.cjkStart[low + 1]!;
      at = this.cjkText.indexOf(text, Math.max(at + 1, next));
    }
    return Int32Array.from(found);
  }
}

const FAR = 1 << 20;

/**
 * One edit-distance row for the term's prefix of `depth` characters, only within `limit` of the diagonal
 * (cells further out cannot end within the limit); returns the row's minimum.
 */
function fillRow(rows: Int32Array[], depth: number, all: string, offset: number, query: Int32Array, limit: number): number {
  const row = rows[depth]!;
  const above = rows[depth - 1]!;
  const twoAbove = depth >= 2 ? rows[depth - 2]! : undefined;
  const character = all.charCodeAt(offset + depth - 1);
  const before = depth >= 2 ? all.charCodeAt(offset + depth - 2) : -1;
  const low = Math.max(1, depth - limit);
  const high = Math.min(query.length, depth + limit);
  row[0] = depth;
  row[low - 1] = low === 1 ? depth : FAR;
  if (high + 1 <= query.length) row[high + 1] = FAR;
  let minimum = low === 1 ? depth : FAR;
  for (let j = low; j <= high; j++) {
    const cost = query[j - 1] === character ? 0 : 1;
    let value = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
    if (twoAbove !== undefined && j >= 2 && character === query[j - 2] && before === query[j - 1]) {
      value = Math.min(value, twoAbove[j - 2]! + 1);
    }
    row[j] = value;
    if (value < minimum) minimum = value;
  }
  return minimum;
}

/** Rows reused by boundedDistance (searches are synchronous). */
let distanceRows = [new Int32Array(64), new Int32Array(64), new Int32Array(64)] as const;

/** Optimal string alignment distance of a and b, or FAR once it must exceed `limit`. */
function boundedDistance(a: string, b: string, limit: number): number {
  if (distanceRows[0].length <= b.length) {
    const size = b.length * 2 + 1;
    distanceRows = [new Int32Array(size), new Int32Array(size), new Int32Array(size)];
  }
  let [twoAbove, above, row] = distanceRows;
  for (let j = 0; j <= b.length; j++) above[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const character = a.charCodeAt(i - 1);
    const before = i > 1 ? a.charCodeAt(i - 2) : -1;
    row[0] = i;
    let minimum = i;
    for (let j = 1; j <= b.length; j++) {
      const other = b.charCodeAt(j - 1);
      let value = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + (character === other ? 0 : 1));
      if (i > 1 && j > 1 && character === b.charCodeAt(j - 2) && before === other) value = Math.min(value, twoAbove[j - 2]! + 1);
      row[j] = value;
      if (value < minimum) minimum = value;
    }
    if (minimum > limit) return FAR;
    [twoAbove, above, row] = [above, row, twoAbove];
  }
  return above[b.length]! <= limit ? above[b.length]! : FAR;
}

/** The query's words without repeats (they add nothing to an AND); the last one keeps its prefix rule. */
function distinctWords(texts: string[]): { text: string; isLast: boolean }[] {
  const last = texts[texts.length - 1]!;
  const earlier = new Set(texts.slice(0, -1));
  earlier.delete(last);
  return [...[...earlier].map((text) => ({ text, isLast: false })), { text: last, isLast: true }];
}

function distinctSorted(sorted: Int32Array): Int32Array {
  if (sorted.length < 2) return sorted;
  let write = 1;
  for (let read = 1; read < sorted.length; read++) {
    if (sorted[read] !== sorted[write - 1]) sorted[write++] = sorted[read]!;
  }
  return sorted.subarray(0, write);
}

function binaryHas(sorted: Int32Array, value: number): boolean {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return sorted[low] === value;
}

/** For each term, the names that have it (once each, ascending): a compressed-row inversion of nameWords. */
function invert(termCount: number, nameWordStart: Int32Array, nameWords: Int32Array) {
  const postingStart = new Int32Array(termCount + 1);
  const nameCount = nameWordStart.length - 1;
  const counted = new Int32Array(termCount).fill(-1);
  for (let name = 0; name < nameCount; name++) {
    for (let p = nameWordStart[name]!; p < nameWordStart[name + 1]!; p++) {
      const term = nameWords[p]!;
      if (counted[term] === name) continue;
      counted[term] = name;
      postingStart[term + 1]!++;
    }
  }
  for (let t = 0; t < termCount; t++) postingStart[t + 1]! += postingStart[t]!;
  const postings = new Int32Array(postingStart[termCount]!);
  const fill = postingStart.slice(0, termCount);
  counted.fill(-1);
  for (let name = 0; name < nameCount; name++) {
    for (let p = nameWordStart[name]!; p < nameWordStart[name + 1]!; p++) {
      const term = nameWords[p]!;
      if (counted[term] === name) continue;
      counted[term] = name;
      postings[fill[term]!++] = name;
    }
  }
  return { postingStart, postings };
}

function sortedById(documents: Iterable<SearchDocument>): SearchDocument[] {
  const ordered: SearchDocument[] = Array.isArray(documents) ? documents : [...documents];
  const isSorted = ordered.every((document, i) => i === 0 || ordered[i - 1]!.id <= document.id);
  return isSorted ? ordered : [...ordered].sort((a, b) => a.id - b.id);
}

/** Reads the names of the documents (sorted by id) into the index's arrays, some entries at a time. */
class Builder {
  private readonly scanner = new WordScanner();
  private readonly table = new TermTable();
  private readonly entryIds: Int32Array;
  private readonly entryNameStart: Int32Array;
  // sized for about three names of four words an entry, as generated catalogues have; they grow past it
  private readonly nameWordStart: GrowableInts;
  private readonly nameWords: GrowableInts;
  private readonly nameLiteral: GrowableInts;
  private readonly nameKeyLength: GrowableInts;
  /** the CJK names' words written together, each followed by CJK_SEPARATOR */
  private cjkChars = new Uint16Array(1 << 16);
  private readonly cjkStart = new GrowableInts();
  private readonly cjkName = new GrowableInts();
  private cjkLength = 0;
  private nameCount = 0;
  private next = 0;

  constructor(private readonly documents: SearchDocument[]) {
    this.nameWordStart = new GrowableInts(documents.length * 3 + 1);
    this.nameWords = new GrowableInts(documents.length * 12);
    this.nameLiteral = new GrowableInts(documents.length * 3);
    this.nameKeyLength = new GrowableInts(documents.length * 3);
    this.entryIds = new Int32Array(documents.length);
    this.entryNameStart = new Int32Array(documents.length + 1);
  }

  get done(): boolean {
    return this.next >= this.documents.length;
  }

  addSome(count: number): void {
    const end = Math.min(this.documents.length, this.next + count);
    for (; this.next < end; this.next++) this.addEntry(this.next, this.documents[this.next]!);
  }

  private addEntry(entry: number, document: SearchDocument): void {
    const scanner = this.scanner;
    this.entryIds[entry] = document.id;
    this.entryNameStart[entry] = this.nameCount;
    for (let n = -1; n < document.synonyms.length; n++) {
      scanner.scan(n < 0 ? document.title : document.synonyms[n]!);
      if (scanner.count === 0 || this.nameLiteral.includes(scanner.literalHash, this.entryNameStart[entry]!)) continue;
      this.nameWordStart.push(this.nameWords.length);
      this.nameLiteral.push(scanner.literalHash);
      let cjk = false;
      let keyLength = 0;
      for (let w = 0; w < scanner.count; w++) {
        this.nameWords.push(this.table.intern(scanner, w));
        cjk ||= scanner.cjk[w] === 1;
        keyLength += scanner.wordStart[w + 1]! - scanner.wordStart[w]!;
      }
      this.nameKeyLength.push(Math.min(keyLength, 255));
      if (cjk) this.addCjkName(scanner.chars.subarray(0, scanner.wordStart[scanner.count]!));
      this.nameCount++;
    }
  }

  private addCjkName(chars: Uint16Array): void {
    const needed = this.cjkLength + chars.length + 1;
    if (needed > this.cjkChars.length) {
      const bigger = new Uint16Array(Math.max(needed, this.cjkChars.length * 2));
      bigger.set(this.cjkChars.subarray(0, this.cjkLength));
      this.cjkChars = bigger;
    }
    this.cjkStart.push(this.cjkLength);
    this.cjkName.push(this.nameCount);
    this.cjkChars.set(chars, this.cjkLength);
    this.cjkChars[this.cjkLength + chars.length] = CJK_SEPARATOR.charCodeAt(0);
    this.cjkLength = needed;
  }

  finish(): SearchIndex {
    this.entryNameStart[this.documents.length] = this.nameCount;
    this.nameWordStart.push(this.nameWords.length);
    this.cjkStart.push(this.cjkLength);
    // Sort the dictionary (for prefix ranges and the typo walk) and renumber the words of every name.
    const { dictionary, renumber } = Dictionary.fromTable(this.table);
    const words = this.nameWords.trimmed();
    for (let i = 0; i < words.length; i++) words[i] = renumber[words[i]!]!;
    const starts = this.nameWordStart.trimmed();
    const { postingStart, postings } = invert(dictionary.length, starts, words);
    return new SearchIndex(
      dictionary,
      postingStart,
      postings,
      starts,
      words,
      this.nameLiteral.trimmed(),
      Uint8Array.from(this.nameKeyLength.trimmed()),
      this.entryNameStart,
      this.entryIds,
      new TextDecoder("utf-16le").decode(this.cjkChars.subarray(0, this.cjkLength)),
      this.cjkStart.trimmed(),
      this.cjkName.trimmed(),
    );
  }
}
