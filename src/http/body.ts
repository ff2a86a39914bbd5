// Request bodies: read with a size limit and parsed as JSON whatever the Content-Type says, since
// every body in the contract is JSON. The answers for bad bodies are the contract's.
import { HttpError, detail } from "./errors.ts";

export const tooLarge = () => new HttpError(413, detail("Request body too large."));

async function readLimited(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get("content-length"));
  if (declared > limit) throw tooLarge();
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return new TextDecoder("utf-8", { fatal: false }).decode(Buffer.concat(chunks));
}

/** An empty body counts as `{}`, so a missing field gets "This field is required." */
export async function parseJsonObject(request: Request, limit: number): Promise<Record<string, unknown>> {
  const text = await readLimited(request, limit);
  if (text.trim() === "") return {};
  // No body of the contract nests at all; a deeply nested one (a few KiB of "[[[[…") made the schema
  // validator's error reporting recurse until the stack overflowed: a 500 for any client that asked.
  if (nestingDepth(text) > MAX_NESTING) throw new HttpError(400, detail(`JSON parse error - nested deeper than ${MAX_NESTING} levels`));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, detail(`JSON parse error - ${shortened((error as Error).message)}`));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, detail("Expected a JSON object."));
  }
  return value as Record<string, unknown>;
}

const MAX_NESTING = 32;

/** How deeply arrays and objects nest in a JSON text (brackets inside strings do not count). */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return deepest;
}

/** The parser's message quotes the offending text: keep it short, a client's body is not ours to echo at length. */
function shortened(message: string): string {
  const text = message.replace(/^JSON Parse error: /, "");
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
