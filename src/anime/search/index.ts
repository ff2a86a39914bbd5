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
  private constructor(
    private readonly terms: string[],
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
    this.termSlot = new Int32Array(terms.length);
    this.longestTerm = terms.reduce((longest, term) => Math.max(longest, term.length), 0);
    this.sharedPrefix = new Uint16Array(terms.length);
    for (let i = 1; i < terms.length; i++) this.sharedPrefix[i] = Math.min(commonPrefix(terms[i - 1]!, terms[i]!), 0xffff);
    let latinEnd = terms.length;
    while (latinEnd > 0 && hasCjk(terms[latinEnd - 1]!)) latinEnd--;
    this.latinEnd = latinEnd;
  }

  /** The terms from here on are all CJK, which a typo walk (of a non-CJK word) never matches. */
  private readonly latinEnd: number;

  /** sharedPrefix[i]: how many leading characters terms[i] shares with terms[i - 1] (the typo walk's trie). */
  private readonly sharedPrefix: Uint16Array;

  private readonly longestTerm: number;

  /** Scratch for one search at a time (searches are synchronous): which query-matched term a term is. */
  private readonly termSlot: Int32Array;

  static build(documents: Iterable<SearchDocument>): SearchIndex {
    const sorted = [...documents];
    if (sorted.some((document, i) => i > 0 && sorted[i - 1]!.id > document.id)) sorted.sort((a, b) => a.id - b.id);
    const scanner = new WordScanner();
    const dictionary = new TermTable();
    const entryIds = new Int32Array(sorted.length);
    const entryNameStart = new Int32Array(sorted.length + 1);
    const nameWordStart = new GrowableInts();
    const nameWords = new GrowableInts();
    const nameLiteral = new GrowableInts();
    const nameKeyLength = new GrowableInts();
    const cjkParts: string[] = [];
    const cjkStart = new GrowableInts();
    const cjkName = new GrowableInts();
    let cjkLength = 0;
    let nameCount = 0;
    for (let entry = 0; entry < sorted.length; entry++) {
      const document = sorted[entry]!;
      entryIds[entry] = document.id;
      entryNameStart[entry] = nameCount;
      for (let n = -1; n < document.synonyms.length; n++) {
        scanner.scan(n < 0 ? document.title : document.synonyms[n]!);
        if (scanner.count === 0 || nameLiteral.includes(scanner.literalHash, entryNameStart[entry]!)) continue;
        nameWordStart.push(nameWords.length);
        nameLiteral.push(scanner.literalHash);
        let cjk = false;
        let keyLength = 0;
        for (let w = 0; w < scanner.count; w++) {
          nameWords.push(dictionary.intern(scanner, w));
          cjk ||= scanner.cjk[w] === 1;
          keyLength += scanner.wordStart[w + 1]! - scanner.wordStart[w]!;
        }
        nameKeyLength.push(Math.min(keyLength, 255));
        if (cjk) {
          const joined = String.fromCharCode(...scanner.chars.subarray(0, scanner.wordStart[scanner.count]!));
          cjkStart.push(cjkLength);
          cjkName.push(nameCount);
          cjkParts.push(joined);
          cjkLength += joined.length + 1;
        }
        nameCount++;
      }
    }
    entryNameStart[sorted.length] = nameCount;
    nameWordStart.push(nameWords.length);
    cjkStart.push(cjkLength);

    // Sort the dictionary (for prefix ranges and the typo walk) and renumber the words of every name.
    const termList = dictionary.terms;
    const order = sortedOrder(termList);
    const terms = Array.from(order, (i) => termList[i]!);
    const renumber = new Int32Array(order.length);
    for (let newId = 0; newId < order.length; newId++) renumber[order[newId]!] = newId;
    const words = nameWords.trimmed();
    for (let i = 0; i < words.length; i++) words[i] = renumber[words[i]!]!;

    const starts = nameWordStart.trimmed();
    const { postingStart, postings } = invert(terms.length, starts, words);
    return new SearchIndex(
      terms,
      postingStart,
      postings,
      starts,
      words,
      nameLiteral.trimmed(),
      Uint8Array.from(nameKeyLength.trimmed()),
      entryNameStart,
      entryIds,
      cjkParts.join(CJK_SEPARATOR) + CJK_SEPARATOR,
      cjkStart.trimmed(),
      cjkName.trimmed(),
    );
  }

  /** Approximate bytes held: the typed arrays and the strings (two bytes a character, plus headers). */
  get memoryBytes(): number {
    const arrays = [
      this.postingStart, this.postings, this.nameWordStart, this.nameWords, this.nameLiteral, this.nameKeyLength, this.termSlot, this.sharedPrefix,
      this.entryNameStart, this.entryIds, this.cjkStart, this.cjkName,
    ].reduce((sum, array) => sum + array.byteLength, 0);
    let strings = this.cjkText.length * 2 + this.terms.length * 8;
    for (const term of this.terms) strings += 24 + term.length * 2;
    return arrays + strings;
  }

  get entryCount(): number {
    return this.entryIds.length;
  }

  /** Every entry matching q, best first (relevance, ties by id ascending). */
  search(q: string): Int32Array {
    const scanner = queryScanner.scan(q);
    const texts = scanner.words();
    const literal = scanner.literalHash;
    if (texts.length === 0) return EMPTY;
    const queryWords = distinctWords(texts).map((word) => this.analyse(word));
    if (queryWords.some((word) => word.cost === 0 && word.typoLimit === 0)) return EMPTY;
    // The candidates come from one word; the others are checked on them. A typo walk costs more as it
    // may forgive more, so it weighs in the choice, and only the chosen word walks.
    const estimate = (word: QueryWord) => word.cost + (word.typoLimit === 2 ? this.terms.length / 8 : word.typoLimit === 1 ? this.terms.length / 64 : 0);
    const selective = queryWords.reduce((best, word) => (estimate(word) < estimate(best) ? word : best));
    if (selective.typoLimit > 0) this.addTypos(selective);
    if (selective.cost === 0) return EMPTY;
    const candidates = selective.cjk ? selective.cjkNames : this.namesOf(selective.candidateTerms);
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
      const term = this.terms[this.nameWords[p]!]!;
      if (!key.startsWith(term, position)) return false;
      position += term.length;
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
      const first = this.terms[this.nameWords[start]!]!;
      if (first.length >= text.length || !text.startsWith(first)) continue;
      let position = first.length;
      for (let p = start + 1; p < to; p++) {
        const term = this.terms[this.nameWords[p]!]!;
        if (text.startsWith(term, position)) {
          position += term.length;
          if (position === text.length) return WHOLE;
          continue;
        }
        if (word.isLast && text.length >= MIN_PREFIX && term.length > text.length - position && term.startsWith(text.slice(position))) {
          best = PARTIAL;
        }
        break;
      }
    }
    return best;
  }

  /** What a query word matches in the dictionary, and how many postings it would draw candidates from. */
  private analyse({ text, isLast }: { text: string; isLast: boolean }): QueryWord {
    const terms = new Map<number, number>();
    const exact = this.find(text);
    if (exact >= 0) terms.set(exact, WHOLE);
    const cjk = hasCjk(text);
    const word: QueryWord = {
      text, isLast, cjk, terms, cjkNames: EMPTY, candidateTerms: [], cost: 0,
      typoLimit: cjk || text.length - 2 > this.longestTerm ? 0 : typosAllowed(text.length + 2), walked: false, typoCache: new Map(),
    };
    if (word.cjk) {
      word.cjkNames = this.namesContaining(text);
      word.cost = word.cjkNames.length;
      return word;
    }
    if (isLast && text.length >= MIN_PREFIX) {
      const end = this.prefixEnd(text);
      for (let t = this.lowerBound(text); t < end; t++) if (!terms.has(t)) terms.set(t, PARTIAL);
    }
    const candidateTerms = [...terms.keys()];
    for (let length = 1; length < Math.min(text.length, this.longestTerm + 1); length++) {
      const head = this.find(text.slice(0, length));
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
      let kind = word.typoCache.get(term);
      if (kind === undefined) {
        const text = this.terms[term]!;
        const allowed = typosAllowed(text.length);
        const distance = allowed > 0 && Math.abs(text.length - word.text.length) <= allowed ? boundedDistance(word.text, text, allowed) : FAR;
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
    if (length - limit > this.longestTerm) return;
    const maxDepth = Math.min(length + limit, this.longestTerm);
    const rows: Int32Array[] = Array.from({ length: maxDepth + 1 }, () => new Int32Array(length + 2).fill(FAR));
    for (let j = 0; j <= Math.min(length, limit); j++) rows[0]![j] = j;
    const count = this.latinEnd;
    const shared = this.sharedPrefix;
    let validDepth = 0;
    let index = 0;
    while (index < count) {
      const term = this.terms[index]!;
      let depth = Math.min(validDepth, shared[index]!);
      let pruned = false;
      while (depth < term.length) {
        depth++;
        if (depth > maxDepth || fillRow(rows, depth, term, query, limit) > limit) {
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
      validDepth = term.length;
      const distance = Math.abs(term.length - length) <= limit ? rows[term.length]![length]! : FAR;
      if (distance > 0 && distance <= typosAllowed(term.length) && !terms.has(index)) terms.set(index, TYPO + distance);
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

  private find(text: string): number {
    const index = this.lowerBound(text);
    return this.terms[index] === text ? index : -1;
  }

  private lowerBound(text: string, from = 0): number {
    let low = from;
    let high = this.terms.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.terms[middle]! < text) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The first index at or after `from` whose term does not start with `prefix` (terms sorted). */
  private prefixEnd(prefix: string, from = this.lowerBound(prefix)): number {
    let low = from;
    let high = this.terms.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.terms[middle]!.startsWith(prefix) || this.terms[middle]! < prefix) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

const FAR = 1 << 20;

/**
 * One edit-distance row for the term's prefix of `depth` characters, only within `limit` of the diagonal
 * (cells further out cannot end within the limit); returns the row's minimum.
 */
function fillRow(rows: Int32Array[], depth: number, term: string, query: Int32Array, limit: number): number {
  const row = rows[depth]!;
  const above = rows[depth - 1]!;
  const twoAbove = depth >= 2 ? rows[depth - 2]! : undefined;
  const character = term.charCodeAt(depth - 1);
  const before = depth >= 2 ? term.charCodeAt(depth - 2) : -1;
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

/** Optimal string alignment distance of a and b, or FAR once it must exceed `limit`. */
function boundedDistance(a: string, b: string, limit: number): number {
  let twoAbove = new Int32Array(b.length + 1);
  let above = Int32Array.from({ length: b.length + 1 }, (_, j) => j);
  let row = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    let minimum = i;
    for (let j = 1; j <= b.length; j++) {
      let value = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, twoAbove[j - 2]! + 1);
      row[j] = value;
      if (value < minimum) minimum = value;
    }
    if (minimum > limit) return FAR;
    [twoAbove, above, row] = [above, row, twoAbove];
  }
  return above[b.length]! <= limit ? above[b.length]! : FAR;
}

function commonPrefix(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
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

/** An Int32Array that grows while the index is built. */
class GrowableInts {
  private data = new Int32Array(1024);
  length = 0;
  push(value: number) {
    if (this.length === this.data.length) {
      const bigger = new Int32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  at(index: number): number {
    return this.data[index]!;
  }
  includes(value: number, from: number): boolean {
    for (let i = from; i < this.length; i++) if (this.data[i] === value) return true;
    return false;
  }
  trimmed(): Int32Array {
    return this.data.slice(0, this.length);
  }
}

/** The distinct words met while building, found again by hash without making a string for each. */
class TermTable {
  readonly terms: string[] = [];
  private hashes = new GrowableInts();
  private slots = new Int32Array(1 << 16);

  intern(scanner: WordScanner, w: number): number {
    const hash = scanner.hash[w]!;
    const from = scanner.wordStart[w]!;
    const length = scanner.wordStart[w + 1]! - from;
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (;;) {
      const stored = this.slots[slot]!;
      if (stored === 0) break;
      const term = this.terms[stored - 1]!;
      if (this.hashes.at(stored - 1) === hash && term.length === length && sameChars(term, scanner.chars, from)) return stored - 1;
      slot = (slot + 1) & mask;
    }
    const id = this.terms.length;
    this.terms.push(String.fromCharCode(...scanner.chars.subarray(from, from + length)));
    this.hashes.push(hash);
    this.slots[slot] = id + 1;
    if (this.terms.length * 2 > this.slots.length) this.grow();
    return id;
  }

  private grow() {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.terms.length; id++) {
      let slot = this.hashes.at(id) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.slots = slots;
  }
}

function sameChars(term: string, chars: Uint16Array, from: number): boolean {
  for (let i = 0; i < term.length; i++) if (term.charCodeAt(i) !== chars[from + i]) return false;
  return true;
}

/**
 * The order of the terms as JavaScript sorts strings (by UTF-16 code units), by most-significant-character
 * radix sort over ASCII with a comparison sort for the rest: several times faster than sort() with a
 * comparator on hundreds of thousands of words.
 */
function sortedOrder(terms: string[]): Int32Array {
  const order = new Int32Array(terms.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const scratch = new Int32Array(terms.length);
  radixSort(terms, order, scratch, 0, order.length, 0);
  return order;
}

const OTHER_BUCKET = 128;

function radixSort(terms: string[], order: Int32Array, scratch: Int32Array, from: number, to: number, depth: number): void {
  if (to - from < 32) {
    const part = Array.from(order.subarray(from, to)).sort((a, b) => (terms[a]! < terms[b]! ? -1 : terms[a]! > terms[b]! ? 1 : 0));
    order.set(part, from);
    return;
  }
  const counts = new Int32Array(OTHER_BUCKET + 2);
  const bucketOf = (id: number) => {
    const term = terms[id]!;
    if (depth >= term.length) return 0;
    const code = term.charCodeAt(depth);
    return code < 127 ? code + 1 : OTHER_BUCKET;
  };
  for (let i = from; i < to; i++) counts[bucketOf(order[i]!) + 1]!++;
  for (let b = 1; b < counts.length; b++) counts[b]! += counts[b - 1]!;
  const starts = counts.slice();
  for (let i = from; i < to; i++) {
    const id = order[i]!;
    scratch[from + counts[bucketOf(id)]!++] = id;
  }
  order.set(scratch.subarray(from, to), from);
  for (let b = 1; b <= OTHER_BUCKET; b++) {
    const bucketFrom = from + starts[b]!;
    const bucketTo = from + starts[b + 1]!;
    if (bucketTo - bucketFrom < 2) continue;
    if (b === OTHER_BUCKET) {
      const part = Array.from(order.subarray(bucketFrom, bucketTo)).sort((x, y) => (terms[x]! < terms[y]! ? -1 : terms[x]! > terms[y]! ? 1 : 0));
      order.set(part, bucketFrom);
    } else radixSort(terms, order, scratch, bucketFrom, bucketTo, depth + 1);
  }
}
