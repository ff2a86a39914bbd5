// How a name or a query becomes words: case, accents and punctuation do not count, and Chinese,
// Japanese and Korean runs become words of their own (they have no spaces to split on).

const CJK_CHARACTER = "\\p{sc=Han}\\p{sc=Hiragana}\\p{sc=Katakana}\\p{sc=Hangul}\\u30fc\\u3005\\u3006\\u30f6";
const WORD = new RegExp(`[${CJK_CHARACTER}]+|(?:(?![${CJK_CHARACTER}])[\\p{L}\\p{N}\\p{M}])+`, "gu");
const HAS_CJK = new RegExp(`[${CJK_CHARACTER}]`, "u");
const ASCII = /^[\x00-\x7f]*$/;
const ASCII_WORD = /[a-z0-9]+/g;
/** Accents of Latin, Greek and Cyrillic letters (not the Japanese voicing marks, which NFKC puts back). */
const COMBINING_ACCENT = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]/g;
/** Letters that have no decomposition but are read as plain Latin ones; × is the "x" of "Spy×Family". */
const LETTER_FOLDS: Record<string, string> = {
  ß: "ss", ø: "o", æ: "ae", œ: "oe", ł: "l", đ: "d", ð: "d", þ: "th", ı: "i", "×": " x ",
};
const FOLDABLE = new RegExp(`[${Object.keys(LETTER_FOLDS).join("")}]`, "g");

/** Lower case, without accents, compatibility forms folded (full-width Latin, half-width kana). */
export function foldText(text: string): string {
  if (ASCII.test(text)) return text.toLowerCase();
  return text
    .normalize("NFKD")
    .replace(COMBINING_ACCENT, "")
    .normalize("NFKC")
    .toLowerCase()
    .replace(FOLDABLE, (letter) => LETTER_FOLDS[letter] ?? letter);
}

/** The words of a name or query: runs of letters and digits, CJK runs apart from the others. */
export function wordsOf(text: string): string[] {
  const folded = foldText(text);
  if (ASCII.test(folded)) return folded.match(ASCII_WORD) ?? [];
  return folded.match(WORD) ?? [];
}

export const hasCjk = (word: string): boolean => HAS_CJK.test(word);

/** The name as written, for telling apart names whose words are equal (`Gintama°` / `Gintama'`). */
export function literalOf(text: string): string {
  return text.normalize("NFKC").toLowerCase().trim().replace(/\s+/g, " ");
}

/** FNV-1a, 32 bits: a literal is kept only as this hash. */
export function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash | 0;
}

/** How many typos a word of a name tolerates: one from five characters, two from nine. */
export const typosAllowed = (nameWordLength: number): number => (nameWordLength >= 9 ? 2 : nameWordLength >= 5 ? 1 : 0);

/** The shortest beginning of the last query word that matches as a prefix. */
export const MIN_PREFIX = 3;
