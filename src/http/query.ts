// Query-string parameters of the list routes (Part 2 of the contract, "Query parameters and pages"),
// read with Django REST Framework's messages, and the `{count, next, previous, results}` page.
// A route declares its parameters as optional strings in its `t` schema (for OpenAPI; Elysia keeps
// the last of repeated values) and reads them here: every bad field is collected, then reported at once.
import { type FieldErrors, fieldErrors, invalidPage, messages } from "./errors.ts";

export { invalidPage } from "./errors.ts";

export type RawQuery = Record<string, string | undefined>;

export const queryMessages = {
  integer: "A valid integer is required.",
  atMost: (n: number) => `Ensure this value is less than or equal to ${n}.`,
  atLeast: (n: number) => `Ensure this value is greater than or equal to ${n}.`,
  invalidChoice: (value: string) => `"${value}" is not a valid choice.`,
} as const;

const INTEGER_PATTERN = /^[+-]?\d+$/;
/** Longer text than any parameter needs is refused rather than processed. */
export const MAX_TEXT_PARAMETER = 200;

export class QueryReader {
  readonly errors: FieldErrors = {};

  constructor(private readonly query: RawQuery) {}

  /** Whether the parameter was given at all (even blank). */
  has(name: string): boolean {
    return this.query[name] !== undefined;
  }

  fail(name: string, message: string): undefined {
    this.errors[name] ??= [message];
    return undefined;
  }

  /** Trimmed text; blank and over-long values are field errors. */
  text(name: string, maxLength = MAX_TEXT_PARAMETER): string | undefined {
    const raw = this.query[name];
    if (raw === undefined) return undefined;
    const value = raw.trim();
    if (value === "") return this.fail(name, messages.blank);
    if ([...value].length > maxLength) return this.fail(name, messages.maxLength(maxLength));
    return value;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    if (!INTEGER_PATTERN.test(value)) return this.fail(name, queryMessages.integer);
    const number = Number(value); // beyond 2^53 it is imprecise, but still far out of any range here
    if (number > max) return this.fail(name, queryMessages.atMost(max));
    if (number < min) return this.fail(name, queryMessages.atLeast(min));
    return number;
  }

  /** Comma-separated non-blank names (tags), trimmed; at most `maxItems` of them. */
  names(name: string, maxItems = 50): string[] | undefined {
    const value = this.text(name, MAX_TEXT_PARAMETER * 10);
    if (value === undefined) return undefined;
    const items = value.split(",").map((item) => item.trim());
    if (items.some((item) => item === "")) return this.fail(name, messages.blank);
    if (items.some((item) => [...item].length > MAX_TEXT_PARAMETER)) return this.fail(name, messages.maxLength(MAX_TEXT_PARAMETER));
    if (items.length > maxItems) return this.fail(name, `Ensure this field has no more than ${maxItems} elements.`);
    return [...new Set(items)];
  }

  /** One value of `allowed`, matched ignoring case; the canonical spelling comes back. */
  choice<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    return this.choices(name, allowed)?.[0];
  }

  /** A comma-separated list of `allowed` values, matched ignoring case. */
  choices<T extends string>(name: string, allowed: readonly T[], multiple = true): T[] | undefined {
    const value = this.text(name, MAX_TEXT_PARAMETER * 10);
    if (value === undefined) return undefined;
    const items = multiple ? value.split(",").map((item) => item.trim()) : [value];
    const byFolded = new Map(allowed.map((choice) => [choice.toLowerCase(), choice]));
    const chosen: T[] = [];
    for (const item of items) {
      const found = byFolded.get(item.toLowerCase());
      if (found === undefined) return this.fail(name, queryMessages.invalidChoice(shortForMessage(item)));
      if (!chosen.includes(found)) chosen.push(found);
    }
    return chosen;
  }

  /** `page`: anything but a positive integer is DRF's 404 "Invalid page." (a blank one is a field error). */
  page(): number {
    const raw = this.query.page;
    if (raw === undefined) return 1;
    if (raw.trim() === "") return this.fail("page", messages.blank) ?? 1;
    if (!/^\+?\d{1,9}$/.test(raw.trim()) || Number(raw) < 1) throw invalidPage();
    return Number(raw);
  }

  pageSize(min: number, max: number, fallback: number): number {
    return this.integer("page_size", min, max) ?? fallback;
  }

  /** Throws the 400 with every field error collected so far. */
  finish(): void {
    if (Object.keys(this.errors).length) throw fieldErrors(this.errors);
  }
}

function shortForMessage(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface PageRequest {
  page: number;
  pageSize: number;
}

export const pageOffset = ({ page, pageSize }: PageRequest) => (page - 1) * pageSize;

/**
 * Checks `page` against `count` (past the last page: 404, but page 1 of nothing is a page) and
 * links the neighbours: the request's own URL with another `page` (none for page 1, as DRF does).
 */
export function pageOf<T>(requestUrl: string, count: number, request: PageRequest, results: T[]): Page<T> {
  const lastPage = Math.max(1, Math.ceil(count / request.pageSize));
  if (request.page > lastPage) throw invalidPage();
  return {
    count,
    next: request.page < lastPage ? withPage(requestUrl, request.page + 1) : null,
    previous: request.page > 1 ? withPage(requestUrl, request.page - 1) : null,
    results,
  };
}

/**
 * A page's JSON up to its results (`{"count":…,"next":…,"previous":…,"results":[`), for pages whose
 * results are already JSON: the caller appends them, comma-separated, and `]}`.
 */
export function pageHeadJson(page: Pick<Page<unknown>, "count" | "next" | "previous">): string {
  return `{"count":${page.count},"next":${JSON.stringify(page.next)},"previous":${JSON.stringify(page.previous)},"results":[`;
}

function withPage(requestUrl: string, page: number): string {
  const url = new URL(requestUrl);
  if (page === 1) url.searchParams.delete("page");
  else url.searchParams.set("page", String(page));
  return url.href;
}
