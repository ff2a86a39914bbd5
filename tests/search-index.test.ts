// The search engine of GET /anime/search (src/anime/search): the contract's matching rules one by one,
// the relevance order it promises, and a property test against a plain reference matcher.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SearchIndex, type SearchDocument } from "../src/anime/search/index.ts";
import { WORD_PATTERN, foldText, hasCjk, typosAllowed, wordsOf } from "../src/anime/search/normalise.ts";

const CATALOGUE: SearchDocument[] = [
  { id: 1, title: "Re:Zero kara Hajimeru Isekai Seikatsu", synonyms: ["Re:ゼロから始める異世界生活", "Re:Zero − Starting Life in Another World"] },
  { id: 2, title: "Steins;Gate", synonyms: ["シュタインズ・ゲート"] },
  { id: 3, title: "Steins;Gate 0", synonyms: ["Steins;Gate Zero", "シュタインズ・ゲート ゼロ"] },
  { id: 4, title: "K-On!", synonyms: ["けいおん!"] },
  { id: 5, title: "K-On!!", synonyms: ["けいおん!!", "K-On! Season 2"] },
  { id: 6, title: "Pokémon", synonyms: ["Pocket Monsters", "ポケットモンスター"] },
  { id: 7, title: "Naruto", synonyms: ["ナルト"] },
  { id: 8, title: "Naruto: Shippuuden", synonyms: ["Naruto Shippuden", "ナルト 疾風伝"] },
  { id: 9, title: "Fullmetal Alchemist: Brotherhood", synonyms: ["FMA:B", "fmab", "Hagane no Renkinjutsushi: Fullmetal Alchemist", "鋼の錬金術師 FULLMETAL ALCHEMIST"] },
  { id: 10, title: "Fullmetal Alchemist", synonyms: ["FMA", "Hagane no Renkinjutsushi", "鋼の錬金術師"] },
  { id: 11, title: "Gintama°", synonyms: ["Gintama (2015)", "銀魂°"] },
  { id: 12, title: "Gintama'", synonyms: ["Gintama (2011)", "銀魂'"] },
  { id: 13, title: "Gintama", synonyms: ["銀魂"] },
  { id: 14, title: "Shingeki no Kyojin", synonyms: ["Attack on Titan", "AoT", "SnK", "進撃の巨人"] },
  { id: 15, title: "Shingeki no Kyojin Season 2", synonyms: ["Attack on Titan Season 2", "SnK S2", "進撃の巨人 Season 2"] },
  { id: 16, title: "Shingeki no Kyojin Season 3", synonyms: ["Attack on Titan Season 3", "進撃の巨人 Season 3"] },
  { id: 17, title: "Kimi no Na wa.", synonyms: ["Your Name.", "君の名は。"] },
  { id: 18, title: "Ghost in the Shell", synonyms: ["Koukaku Kidoutai", "攻殻機動隊"] },
];
const index = SearchIndex.build(CATALOGUE);
const ids = (q: string) => [...index.search(q)];
const first = (q: string) => ids(q)[0];

describe("matching", () => {
  test("case, accents and punctuation do not count", () => {
    expect(first("STEINS GATE")).toBe(2);
    expect(first("steins;gate")).toBe(2);
    expect(first("pokemon")).toBe(6);
    expect(first("POKÉMON")).toBe(6);
    expect(first("k on")).toBe(4);
    expect(first("k-on")).toBe(4);
    expect(first("re zero")).toBe(1);
  });

  test("adjacent words may be written together", () => {
    expect(first("rezero")).toBe(1);
    expect(first("steinsgate")).toBe(2);
    expect(first("kon")).toBe(4);
    expect(first("shingekinokyojin")).toBe(14);
    expect(ids("shingekikyojin")).toEqual([]); // the words must be adjacent
  });

  test("word order does not count", () => {
    expect(first("gate steins")).toBe(2);
    expect(first("kyojin shingeki no")).toBe(14);
    expect(first("alchemist fullmetal")).toBe(10);
  });

  test("every word must match, within one name", () => {
    expect(ids("naruto shippuden")).toEqual([8]);
    expect(ids("naruto bleach")).toEqual([]);
    // "Attack on Titan" and "SnK" are both names of entry 14, but no single name has both words
    expect(ids("attack snk")).toEqual([]);
  });

  test("one typo in a word of five or more characters", () => {
    expect(first("steinz gate")).toBe(2); // wrong
    expect(first("stein gate")).toBe(2); // missing
    expect(first("steinss gate")).toBe(2); // extra
    expect(first("stiens gate")).toBe(2); // swapped
    expect(ids("nartuo")).toContain(7);
    expect(ids("stienz gate")).toEqual([]); // two typos in a word of six
    expect(ids("narto")).toContain(7); // one typo against "naruto" (6)
    expect(ids("gnitama")).toContain(13);
    expect(ids("zeor")).toEqual([]); // "zero" has four characters: no typo allowed
  });

  test("two typos in a word of nine or more characters", () => {
    expect(ids("shipuden")).toContain(8); // missing one: "shippuden" (9) and "shippuuden" (10)
    expect(ids("shipuudne")).toContain(8); // missing and swapped against "shippuuden"
    expect(ids("fullmetl alchemsit")).toContain(9);
    expect(ids("shxpuudne")).toEqual([]); // three
    expect(ids("alchxmxxt")).toEqual([]); // "alchemist" (9): two typos allowed, this is three away
    expect(ids("alchemstt")).toContain(10); // two away
  });

  test("the last word may be only begun, from its third character", () => {
    expect(first("fullmetal alch")).toBe(10);
    expect(ids("fullmetal alch")).toContain(9);
    expect(ids("pokem")).toEqual([6]);
    expect(ids("po")).toEqual([]);
    expect(ids("alch fullmetal")).toEqual([]); // only the last word is a beginning
    expect(first("shingeki no kyo")).toBe(14);
    expect(first("steinsga")).toBe(2); // a beginning of words written together
  });

  test("Japanese script: names containing the query", () => {
    expect(first("進撃の巨人")).toBe(14);
    expect(ids("進撃")).toEqual([14, 15, 16]);
    expect(first("ナルト")).toBe(7);
    expect(ids("疾風")).toEqual([8]);
    expect(first("シュタインズゲート")).toBe(2); // the middle dot does not count
    expect(first("ゼロから")).toBe(1);
    expect(first("鋼の錬金術師")).toBe(10);
    expect(ids("巨人の進撃")).toEqual([]);
  });

  test("nothing to match: no results", () => {
    expect(ids("")).toEqual([]);
    expect(ids("!!! ;;; ---")).toEqual([]);
    expect(ids("zzzzzzzzzz")).toEqual([]);
    expect(ids("a".repeat(10_000))).toEqual([]);
  });
});

describe("relevance", () => {
  test("the exact title first, then longer names", () => {
    expect(ids("naruto")).toEqual([7, 8]);
    expect(ids("shingeki no kyojin")).toEqual([14, 15, 16]);
    expect(ids("attack on titan")).toEqual([14, 15, 16]);
    expect(ids("steins gate")).toEqual([2, 3]);
    expect(ids("fullmetal alchemist")).toEqual([10, 9]);
  });

  test("names equal but for punctuation: the one written as the query first", () => {
    expect(ids("Gintama°")).toEqual([11, 12, 13]);
    expect(ids("Gintama'")).toEqual([12, 11, 13]);
    expect(first("gintama")).toBe(13);
    expect(first("K-On!!")).toBe(5);
    expect(first("K-On!")).toBe(4);
    expect(first("k on")).toBe(4);
  });

  test("an exact synonym or abbreviation first", () => {
    expect(first("fmab")).toBe(9);
    expect(first("FMA:B")).toBe(9);
    expect(first("snk")).toBe(14);
    expect(first("aot")).toBe(14);
    expect(first("your name")).toBe(17);
    expect(first("君の名は")).toBe(17);
    expect(first("攻殻機動隊")).toBe(18);
  });

  test("whole words before beginnings before typos", () => {
    const catalogue = SearchIndex.build([
      { id: 1, title: "Monsters Inc", synonyms: [] },
      { id: 2, title: "Monster", synonyms: [] },
      { id: 3, title: "Monstre", synonyms: [] },
      { id: 4, title: "Monster Hunter Stories", synonyms: [] },
    ]);
    expect([...catalogue.search("monster")]).toEqual([2, 4, 1, 3]);
  });

  test("ties go to the smaller id", () => {
    const catalogue = SearchIndex.build([
      { id: 9, title: "Twin Star", synonyms: [] },
      { id: 3, title: "Twin Star", synonyms: [] },
      { id: 5, title: "Twin Star", synonyms: [] },
    ]);
    expect([...catalogue.search("twin star")]).toEqual([3, 5, 9]);
  });
});

test("an index built in the background answers as one built at once", async () => {
  const background = await SearchIndex.buildInBackground(CATALOGUE.toReversed(), 5);
  for (const q of ["naruto", "gintama", "steins gate", "進撃", "shipuudne", "pokem", "k on"]) {
    expect([...background.search(q)]).toEqual(ids(q));
  }
  expect(background.memoryBytes).toBe(index.memoryBytes);
});

// ——— the property: search(q) as a set equals what a plain reading of the rules gives ———

/** The words of a text by the regular expression of normalise.ts on the whole folded text. */
const referenceWords = (text: string): string[] => foldText(text).match(WORD_PATTERN) ?? [];

/** Optimal string alignment distance, the whole table. */
function osa(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

function wordMatchesName(word: string, isLast: boolean, name: string[]): boolean {
  for (let i = 0; i < name.length; i++) {
    for (let j = i; j < name.length; j++) {
      const run = name.slice(i, j + 1).join("");
      if (run === word) return true;
      if (isLast && word.length >= 3 && run.startsWith(word)) return true;
      if (hasCjk(word) && run.includes(word)) return true;
      if (i === j && !hasCjk(word) && osa(word, run) <= typosAllowed(run.length)) return true;
    }
  }
  return false;
}

function referenceSearch(documents: SearchDocument[], q: string): number[] {
  const words = referenceWords(q);
  if (words.length === 0) return [];
  return documents
    .filter((document) =>
      [document.title, ...document.synonyms].some((name) => {
        const nameWords = referenceWords(name);
        return words.every((word, i) => wordMatchesName(word, i === words.length - 1, nameWords));
      }),
    )
    .map((document) => document.id)
    .sort((a, b) => a - b);
}

const WORD_POOL = [
  "re", "zero", "steins", "gate", "pokémon", "naruto", "shippuuden", "k", "on", "gintama", "fullmetal", "alchemist",
  "no", "kyojin", "season", "2", "ＳＥＡＳＯＮ", "Ōkami", "straße", "進撃の巨人", "ナルト", "東京", "ゼロから", "café",
];
const SEPARATORS = [" ", ": ", "-", ";", "! ", "° ", "'", " − ", "・"];
const letters = fc.string({ unit: fc.constantFrom("a", "b", "c", "é"), minLength: 1, maxLength: 11 });
const word = fc.oneof(fc.constantFrom(...WORD_POOL), letters);
const name = fc
  .tuple(fc.array(word, { minLength: 1, maxLength: 4 }), fc.array(fc.constantFrom(...SEPARATORS), { minLength: 4, maxLength: 4 }), fc.boolean())
  .map(([words, separators, upper]) => {
    const text = words.map((w, i) => (i === 0 ? w : separators[i - 1] + w)).join("");
    return upper ? text.toUpperCase() : text;
  });
const catalogue = fc
  .array(fc.tuple(name, fc.array(name, { maxLength: 3 })), { minLength: 1, maxLength: 12 })
  .map((entries) => entries.map(([title, synonyms], i) => ({ id: (i * 7919) % 1000 + i, title, synonyms })));

type Edit = "none" | "wrong" | "missing" | "extra" | "swap" | "cut" | "join";
function edited(words: string[], edit: Edit, at: number, character: string): string[] {
  if (words.length === 0) return words;
  const result = [...words];
  const w = at % result.length;
  const target = result[w]!;
  const p = at % Math.max(1, target.length);
  if (edit === "wrong") result[w] = target.slice(0, p) + character + target.slice(p + 1);
  if (edit === "missing") result[w] = target.slice(0, p) + target.slice(p + 1);
  if (edit === "extra") result[w] = target.slice(0, p) + character + target.slice(p);
  if (edit === "swap" && target.length > 1) {
    const s = Math.min(p, target.length - 2);
    result[w] = target.slice(0, s) + target[s + 1] + target[s] + target.slice(s + 2);
  }
  if (edit === "cut") result[result.length - 1] = result[result.length - 1]!.slice(0, Math.max(1, at % 8));
  if (edit === "join" && result.length > 1) result.splice(w % (result.length - 1), 2, result[w % (result.length - 1)]! + result[(w % (result.length - 1)) + 1]!);
  return result.filter((x) => x.length > 0);
}

/** A query made from one of the documents' names (the `pick`-th), with the edits applied and maybe its words reversed. */
function editedQuery(documents: SearchDocument[], pick: number, edits: [Edit, number, string][], shuffle: boolean): string {
  const names = documents.flatMap((d) => [d.title, ...d.synonyms]);
  let words = referenceWords(names[pick % names.length]!);
  for (const [edit, at, character] of edits) words = edited(words, edit, at, character);
  if (shuffle) words.reverse();
  return words.join(" ");
}

describe("search(q) finds exactly what the rules say", () => {
  test("on random catalogues and queries made from their names, with typos, beginnings and joins", () => {
    fc.assert(
      fc.property(
        catalogue,
        fc.nat(),
        fc.array(fc.tuple(fc.constantFrom<Edit>("none", "wrong", "missing", "extra", "swap", "cut", "join"), fc.nat(), fc.constantFrom("a", "b", "x", "é")), { maxLength: 2 }),
        fc.boolean(),
        (documents, pick, edits, shuffle) => {
          const q = editedQuery(documents, pick, edits, shuffle);
          const built = SearchIndex.build(documents);
          const found = [...built.search(q)];
          expect(new Set(found).size).toBe(found.length);
          expect([...built.search(q, "walk")]).toEqual(found);
          expect([...built.search(q, "check")]).toEqual(found);
          expect([...found].sort((a, b) => a - b)).toEqual(referenceSearch(documents, q));
        },
      ),
      { numRuns: Number(process.env.SEARCH_RUNS ?? 400), ...(process.env.SEARCH_SEED && { seed: Number(process.env.SEARCH_SEED) }) },
    );
  });

  test("on larger catalogues (numbered names, common words): the same entries, and narrowing keeps the order", () => {
    fc.assert(
      fc.property(
        catalogue,
        fc.integer({ min: 20, max: 60 }),
        fc.nat(),
        fc.array(fc.tuple(fc.constantFrom<Edit>("none", "wrong", "missing", "extra", "swap", "cut", "join"), fc.nat(), fc.constantFrom("a", "b", "x", "é", "1")), { maxLength: 2 }),
        fc.boolean(),
        (base, copies, pick, edits, shuffle) => {
          // every entry again `copies` times with a number (as generated catalogues have): many candidates
          // per word, and long runs of digit-only words in the dictionary
          const documents = base.flatMap((document, i) =>
            Array.from({ length: copies + 1 }, (_, k) => ({
              id: document.id * 100 + k,
              title: k === 0 ? document.title : `${document.title} ${10000 + i * 100 + k}`,
              synonyms: document.synonyms.map((synonym) => (k === 0 ? synonym : `${synonym} ${10000 + i * 100 + k}`)),
            })),
          );
          const q = editedQuery(documents, pick, edits, shuffle);
          const built = SearchIndex.build(documents);
          const found = [...built.search(q)];
          expect([...built.search(q, "walk", false)]).toEqual(found);
          expect([...built.search(q, "check")]).toEqual(found);
          expect([...found].sort((a, b) => a - b)).toEqual(referenceSearch(documents, q));
        },
      ),
      { numRuns: Number(process.env.SEARCH_RUNS ?? 100), ...(process.env.SEARCH_SEED && { seed: Number(process.env.SEARCH_SEED) }) },
    );
  });

  test("the scanner splits words as the regular expression does", () => {
    fc.assert(
      fc.property(name, (text) => {
        expect(wordsOf(text)).toEqual(referenceWords(text));
      }),
    );
  });
});

describe("the dictionary's trie skips", () => {
  test("endOfPrefix ends a block where a plain comparison of prefixes does, for blocks of any size", () => {
    // Words sharing long runs of prefixes (blocks of thousands), short ones and singles.
    const words = fc.sample(fc.stringMatching(/^(a{0,3}b?){1,4}[a-c]{0,3}$/), 4000).filter((w) => w.length > 0);
    const documents = words.map((word, i) => ({ id: i + 1, title: word, synonyms: [] }));
    const dictionary = (SearchIndex.build(documents) as unknown as { dictionary: { length: number; at(id: number): string; endOfPrefix(id: number, depth: number, end: number): number } }).dictionary;
    const n = dictionary.length;
    fc.assert(
      fc.property(fc.nat(n - 1), fc.nat(20), fc.nat(n), (id, depthSeed, endSeed) => {
        const word = dictionary.at(id);
        const depth = 1 + (depthSeed % word.length);
        const end = Math.max(id + 1, endSeed);
        let expected = id + 1;
        while (expected < end && dictionary.at(expected).slice(0, depth) === word.slice(0, depth) && dictionary.at(expected).length >= depth) expected++;
        expect(dictionary.endOfPrefix(id, depth, end)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
