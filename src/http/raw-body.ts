// A raw upload body (the list import's XML file): read with a hard size cap, gunzipped when it is gzip
// (said by Content-Encoding, or seen in the magic bytes of a raw .xml.gz upload), decoded as UTF-8.
// The cap holds for the bytes received and again for the inflated bytes, which are counted as they
// come out of the decompressor: a gzip bomb is stopped at the limit, never inflated in memory.
import { tooLarge } from "./body.ts";
import { HttpError, badUpload } from "./errors.ts";

const GZIP_MAGIC = [0x1f, 0x8b] as const;
/** A .xml.gz sent with Content-Encoding: gzip as well is gzip twice; more layers than that are not a file. */
const MAX_GZIP_LAYERS = 2;

export async function readImportBody(request: Request, limitBytes: number): Promise<string> {
  const encoding = contentEncoding(request.headers.get("content-encoding"));
  let bytes = await readRaw(request, limitBytes);
  if (encoding === "gzip" && bytes.byteLength > 0 && !isGzip(bytes)) {
    throw badUpload("Content-Encoding says gzip but the body is not gzip-compressed.");
  }
  let layers = 0;
  while ((encoding === "gzip" && layers === 0) || (isGzip(bytes) && layers < MAX_GZIP_LAYERS)) {
    bytes = await gunzipLimited(bytes, limitBytes);
    layers++;
  }
  return decodeUtf8(bytes);
}

function contentEncoding(header: string | null): "identity" | "gzip" {
  const value = (header ?? "").trim().toLowerCase();
  if (value === "" || value === "identity") return "identity";
  if (value === "gzip" || value === "x-gzip") return "gzip";
  throw badUpload(`Content-Encoding "${value.slice(0, 40)}" is not supported: send the file as it is or gzip-compressed.`);
}

async function readRaw(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  if (Number(request.headers.get("content-length")) > limit) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
  try {
    return await collectLimited(request.body.getReader(), limit);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw badUpload(`The request body could not be read to its end (${shortReason(error)}).`);
  }
}

/** Reads the stream to its end, or cancels it and throws 413 as soon as it passes `limit` bytes. */
async function collectLimited(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined); // the 413 is the answer; a failing cancel changes nothing
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

const isGzip = (bytes: Uint8Array) => bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];

async function gunzipLimited(compressed: Uint8Array<ArrayBuffer>, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  if (compressed.byteLength === 0) throw badUpload("The body is empty although it is said to be gzip-compressed.");
  const source = new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(controller) {
      controller.enqueue(compressed);
      controller.close();
    },
  });
  const inflated = source.pipeThrough(new DecompressionStream("gzip"));
  try {
    return await collectLimited(inflated.getReader(), limit);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw badUpload(`The gzip-compressed body cannot be inflated: it is truncated or corrupt (${shortReason(error)}).`);
  }
}

function shortReason(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes); // a leading BOM is dropped
  } catch {
    throw badUpload("The file is not UTF-8 text, which a MyAnimeList export is.");
  }
}
