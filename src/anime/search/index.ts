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
import { LRUCache } from "lru-cache";
import { DIGITS_ONLY, Dictionary, GrowableInts, TermTable } from "./dictionary.ts";
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

const CJK_SEPARATOR = "\u0001";
/** The typo walks remembered, per index (a walk finds tens of terms: ~2,000 words). */
const WALK_CACHE_BYTES = 1024 * 1024;
const EMPTY = new Int32Array(0);

/** What scored finds: entries[0, count) ascending, and scores[i] the score of entries[i]. */
export interface ScoredEntries {
  entries: Int32Array;
  scores: Int32Array;
  count: number;
}

const NOTHING_SCORED: ScoredEntries = { entries: EMPTY, scores: EMPTY, count: 0 };

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
  terms: TermKinds;
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

/**
 * How dictionary terms match a query word: a few single terms (the word itself, typo matches) and the
 * run of terms the word begins (contiguous in the sorted dictionary, possibly thousands: `123` begins
 * every number from 1230 to 123999). A Map of a thousand terms cost more than the rest of the search.
 */
class TermKinds {
  private readonly singles: number[] = [];
  private readonly singleKinds: number[] = [];
  private begunFrom = 0;
  private begunTo = 0;

  get size(): number {
    return this.singles.length + this.begunTo - this.begunFrom;
  }

  has(term: number): boolean {
    return (term >= this.begunFrom && term < this.begunTo) || this.singles.includes(term);
  }

  get(term: number): number | undefined {
    if (term >= this.begunFrom && term < this.begunTo) return PARTIAL;
    const at = this.singles.indexOf(term);
    return at < 0 ? undefined : this.singleKinds[at];
  }

  /** Adds a term that is not there yet. */
  set(term: number, kind: number): void {
    this.singles.push(term);
    this.singleKinds.push(kind);
  }

  /** Adds the terms [from, to) as begun (PARTIAL); none of them is there yet. Once. */
  setBegun(from: number, to: number): void {
    this.begunFrom = from;
    this.begunTo = Math.max(from, to);
  }

  forEach(visit: (term: number, kind: number) => void): void {
    for (let i = 0; i < this.singles.length; i++) visit(this.singles[i]!, this.singleKinds[i]!);
    for (let term = this.begunFrom; term < this.begunTo; term++) visit(term, PARTIAL);
  }

  keys(): number[] {
    const keys = this.singles.slice();
    for (let term = this.begunFrom; term < this.begunTo; term++) keys.push(term);
    return keys;
  }
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
    private readonly gramKeys: Uint32Array,
    private readonly gramStart: Int32Array,
    private readonly gramNames: Int32Array,
  ) {
    this.termSlot = new Int32Array(dictionary.length);
  }

  /** Scratch for one search at a time (searches are synchronous): which query-matched term a term is. */
  private readonly termSlot: Int32Array;
  private readonly walks = new LRUCache<string, Int32Array>({
    maxSize: WALK_CACHE_BYTES,
    sizeCalculation: (found, text) => found.byteLength + text.length * 2 + 64,
  });

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
      this.entryNameStart, this.entryIds, this.cjkStart, this.cjkName, this.gramKeys, this.gramStart, this.gramNames,
    ].reduce((sum, array) => sum + array.byteLength, 0);
    return arrays + this.cjkText.length * 2 + this.dictionary.memoryBytes;
  }

  get entryCount(): number {
    return this.entryIds.length;
  }

  /** The entries' ids, ascending: an entry is an index into it. */
  get ids(): Int32Array {
    return this.entryIds;
  }

  /**
   * Every entry matching q, best first (relevance, ties by id ascending).
   * `typos` (for tests): how words other than the most selective find their typo matches — by walking the
   * dictionary (auto, walk), or by checking the candidates' words (check); `narrow` (for tests): whether the
   * other words narrow the candidates by their postings; the answer, and its order, are the same.
   */
  search(q: string, typos: "auto" | "walk" | "check" = "auto", narrow = true): Int32Array {
    const { entries, scores, count } = this.scored(q, typos, narrow);
    const order = sortByScore(scores, entries, count);
    const ids = new Int32Array(count);
    for (let r = 0; r < count; r++) ids[r] = this.entryIds[order[r]!]!;
    return ids;
  }

  /**
   * Every entry matching q (an index into `ids`), ascending, with its score: smaller is better, and
   * search's order is by score, ties by entry. Views of working arrays, valid (and the caller's to
   * overwrite) until the next search: a caller that needs only the best few, or only the count, ranks
   * no more than it reads.
   */
  scored(q: string, typos: "auto" | "walk" | "check" = "auto", narrow = true): ScoredEntries {
    const scanner = queryScanner.scan(q);
    const texts = scanner.words();
    const literal = scanner.literalHash;
    if (texts.length === 0) return NOTHING_SCORED;
    const queryWords = distinctWords(texts).map((word) => this.analyse(word));
    if (queryWords.some((word) => word.cost === 0 && word.typoLimit === 0)) return NOTHING_SCORED;
    // Every word's typo matches come from a walk over the dictionary's trie (bounded by the word's length
    // and allowance, a few hundred rows): then each word knows every term that can match it, the
    // candidates come from the rarest, and the other words narrow them by their postings.
    if (typos !== "check") for (const word of queryWords) if (word.typoLimit > 0) this.addTypos(word);
    const estimate = (word: QueryWord) => (word.walked || word.typoLimit === 0 ? word.cost : word.cost + this.dictionary.length / (word.typoLimit === 2 ? 8 : 64));
    const selective = queryWords.reduce((best, word) => (estimate(word) < estimate(best) ? word : best));
    if (selective.typoLimit > 0 && !selective.walked) this.addTypos(selective);
    if (selective.cjk) {
      selective.cjkNames = this.namesContaining(selective.text);
      selective.walked = true; // its names are the candidates
    }
    if (selective.cost === 0) return NOTHING_SCORED;
    let candidates = selective.cjk ? selective.cjkNames : this.namesOf(selective.candidateTerms);
    const narrowing = queryWords.filter((word) => word !== selective && (word.cjk || word.walked || word.typoLimit === 0));
    const narrowedBy = new Set([selective]);
    for (const word of narrowing.sort((a, b) => a.cost - b.cost)) {
      if (candidates.length < NARROW_FROM || !narrow) break;
      narrowedBy.add(word);
      if (word.cjk) {
        // a one-character word: the names with a pair it begins; a longer one: those with each of its pairs
        const ranges = this.gramRanges(word.text) ?? [];
        if (word.text.length === 1) candidates = keepHaving(candidates, this.gramNames, ranges, scratch(0, candidates.length));
        else for (const range of ranges) candidates = keepHaving(candidates, this.gramNames, [range], scratch(0, candidates.length));
        // one or two characters: having the pair is containing the word (as namesContaining knows)
        if (word.text.length <= 2) word.walked = true;
      } else if (word.candidateTerms.length <= NARROW_TERMS) {
        const ranges = word.candidateTerms.map((t) => ({ from: this.postingStart[t]!, to: this.postingStart[t + 1]! }));
        candidates = keepHaving(candidates, this.postings, ranges, scratch(0, candidates.length));
      }
    }
    // When each word matches one term only, as a whole word, and the candidates all have each such term,
    // every word matches every candidate whole: scoring needs no look at the words.
    const allWhole = queryWords.every((word) => narrowedBy.has(word) && isOneWholeTerm(word));
    const matches = this.markTerms(queryWords);
    try {
      return this.rank(candidates, queryWords, matches, texts.join(""), literal, texts.length, allWhole);
    } finally {
      for (const term of matches.terms) this.termSlot[term] = 0;
    }
  }

  /** Notes in termSlot which terms some query word matches, and how, for the checks of every candidate. */
  private markTerms(queryWords: QueryWord[]): TermMatches {
    const terms: number[] = [];
    for (const word of queryWords) {
      word.terms.forEach((term) => {
        if (this.termSlot[term] === 0) {
          terms.push(term);
          this.termSlot[term] = terms.length;
        }
      });
    }
    const kinds = new Uint8Array(terms.length * queryWords.length).fill(NO_MATCH);
    queryWords.forEach((word, w) => {
      word.terms.forEach((term, kind) => (kinds[(this.termSlot[term]! - 1) * queryWords.length + w] = kind));
    });
    return { terms, kinds };
  }

  /** The entries of the candidate names that match, each with its best name's score. */
  private rank(
    candidates: Int32Array, queryWords: QueryWord[], matches: TermMatches, key: string, literal: number, queryWordCount: number, allWhole: boolean,
  ): ScoredEntries {
    const scores = scratch(1, candidates.length);
    const entries = scratch(2, candidates.length);
    const entryCount = this.entryIds.length;
    // How every candidate matches, when that is known without looking at its words: all whole (allWhole),
    // or, for a query of one CJK word whose names are the candidates, whole for the names that have it
    // as a word (its term's postings, walked alongside) and begun for the others.
    let known = allWhole ? WHOLE : -1;
    const sole = queryWords.length === 1 && queryWords[0]!.cjk && queryWords[0]!.walked ? queryWords[0]! : undefined;
    const whole = sole === undefined ? -1 : this.dictionary.find(sole.text);
    let cursor = whole < 0 ? 0 : this.postingStart[whole]!;
    const cursorEnd = whole < 0 ? 0 : this.postingStart[whole + 1]!;
    let count = 0;
    let entry = 0;
    let entryBest = -1;
    for (let c = 0; c < candidates.length; c++) {
      const name = candidates[c]!;
      if (sole !== undefined) {
        cursor = seek(this.postings, cursor, cursorEnd, name);
        known = cursor < cursorEnd && this.postings[cursor] === name ? WHOLE : PARTIAL;
      }
      if (this.entryNameStart[entry + 1]! <= name) {
        // the entry of the name: the last whose first name is not after it (galloping: candidates may be far apart)
        const next = seek(this.entryNameStart, entry + 1, entryCount + 1, name + 1) - 1;
        if (entryBest >= 0) {
          scores[count] = entryBest;
          entries[count++] = entry;
        }
        entry = next;
        entryBest = -1;
      }
      const score = this.score(name, this.entryNameStart[entry] === name, queryWords, matches, key, literal, queryWordCount, known);
      if (score >= 0 && (entryBest < 0 || score < entryBest)) entryBest = score;
    }
    if (entryBest >= 0) {
      scores[count] = entryBest;
      entries[count++] = entry;
    }
    return { entries, scores, count };
  }

  /**
   * The rank of `name` for the query (smaller is better), or -1 when some word does not match it.
   * `known`: how every word matches the name, when the caller knows it (no typo); -1 to look.
   */
  private score(
    name: number, isTitle: boolean, queryWords: QueryWord[], matches: TermMatches, key: string, literal: number, queryWordCount: number,
    known: number,
  ): number {
    const from = this.nameWordStart[name]!;
    const to = this.nameWordStart[name + 1]!;
    let worst = known < 0 ? WHOLE : known;
    let typos = 0;
    for (let w = 0; w < queryWords.length && known < 0; w++) {
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
    // tier (3 bits) · typos (4) · extra words (6) · synonym (1) · length (8): below 2^22 (sortByScore)
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
    const few = matches.terms.length <= FEW_TERMS;
    for (let p = from; p < to; p++) {
      const term = this.nameWords[p]!;
      // with few matched terms, comparing with them spares a read of termSlot far away (a cache miss)
      let slot = 0;
      if (few) {
        for (let k = 0; k < matches.terms.length; k++) {
          if (matches.terms[k] === term) {
            slot = k + 1;
            break;
          }
        }
      } else slot = this.termSlot[term]!;
      if (slot === 0) continue;
      const kind = matches.kinds[(slot - 1) * wordCount + w]!;
      if (kind < best) best = kind;
    }
    if (best === WHOLE) return best;
    // the selective CJK word's names are the candidates: every candidate has it
    if (word.cjk) return word.walked || this.hasCjkText(name, word.text) ? Math.min(best, PARTIAL) : best;
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
    const terms = new TermKinds();
    const exact = this.dictionary.find(text);
    if (exact >= 0) terms.set(exact, WHOLE);
    const cjk = hasCjk(text);
    const word: QueryWord = {
      text, isLast, cjk, terms, cjkNames: EMPTY, candidateTerms: [], cost: 0,
      typoLimit: cjk || text.length - 2 > this.dictionary.longest ? 0 : typosAllowed(text.length + 2), walked: false, typoCache: new Map(),
    };
    if (word.cjk) {
      word.cost = this.cjkCost(text);
      return word;
    }
    if (isLast && text.length >= MIN_PREFIX) {
      const end = this.dictionary.prefixEnd(text);
      // the words it begins: the dictionary's words from it on (the word itself, when there, is first)
      terms.setBegun(exact >= 0 ? exact + 1 : this.dictionary.lowerBound(text), end);
    }
    const candidateTerms = terms.keys();
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
    const found = this.typoMatchesOf(word.text);
    for (let i = 0; i < found.length; i += 2) {
      const term = found[i]!;
      if (word.terms.has(term)) continue;
      word.terms.set(term, found[i + 1]!);
      word.candidateTerms.push(term);
      word.cost += this.postingStart[term + 1]! - this.postingStart[term]!;
    }
    word.walked = true;
  }

  /** The typo walk's (term, kind) pairs for a word, remembered: queries share words, and walks were most of a search's time. */
  private typoMatchesOf(text: string): Int32Array {
    const known = this.walks.get(text);
    if (known !== undefined) return known;
    const pairs: number[] = [];
    this.typoWalk(text, (term, kind) => pairs.push(term, kind));
    const found = Int32Array.from(pairs);
    this.walks.set(text, found);
    return found;
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
  private typoWalk(text: string, found: (term: number, kind: number) => void): void {
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
    // A term of digits only is at least as many typos away as the query has other characters, and one
    // without digits as many as the query has digits: whole runs of such terms are skipped.
    let digits = 0;
    for (let j = 0; j < length; j++) if (query[j]! >= 48 && query[j]! <= 57) digits++;
    const skipKind = (kind: number) => (kind === DIGITS_ONLY ? length - digits > limit : digits > limit);
    const runs = dictionary.digitRuns;
    let run = 0;
    let validDepth = 0;
    let index = 0;
    while (index < count) {
      while (run < runs.length && runs[run + 1]! <= index) run += 3;
      if (run < runs.length && runs[run]! <= index && skipKind(runs[run + 2]!)) {
        index = runs[run + 1]!;
        validDepth = 0;
        continue;
      }
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
        index = dictionary.endOfPrefix(index, depth, count);
        continue;
      }
      validDepth = termLength;
      const distance = Math.abs(termLength - length) <= limit ? rows[termLength]![length]! : FAR;
      // each term is met once (the walk only moves on)
      if (distance > 0 && distance <= typosAllowed(termLength)) found(index, TYPO + distance);
      index++;
    }
  }

  /** Names (sorted, distinct) that have any of the terms. */
  private namesOf(termIds: number[]): Int32Array {
    if (termIds.length === 1) return this.postings.subarray(this.postingStart[termIds[0]!]!, this.postingStart[termIds[0]! + 1]!);
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

  /**
   * The postings of the CJK character pairs a CJK word needs: for one character, every pair it begins
   * (a name has it iff it has one of them); for more, each pair of adjacent characters (a name has the
   * word only if it has all of them). Undefined when a needed pair occurs nowhere.
   */
  private gramRanges(text: string): { from: number; to: number }[] | undefined {
    if (text.length === 1) {
      const first = text.charCodeAt(0) * 0x10000;
      const low = lowerBoundUnsigned(this.gramKeys, first);
      const high = lowerBoundUnsigned(this.gramKeys, first + 0x10000);
      const ranges = [];
      for (let k = low; k < high; k++) ranges.push({ from: this.gramStart[k]!, to: this.gramStart[k + 1]! });
      return ranges;
    }
    const ranges = [];
    for (let i = 0; i + 1 < text.length; i++) {
      const key = text.charCodeAt(i) * 0x10000 + text.charCodeAt(i + 1);
      const k = lowerBoundUnsigned(this.gramKeys, key);
      if (k >= this.gramKeys.length || this.gramKeys[k] !== key) return undefined;
      ranges.push({ from: this.gramStart[k]!, to: this.gramStart[k + 1]! });
    }
    return ranges;
  }

  /** About how many names a CJK word draws as candidates (0 when none has it). */
  private cjkCost(text: string): number {
    const ranges = this.gramRanges(text);
    if (ranges === undefined) return 0;
    if (text.length === 1) return ranges.reduce((sum, range) => sum + range.to - range.from, 0);
    return ranges.reduce((least, range) => Math.min(least, range.to - range.from), Infinity);
  }

  /** Names whose CJK text (words written together) contains `text`, sorted. */
  private namesContaining(text: string): Int32Array {
    const ranges = this.gramRanges(text);
    if (ranges === undefined || ranges.length === 0) return EMPTY;
    if (text.length === 1) return mergeSorted(ranges.map(({ from, to }) => this.gramNames.subarray(from, to)));
    if (text.length === 2) return this.gramNames.subarray(ranges[0]!.from, ranges[0]!.to); // its one pair's names
    ranges.sort((a, b) => a.to - a.from - (b.to - b.from));
    const rarest = ranges[0]!;
    const found = new Int32Array(rarest.to - rarest.from);
    let count = 0;
    next: for (let p = rarest.from; p < rarest.to; p++) {
      const name = this.gramNames[p]!;
      for (let r = 1; r < ranges.length; r++) if (!sortedRangeHas(this.gramNames, ranges[r]!.from, ranges[r]!.to, name)) continue next;
      // two characters are one pair: having it is having the word; longer words are checked in the text
      if (text.length > 2 && !this.hasCjkText(name, text)) continue;
      found[count++] = name;
    }
    return found.subarray(0, count);
  }

  /** Whether the name's CJK text (its words written together) contains `text`. */
  private hasCjkText(name: number, text: string): boolean {
    let low = 0;
    let high = this.cjkName.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.cjkName[middle]! < name) low = middle + 1;
      else high = middle;
    }
    if (this.cjkName[low] !== name) return false;
    const from = this.cjkStart[low]!;
    const last = this.cjkStart[low + 1]! - text.length;
    const first = text.charCodeAt(0);
    outer: for (let at = from; at <= last; at++) {
      if (this.cjkText.charCodeAt(at) !== first) continue;
      for (let i = 1; i < text.length; i++) if (this.cjkText.charCodeAt(at + i) !== text.charCodeAt(i)) continue outer;
      return true;
    }
    return false;
  }
}

/** The first index of the sorted array whose value is not below `value`. */
function lowerBoundUnsigned(sorted: Uint32Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Whether sorted[from, to) holds value. */
function sortedRangeHas(sorted: Int32Array, from: number, to: number, value: number): boolean {
  let low = from;
  let high = to;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low < to && sorted[low] === value;
}

const FAR = 1 << 20;
/** Up to this many terms matched by the query, a name's words are compared with them rather than looked up. */
const FEW_TERMS = 8;
/** Narrowing the candidates by another word's postings pays from this many candidates on, */
const NARROW_FROM = 32;
/** for a word with at most this many terms (a begun or typo'd word may have hundreds). */
const NARROW_TERMS = 64;

/**
 * The candidates (sorted names) found in one of the ranges of `lists` (each sorted): every name a word
 * matches is in one of its candidate terms' postings (a whole, begun or typo match, or the first word of a
 * join), or for a CJK word in its character pairs'. Walks each range alongside, galloping between candidates.
 */
function keepHaving(candidates: Int32Array, lists: Int32Array, ranges: { from: number; to: number }[], out: Int32Array): Int32Array {
  const only = ranges.length === 1 ? ranges[0]! : undefined;
  if (only && only.to - only.from <= MERGE_RATIO * candidates.length) return keepInRange(candidates, lists, only.from, only.to, out);
  const cursors = Int32Array.from(ranges, (range) => range.from);
  const ends = Int32Array.from(ranges, (range) => range.to);
  // `out` may be the candidates' own memory: a name is written no later than it was read
  const narrowed = out;
  let kept = 0;
  for (let c = 0; c < candidates.length; c++) {
    const name = candidates[c]!;
    for (let k = 0; k < cursors.length; k++) {
      const at = seek(lists, cursors[k]!, ends[k]!, name);
      cursors[k] = at;
      if (at < ends[k]! && lists[at] === name) {
        narrowed[kept++] = name;
        break;
      }
    }
  }
  return narrowed.subarray(0, kept);
}

/** Up to this many list items a candidate, a plain merge beats galloping (two broad words: both lists long). */
const MERGE_RATIO = 8;

/** keepHaving for one range, by a plain merge of the two sorted lists. */
function keepInRange(candidates: Int32Array, lists: Int32Array, from: number, to: number, out: Int32Array): Int32Array {
  let kept = 0;
  let at = from;
  for (let c = 0; c < candidates.length && at < to; c++) {
    const name = candidates[c]!;
    while (at < to && lists[at]! < name) at++;
    if (at < to && lists[at] === name) out[kept++] = name;
  }
  return out.subarray(0, kept);
}

/** The first index in sorted[from, to) whose value is not below `value`: gallops, then halves. */
function seek(sorted: Int32Array, from: number, to: number, value: number): number {
  if (from >= to || sorted[from]! >= value) return from;
  let low = from;
  let step = 1;
  while (low + step < to && sorted[low + step]! < value) {
    low += step;
    step *= 2;
  }
  let high = Math.min(low + step, to);
  low++;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

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

const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;

/**
 * The entries ordered by score, ties in their order (ascending): a stable least-significant-digit radix
 * sort in two passes of 11 bits (a score is below 2^22), linear however many entries match.
 */
function sortByScore(scores: Int32Array, entries: Int32Array, count: number): Int32Array<ArrayBufferLike> {
  let keys: Int32Array<ArrayBufferLike> = scores.subarray(0, count);
  let values: Int32Array<ArrayBufferLike> = entries.subarray(0, count);
  if (count <= SMALL_SORT) return insertionSort(keys, values);
  let nextKeys: Int32Array<ArrayBufferLike> = scratch(3, count);
  let nextValues: Int32Array<ArrayBufferLike> = scratch(4, count);
  const counts = new Int32Array(RADIX);
  for (let shift = 0; shift < 2 * RADIX_BITS; shift += RADIX_BITS) {
    counts.fill(0);
    for (let i = 0; i < count; i++) counts[(keys[i]! >>> shift) & (RADIX - 1)]!++;
    let total = 0;
    for (let b = 0; b < RADIX; b++) {
      const size = counts[b]!;
      counts[b] = total;
      total += size;
    }
    for (let i = 0; i < count; i++) {
      const at = counts[(keys[i]! >>> shift) & (RADIX - 1)]!++;
      nextKeys[at] = keys[i]!;
      nextValues[at] = values[i]!;
    }
    [keys, nextKeys] = [nextKeys, keys];
    [values, nextValues] = [nextValues, values];
  }
  return values;
}

/**
 * Working arrays reused by every search (searches are synchronous; results are copied out of them), so a
 * broad search does not leave a few hundred kilobytes of garbage each time: 0 the narrowed candidates,
 * 1 and 2 the scores and entries, 3 and 4 the radix sort's other half. They grow to the largest use.
 */
const scratchArrays: Int32Array[] = Array.from({ length: 5 }, () => new Int32Array(1024));

function scratch(which: number, length: number): Int32Array {
  let array = scratchArrays[which]!;
  if (array.length < length) {
    array = new Int32Array(Math.max(length, array.length * 2));
    scratchArrays[which] = array;
  }
  return array;
}

/** Below this many entries an insertion sort beats clearing the radix counts. */
const SMALL_SORT = 48;

function insertionSort(keys: Int32Array, values: Int32Array): Int32Array {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    const value = values[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      values[j + 1] = values[j]!;
      j--;
    }
    keys[j + 1] = key;
    values[j + 1] = value;
  }
  return values;
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

/** Whether the word's candidates come from one term, which it matches as a whole word. */
function isOneWholeTerm(word: QueryWord): boolean {
  return !word.cjk && word.candidateTerms.length === 1 && word.terms.size === 1 && word.terms.get(word.candidateTerms[0]!) === WHOLE;
}

/** The query's words without repeats (they add nothing to an AND); the last one keeps its prefix rule. */
function distinctWords(texts: string[]): { text: string; isLast: boolean }[] {
  const last = texts[texts.length - 1]!;
  const earlier = new Set(texts.slice(0, -1));
  earlier.delete(last);
  return [...[...earlier].map((text) => ({ text, isLast: false })), { text: last, isLast: true }];
}

/** The union of sorted lists, sorted and distinct: merged two at a time, the shortest first. */
function mergeSorted(lists: Int32Array[]): Int32Array {
  if (lists.length === 0) return EMPTY;
  const queue = [...lists].sort((a, b) => a.length - b.length);
  while (queue.length > 1) {
    const a = queue.shift()!;
    const b = queue.shift()!;
    const merged = new Int32Array(a.length + b.length);
    let i = 0;
    let j = 0;
    let count = 0;
    while (i < a.length && j < b.length) {
      const x = a[i]!;
      const y = b[j]!;
      if (x <= y) i++;
      if (y <= x) j++;
      merged[count++] = x <= y ? x : y;
    }
    while (i < a.length) merged[count++] = a[i++]!;
    while (j < b.length) merged[count++] = b[j++]!;
    const result = merged.subarray(0, count);
    let at = 0;
    while (at < queue.length && queue[at]!.length < result.length) at++;
    queue.splice(at, 0, result);
  }
  return queue[0]!;
}

function distinctSorted(sorted: Int32Array): Int32Array {
  if (sorted.length < 2) return sorted;
  let write = 1;
  for (let read = 1; read < sorted.length; read++) {
    if (sorted[read] !== sorted[write - 1]) sorted[write++] = sorted[read]!;
  }
  return sorted.subarray(0, write);
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
  /** (character pair, name) of every CJK name, a pair once a name: the pair is first · 0x10000 + second (0: none) */
  private readonly gramKeys = new GrowableInts();
  private readonly gramNames = new GrowableInts();
  /** the pairs of the name being added (a name has few: a list checked by hand beats a Set) */
  private nameGrams: number[] = [];
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
      if (cjk) {
        this.addCjkName(scanner.chars.subarray(0, scanner.wordStart[scanner.count]!));
        this.addGrams(scanner);
      }
      this.nameCount++;
    }
  }

  /** The CJK character pairs of the scanned name: each CJK character with the one after it, if CJK. */
  private addGrams(scanner: WordScanner): void {
    const grams = this.nameGrams;
    grams.length = 0;
    for (let w = 0; w < scanner.count; w++) {
      if (scanner.cjk[w] !== 1) continue;
      const end = scanner.wordStart[w + 1]!;
      for (let i = scanner.wordStart[w]!; i < end; i++) {
        const nextIsCjk = i + 1 < end || (w + 1 < scanner.count && scanner.cjk[w + 1] === 1);
        const gram = scanner.chars[i]! * 0x10000 + (nextIsCjk ? scanner.chars[i + 1]! : 0);
        if (grams.includes(gram)) continue;
        grams.push(gram);
        this.gramKeys.push(gram | 0);
        this.gramNames.push(this.nameCount);
      }
    }
  }

  /** The pairs' postings: distinct pairs ascending, and for each the names that have it, ascending. */
  private gramPostings(): { keys: Uint32Array; start: Int32Array; names: Int32Array } {
    const raw = new Uint32Array(this.gramKeys.trimmed().buffer);
    // number the distinct pairs as met (one Map look-up a pair), then in key order
    const met = new Map<number, number>();
    const metOf = new Int32Array(raw.length);
    const metKeys: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      let m = met.get(raw[i]!);
      if (m === undefined) {
        m = metKeys.length;
        met.set(raw[i]!, m);
        metKeys.push(raw[i]!);
      }
      metOf[i] = m;
    }
    const byKey = Int32Array.from(metKeys, (_, m) => m).sort((a, b) => metKeys[a]! - metKeys[b]!);
    const rank = new Int32Array(metKeys.length);
    byKey.forEach((m, k) => (rank[m] = k));
    const keys = Uint32Array.from(byKey, (m) => metKeys[m]!);
    const start = new Int32Array(keys.length + 1);
    for (let i = 0; i < raw.length; i++) start[rank[metOf[i]!]! + 1]!++;
    for (let k = 0; k < keys.length; k++) start[k + 1]! += start[k]!;
    const fill = start.slice(0, keys.length);
    const names = new Int32Array(raw.length);
    for (let i = 0; i < raw.length; i++) names[fill[rank[metOf[i]!]!]!++] = this.gramNames.at(i);
    return { keys, start, names };
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
    const grams = this.gramPostings();
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
      grams.keys,
      grams.start,
      grams.names,
    );
  }
}
