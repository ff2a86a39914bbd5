// JSON.parse (JavaScriptCore) does not say where a syntax error is. When a release file fails to
// parse, this re-reads it with a small validating scanner to name the line, column and the entry
// (`data[12]`) the error is in. Only used on that error path, so it favours clarity over speed.

export interface JsonErrorLocation {
  line: number;
  column: number;
  /** Where in the document the error is, e.g. `data[12].tags[3]`; empty at the top level. */
  path: string;
}

class SyntaxErrorAt {
  constructor(
    readonly offset: number,
    readonly path: (string | number)[],
  ) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS = ["true", "false", "null"];

class Scanner {
  private pos = 0;
  private readonly path: (string | number)[] = [];

  constructor(private readonly text: string) {}

  document() {
    this.value();
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail();
  }

  private fail(): never {
    throw new SyntaxErrorAt(this.pos, [...this.path]);
  }

  private skipWhitespace() {
    while (this.pos < this.text.length && " \t\n\r".includes(this.text[this.pos]!)) this.pos++;
  }

  private expect(char: string) {
    this.skipWhitespace();
    if (this.text[this.pos] !== char) this.fail();
    this.pos++;
  }

  private value() {
    this.skipWhitespace();
    const char = this.text[this.pos];
    if (char === "{") return this.object();
    if (char === "[") return this.array();
    if (char === '"') return void this.string();
    NUMBER.lastIndex = this.pos;
    if (NUMBER.test(this.text)) return void (this.pos = NUMBER.lastIndex);
    const literal = LITERALS.find((word) => this.text.startsWith(word, this.pos));
    if (!literal) this.fail();
    this.pos += literal.length;
  }

  private object() {
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === "}") return void this.pos++;
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail();
      this.path.push(this.string());
      this.expect(":");
      this.value();
      this.path.pop();
      if (this.endOfList("}")) return;
    }
  }

  private array() {
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === "]") return void this.pos++;
    for (let index = 0; ; index++) {
      this.path.push(index);
      this.value();
      this.path.pop();
      if (this.endOfList("]")) return;
    }
  }

  /** After an item: true at the closing bracket, false after a comma. */
  private endOfList(close: string): boolean {
    this.skipWhitespace();
    const char = this.text[this.pos];
    if (char !== close && char !== ",") this.fail();
    this.pos++;
    return char === close;
  }

  /** Returns the raw text between the quotes (escapes left as they are: it only names keys). */
  private string(): string {
    const start = ++this.pos;
    for (;;) {
      const char = this.text[this.pos];
      if (char === undefined || char < " ") this.fail();
      if (char === '"') return this.text.slice(start, this.pos++);
      this.pos += char === "\\" ? 2 : 1;
    }
  }
}

function formatPath(path: (string | number)[]): string {
  return path.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? part : `.${part}`)).join("");
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** Where the first syntax error in `text` is, or undefined if the scanner finds none. */
export function locateJsonError(text: string): JsonErrorLocation | undefined {
  try {
    new Scanner(text).document();
    return undefined;
  } catch (error) {
    if (!(error instanceof SyntaxErrorAt)) return undefined; // e.g. nesting too deep for the stack
    return { ...lineAndColumn(text, error.offset), path: formatPath(error.path) };
  }
}
