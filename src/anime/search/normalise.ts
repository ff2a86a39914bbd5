// How a name or a query becomes words: case, accents and punctuation do not count, and Chinese,
// Japanese and Korean runs become words of their own (they have no spaces to split on).

const CJK_CHARACTER = "\\p{sc=Han}\\p{sc=Hiragana}\\p{sc=Katakana}\\p{sc=Hangul}\\u30fc\\u3005\\u3006\\u30f6";
/** The words of a folded text, by definition; WordScanner finds the same ones a character at a time (tested). */
export const WORD_PATTERN = new RegExp(`[${CJK_CHARACTER}]+|(?:(?![${CJK_CHARACTER}])[\\p{L}\\p{N}\\p{M}])+`, "gu");
const HAS_CJK = new RegExp(`[${CJK_CHARACTER}]`, "u");
const ASCII = /^[\x00-\x7f]*$/;
/** Accents of Latin, Greek and Cyrillic letters (not the Japanese voicing marks, which NFKC puts back). */
const COMBINING_ACCENT = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]/g;
/** Letters that have no decomposition but are read as plain Latin ones; × separates words ("SPY×FAMILY"). */
const LETTER_FOLDS: Record<string, string> = {
  ß: "ss", ø: "o", æ: "ae", œ: "oe", ł: "l", đ: "d", ð: "d", þ: "th", ı: "i", "×": " ",
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
  return sharedScanner.scan(text).words();
}

export const hasCjk = (word: string): boolean => HAS_CJK.test(word);

/** How many typos a word of a name tolerates: one from five characters, two from nine. */
export const typosAllowed = (nameWordLength: number): number => (nameWordLength >= 9 ? 2 : nameWordLength >= 5 ? 1 : 0);

/** The shortest beginning of the last query word that matches as a prefix. */
export const MIN_PREFIX = 3;

const SEPARATOR = 0;
const LETTER = 1;
const CJK = 2;
const ASCII_CLASS = new Uint8Array(128).map((_, code) =>
  (code >= 48 && code <= 57) || (code >= 97 && code <= 122) || (code >= 65 && code <= 90) ? LETTER : SEPARATOR,
);
const LETTER_OR_MARK = /^[\p{L}\p{N}\p{M}]$/u;
const classCache = new Map<number, number>();
const UTF16 = new TextDecoder("utf-16le");
const foldCache = new Map<number, string>();

function classOf(code: number): number {
  if (code < 128) return ASCII_CLASS[code]!;
  if (code >= 0xd800 && code <= 0xdfff) return LETTER;
  let known = classCache.get(code);
  if (known === undefined) {
    const character = String.fromCharCode(code);
    known = HAS_CJK.test(character) ? CJK : LETTER_OR_MARK.test(character) ? LETTER : SEPARATOR;
    classCache.set(code, known);
  }
  return known;
}

function foldOf(code: number): string {
  let folded = foldCache.get(code);
  if (folded === undefined) {
    folded = code >= 0xd800 && code <= 0xdfff ? String.fromCharCode(code) : foldText(String.fromCharCode(code));
    foldCache.set(code, folded);
  }
  return folded;
}

/**
 * Splits a text into words, one character at a time (the same result as wordsOf for all but exotic
 * Unicode, and much faster: the index is built from a million names at start-up). After scan(text):
 * the words' characters are chars[wordStart[i] .. wordStart[i+1]), with hash[i] and cjk[i]; literalHash
 * is the hash of the folded text with its punctuation and with spaces collapsed.
 */
export class WordScanner {
  chars = new Uint16Array(256);
  wordStart = new Int32Array(64);
  hash = new Int32Array(64);
  cjk = new Uint8Array(64);
  count = 0;
  literalHash = 0;
  private length = 0;
  private wordClass = SEPARATOR;
  private wordHash = 0;

  scan(text: string): this {
    this.count = 0;
    this.length = 0;
    this.wordClass = SEPARATOR;
    let literal = 0x811c9dc5;
    let pendingSpace = false;
    let literalEmpty = true;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < 128) {
        const lower = code >= 65 && code <= 90 ? code + 32 : code;
        if (lower === 32 || (lower >= 9 && lower <= 13)) pendingSpace = !literalEmpty;
        else {
          if (pendingSpace) literal = Math.imul(literal ^ 32, 0x01000193);
          pendingSpace = false;
          literalEmpty = false;
          literal = Math.imul(literal ^ lower, 0x01000193);
        }
        this.add(lower, ASCII_CLASS[lower]!);
        continue;
      }
      const folded = foldOf(code);
      for (let f = 0; f < folded.length; f++) {
        const character = folded.charCodeAt(f);
        if (character === 32) pendingSpace = !literalEmpty;
        else {
          if (pendingSpace) literal = Math.imul(literal ^ 32, 0x01000193);
          pendingSpace = false;
          literalEmpty = false;
          literal = Math.imul(literal ^ character, 0x01000193);
        }
        this.add(character, classOf(character));
      }
    }
    this.endWord();
    this.wordStart[this.count] = this.length;
    this.literalHash = literal | 0;
    return this;
  }

  word(i: number): string {
    return this.text(this.wordStart[i]!, this.wordStart[i + 1]!);
  }

  /** The characters chars[from, to) as a string. */
  text(from: number, to: number): string {
    if (to - from <= 16) {
      let text = "";
      for (let i = from; i < to; i++) text += String.fromCharCode(this.chars[i]!);
      return text;
    }
    return UTF16.decode(this.chars.subarray(from, to));
  }

  words(): string[] {
    return Array.from({ length: this.count }, (_, i) => this.word(i));
  }

  private add(code: number, kind: number) {
    if (kind !== this.wordClass) this.endWord();
    if (kind === SEPARATOR) return;
    if (this.wordClass === SEPARATOR) {
      this.wordClass = kind;
      this.wordHash = 0x811c9dc5;
      if (this.count + 2 > this.wordStart.length) this.growWords();
      this.wordStart[this.count] = this.length;
    }
    if (this.length === this.chars.length) {
      const bigger = new Uint16Array(this.chars.length * 2);
      bigger.set(this.chars);
      this.chars = bigger;
    }
    this.chars[this.length++] = code;
    this.wordHash = Math.imul(this.wordHash ^ code, 0x01000193);
  }

  private endWord() {
    if (this.wordClass === SEPARATOR) return;
    this.hash[this.count] = this.wordHash | 0;
    this.cjk[this.count] = this.wordClass === CJK ? 1 : 0;
    this.count++;
    this.wordClass = SEPARATOR;
  }

  private growWords() {
    const size = this.wordStart.length * 2;
    const grow = <T extends Int32Array | Uint8Array>(array: T, make: (n: number) => T): T => {
      const bigger = make(size);
      bigger.set(array);
      return bigger;
    };
    this.wordStart = grow(this.wordStart, (n) => new Int32Array(n));
    this.hash = grow(this.hash, (n) => new Int32Array(n));
    this.cjk = grow(this.cjk, (n) => new Uint8Array(n));
  }
}

const sharedScanner = new WordScanner();
