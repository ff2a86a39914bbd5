// Reads an anime-offline-database release file, in any of its published forms:
//   - a JSON document (`anime-offline-database.json`, pretty, or `-minified.json`): {…, data: [entries]}
//   - JSON lines (`anime-offline-database.jsonl`): a metadata object, then one entry per line
//   - either of them compressed with Zstandard (`.zst`)
// The form is told from the content, not the file name. JSON lines are streamed line by line; a JSON
// document is parsed whole (it is one value).
import { ImportError } from "./errors.ts";
import { locateJsonError } from "./json-error.ts";

/** One raw entry of a release file, with where it is in the file (`line 12` or `data[10]`). */
export class ReleaseEntry {
  constructor(
    readonly location: string,
    readonly value: unknown,
  ) {}
}

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

interface Line {
  number: number;
  text: string;
}

export async function* readReleaseFile(path: string): AsyncGenerator<ReleaseEntry> {
  const file = Bun.file(path);
  if (!(await file.exists())) throw new ImportError(`${path}: no such file`);
  const compressed = await isZstandard(file);
  const lines = readLines(path, decodedBytes(file, compressed))[Symbol.asyncIterator]();

  const first = await nextNonBlankLine(lines);
  if (!first) throw new ImportError(`${path}: the file is empty`);
  const firstValue = tryParse(first.text);

  if (isObject(firstValue) && !("data" in firstValue)) {
    if ("sources" in firstValue) {
      throw new ImportError(`${path}: line ${first.number} is an anime entry, but a .jsonl release starts with its metadata object`);
    }
    yield* jsonLinesEntries(path, lines);
    return;
  }

  // A minified document is a single line that has just been parsed; anything else is read again whole.
  const parsedWhole = isObject(firstValue) && (await nextNonBlankLine(lines)) === undefined;
  await lines.return?.(undefined);
  const document = parsedWhole ? firstValue : parseDocument(path, await wholeText(path, file, compressed));
  yield* documentEntries(path, document);
}

async function* jsonLinesEntries(path: string, lines: AsyncIterator<Line>): AsyncGenerator<ReleaseEntry> {
  for (let line = await nextNonBlankLine(lines); line; line = await nextNonBlankLine(lines)) {
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (error) {
      throw new ImportError(`${path}: line ${line.number} is not valid JSON (${(error as Error).message})`);
    }
    yield new ReleaseEntry(`line ${line.number}`, value);
  }
}

function* documentEntries(path: string, document: unknown): Generator<ReleaseEntry> {
  if (!isObject(document) || !Array.isArray(document.data)) {
    throw new ImportError(`${path}: expected an anime-offline-database release: a JSON object with a "data" array, or JSON lines`);
  }
  for (const [index, value] of document.data.entries()) yield new ReleaseEntry(`data[${index}]`, value);
}

function parseDocument(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const where = locateJsonError(text);
    const at = where ? ` at line ${where.line}, column ${where.column}${where.path ? ` (in ${where.path})` : ""}` : "";
    throw new ImportError(`${path}: not valid JSON${at} (${(error as Error).message})`);
  }
}

async function isZstandard(file: Blob): Promise<boolean> {
  const head = await file.slice(0, ZSTD_MAGIC.length).bytes();
  return ZSTD_MAGIC.every((byte, i) => head[i] === byte);
}

function decodedBytes(file: Blob, compressed: boolean): ReadableStream<Uint8Array> {
  const bytes = file.stream();
  // "zstd" is one of Bun's additions to the standard formats, unknown to the DOM typings.
  return compressed ? bytes.pipeThrough(new DecompressionStream("zstd" as CompressionFormat)) : bytes;
}

async function wholeText(path: string, file: Blob, compressed: boolean): Promise<string> {
  try {
    return await new Response(decodedBytes(file, compressed)).text();
  } catch (error) {
    throw new ImportError(`${path}: cannot read the file (${(error as Error).message})`);
  }
}

/** Lines without their terminator. Chunks are only searched once, so a 100 MB single line stays linear. */
async function* readLines(path: string, stream: ReadableStream<Uint8Array>): AsyncGenerator<Line> {
  const decoder = new TextDecoder();
  let pending: string[] = [];
  let number = 0;
  const completeLine = (): Line => {
    const text = pending.join("");
    pending = [];
    return { number: ++number, text: text.endsWith("\r") ? text.slice(0, -1) : text };
  };
  try {
    for await (const bytes of stream) {
      const chunk = decoder.decode(bytes, { stream: true });
      let start = 0;
      for (let newline = chunk.indexOf("\n"); newline !== -1; newline = chunk.indexOf("\n", start)) {
        pending.push(chunk.slice(start, newline));
        yield completeLine();
        start = newline + 1;
      }
      if (start < chunk.length) pending.push(chunk.slice(start));
    }
    pending.push(decoder.decode());
  } catch (error) {
    throw new ImportError(`${path}: cannot read the file (${(error as Error).message})`);
  }
  if (pending.some((part) => part !== "")) yield completeLine();
}

async function nextNonBlankLine(lines: AsyncIterator<Line>): Promise<Line | undefined> {
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    if (next.value.text.trim() !== "") return next.value;
  }
  return undefined;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
