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
import { MIN_PREFIX, hasCjk, hashOf, literalOf, typosAllowed, wordsOf } from "./normalise.ts";

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
}

export class SearchIndex {
  private constructor(
    private readonly terms: string[],
    private readonly postingStart: Int32Array,
    private readonly postings: Int32Array,
    private readonly nameWordStart: Int32Array,
    private readonly nameWords: Int32Array,
    private readonly nameLiteral: Int32Array,
    private readonly entryNameStart: Int32Array,
    private readonly entryIds: Int32Array,
    private readonly cjkText: string,
    private readonly cjkStart: Int32Array,
    private readonly cjkName: Int32Array,
  ) {}

  static build(documents: Iterable<SearchDocument>): SearchIndex {
    const sorted = [...documents].sort((a, b) => a.id - b.id);
    const termIds = new Map<string, number>();
    const termList: string[] = [];
    const entryIds = new Int32Array(sorted.length);
    const entryNameStart = new Int32Array(sorted.length + 1);
    const nameWordStart = new GrowableInts();
    const nameWords = new GrowableInts();
    const nameLiteral = new GrowableInts();
    const cjkParts: string[] = [];
    const cjkStart = new GrowableInts();
    const cjkName = new GrowableInts();
    let cjkLength = 0;
    let nameCount = 0;
    sorted.forEach((document, entry) => {
      entryIds[entry] = document.id;
      entryNameStart[entry] = nameCount;
      const literals = new Set<string>();
      for (const name of [document.title, ...document.synonyms]) {
        const literal = literalOf(name);
        if (literals.has(literal)) continue;
        literals.add(literal);
        const words = wordsOf(name);
        if (words.length === 0) continue;
        nameWordStart.push(nameWords.length);
        nameLiteral.push(hashOf(literal));
        let cjk = false;
        for (const word of words) {
          let id = termIds.get(word);
          if (id === undefined) {
            id = termList.length;
            termIds.set(word, id);
            termList.push(word);
          }
          nameWords.push(id);
          cjk ||= hasCjk(word);
        }
        if (cjk) {
          const joined = words.join("");
          cjkStart.push(cjkLength);
          cjkName.push(nameCount);
          cjkParts.push(joined);
          cjkLength += joined.length + 1;
        }
        nameCount++;
      }
    });
    entryNameStart[sorted.length] = nameCount;
    nameWordStart.push(nameWords.length);
    cjkStart.push(cjkLength);

    // Sort the dictionary (for prefix ranges and the typo walk) and renumber the words of every name.
    const order = termList.map((_, i) => i).sort((a, b) => (termList[a]! < termList[b]! ? -1 : 1));
    const terms = order.map((i) => termList[i]!);
    const renumber = new Int32Array(order.length);
    order.forEach((oldId, newId) => (renumber[oldId] = newId));
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
      this.postingStart, this.postings, this.nameWordStart, this.nameWords, this.nameLiteral,
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
    const texts = wordsOf(q);
    if (texts.length === 0) return EMPTY;
    const queryWords = distinctWords(texts).map((word) => this.analyse(word));
    if (queryWords.some((word) => word.cost === 0)) return EMPTY;
    const selective = queryWords.reduce((best, word) => (word.cost < best.cost ? word : best));
    const candidates = selective.cjk ? selective.cjkNames : this.namesOf(selective.candidateTerms);

    const key = texts.join("");
    const literal = hashOf(literalOf(q));
    const bestOfEntry = new Map<number, number>();
    let entry = 0;
    for (let c = 0; c < candidates.length; c++) {
      const name = candidates[c]!;
      const score = this.score(name, queryWords, key, literal, texts.length);
      if (score < 0) continue;
      while (this.entryNameStart[entry + 1]! <= name) entry++;
      const previous = bestOfEntry.get(entry);
      if (previous === undefined || score < previous) bestOfEntry.set(entry, score);
    }
    const ranked = new Float64Array(bestOfEntry.size);
    let i = 0;
    for (const [entryIndex, score] of bestOfEntry) ranked[i++] = score * ENTRY_BITS + entryIndex;
    ranked.sort();
    const ids = new Int32Array(ranked.length);
    for (let r = 0; r < ranked.length; r++) ids[r] = this.entryIds[ranked[r]! % ENTRY_BITS]!;
    return ids;
  }

  /** The rank of `name` for the query (smaller is better), or -1 when some word does not match it. */
  private score(name: number, queryWords: QueryWord[], key: string, literal: number, queryWordCount: number): number {
    const from = this.nameWordStart[name]!;
    const to = this.nameWordStart[name + 1]!;
    let worst = WHOLE;
    let typos = 0;
    for (const word of queryWords) {
      const match = this.matchWord(word, name, from, to);
      if (match === NO_MATCH) return -1;
      if (match > worst) worst = Math.min(match, TYPO);
      if (match >= TYPO) typos += match - TYPO;
    }
    let tier: number;
    if (this.isKey(from, to, key)) tier = this.nameLiteral[name] === literal ? 0 : 1;
    else tier = 2 + worst;
    let keyLength = 0;
    for (let p = from; p < to; p++) keyLength += this.terms[this.nameWords[p]!]!.length;
    const extraWords = Math.max(0, to - from - queryWordCount);
    const isSynonym = this.isTitle(name) ? 0 : 1;
    // tier (3 bits) · typos (4) · extra words (6) · synonym (1) · length (8)
    return (((tier * 16 + Math.min(typos, 15)) * 64 + Math.min(extraWords, 63)) * 2 + isSynonym) * 256 + Math.min(keyLength, 255);
  }

  private isTitle(name: number): boolean {
    let low = 0;
    let high = this.entryIds.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.entryNameStart[middle]! <= name) low = middle;
      else high = middle - 1;
    }
    return this.entryNameStart[low] === name;
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

  /** How well one query word matches the name whose words are nameWords[from, to). */
  private matchWord(word: QueryWord, name: number, from: number, to: number): number {
    let best = NO_MATCH;
    for (let p = from; p < to; p++) {
      const kind = word.terms.get(this.nameWords[p]!);
      if (kind !== undefined && kind < best) best = kind;
    }
    if (best === WHOLE) return best;
    if (word.cjk) return binaryHas(word.cjkNames, name) ? Math.min(best, PARTIAL) : best;
    return Math.min(best, this.matchJoined(word, from, to));
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
    const word: QueryWord = { text, isLast, cjk: hasCjk(text), terms, cjkNames: EMPTY, candidateTerms: [], cost: 0 };
    if (word.cjk) {
      word.cjkNames = this.namesContaining(text);
      word.cost = word.cjkNames.length;
      return word;
    }
    if (isLast && text.length >= MIN_PREFIX) {
      const end = this.prefixEnd(text);
      for (let t = this.lowerBound(text); t < end; t++) if (!terms.has(t)) terms.set(t, PARTIAL);
    }
    this.typoWalk(text, terms);
    const candidateTerms = [...terms.keys()];
    for (let length = 1; length < text.length; length++) {
      const head = this.find(text.slice(0, length));
      if (head >= 0 && !terms.has(head)) candidateTerms.push(head);
    }
    word.candidateTerms = candidateTerms;
    for (const t of candidateTerms) word.cost += this.postingStart[t + 1]! - this.postingStart[t]!;
    return word;
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
    const maxDepth = length + limit;
    const rows: Int32Array[] = Array.from({ length: maxDepth + 1 }, () => new Int32Array(length + 1));
    for (let j = 0; j <= length; j++) rows[0]![j] = j;
    const lastIndex = this.terms.length;
    let previous = "";
    let validDepth = 0;
    let index = 0;
    while (index < lastIndex) {
      const term = this.terms[index]!;
      let depth = Math.min(validDepth, commonPrefix(previous, term));
      let pruned = false;
      while (depth < term.length) {
        depth++;
        if (depth > maxDepth || fillRow(rows, depth, term, query) > limit) {
          pruned = true;
          break;
        }
      }
      previous = term;
      if (pruned) {
        validDepth = depth - 1;
        index = this.prefixEnd(term.slice(0, depth), index + 1);
        continue;
      }
      validDepth = term.length;
      const distance = rows[term.length]![length]!;
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

/** One edit-distance row for the term's prefix of `depth` characters; returns the row's minimum. */
function fillRow(rows: Int32Array[], depth: number, term: string, query: Int32Array): number {
  const row = rows[depth]!;
  const above = rows[depth - 1]!;
  const twoAbove = depth >= 2 ? rows[depth - 2]! : undefined;
  const character = term.charCodeAt(depth - 1);
  const before = depth >= 2 ? term.charCodeAt(depth - 2) : -1;
  row[0] = depth;
  let minimum = depth;
  for (let j = 1; j < row.length; j++) {
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
  trimmed(): Int32Array {
    return this.data.slice(0, this.length);
  }
}
