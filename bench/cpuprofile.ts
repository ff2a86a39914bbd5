// Summarizes a Bun/Chrome .cpuprofile (`bun --cpu-prof`): where the samples of a time window went,
// by component (Elysia, postgres.js, lru-cache, the app, Bun's runtime…) and by function.
//   bun bench/cpuprofile.ts FILE.cpuprofile [--last SECONDS] [--top N]
//
// Samples are counted, not their time deltas: on a busy machine the sampler thread itself gets
// descheduled, and one sample can then carry a delta of a second or more.
// Native frames (Response, socket writes, JSON…) are charged to the nearest JavaScript caller's
// component, so "postgres.js" includes the socket writes postgres.js makes.

interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  parent?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  samples: number;
  windowSeconds: number;
  /** Component → share of the window's samples (native leaves charged to their JS caller). */
  components: [string, number][];
  /** Function (with its component) → self share. */
  functions: [string, number][];
  /** Named frames of interest → inclusive share. */
  inclusive: [string, number][];
}

const BUN_INTERNALS = new Set(["processTicksAndRejections", "nextTick", "drainMicrotasks"]);

/** Frames charged to their caller: native code, and Bun's node:net / streams layer. */
function transparent(frame: CallFrame): boolean {
  return component(frame) === undefined || frame.url.startsWith("node:") || frame.url.startsWith("internal:");
}

function component(frame: CallFrame): string | undefined {
  const { url, scriptId, functionName, lineNumber } = frame;
  if (url === "") {
    if (scriptId === "0") return undefined; // native: charged to the caller
    // Code Elysia compiles at start-up with new Function (its composed handlers and router) has no
    // URL but real line numbers; JSC's builtins (map, forEach…) have line 0.
    if (lineNumber > 0 && !BUN_INTERNALS.has(functionName)) return "elysia (compiled handlers)";
    return undefined;
  }
  if (url.includes("/node_modules/@elysiajs/") || url.includes("/node_modules/elysia/")) return "elysia";
  if (url.includes("/node_modules/@sinclair/typebox/") || url.includes("/node_modules/exact-mirror/")) return "typebox / validation";
  if (url.includes("/node_modules/postgres/")) return "postgres.js";
  if (url.includes("/node_modules/lru-cache/")) return "lru-cache";
  if (url.includes("/node_modules/")) return `node_modules/${url.split("/node_modules/")[1]!.split("/")[0]}`;
  if (url.startsWith("node:") || url.startsWith("internal:")) return "node:net / streams (Bun's Node compat)";
  const src = /\/(src|bench)\/(.*)$/.exec(url);
  if (src) return `app ${src[1]}/${src[2]!.split("/")[0]}`;
  return url;
}

function label(frame: CallFrame): string {
  const where = frame.url ? `${frame.url.replace(/^file:\/\/.*?\/(node_modules|src)\//, "$1/")}:${frame.lineNumber + 1}` : frame.scriptId === "0" ? "native" : `script ${frame.scriptId}:${frame.lineNumber + 1}`;
  return `${frame.functionName || "(anonymous)"} ${where}`;
}

/** Inclusive shares of these frames (matched on function name and file). */
const INTERESTING: [string, (f: CallFrame) => boolean][] = [
  ["postgres.js query path (any postgres.js frame)", (f) => f.url.includes("/node_modules/postgres/")],
  ["lru-cache get/set", (f) => f.url.includes("/node_modules/lru-cache/")],
  ["typebox / response validation", (f) => f.url.includes("/node_modules/@sinclair/typebox/") || f.url.includes("/node_modules/exact-mirror/")],
  ["elysia mapResponse / mergeHeaders", (f) => f.url.includes("/node_modules/elysia/dist/adapter/")],
  ["app onRequest hook (src/app.ts)", (f) => f.url.endsWith("/src/app.ts") && f.lineNumber + 1 >= 59 && f.lineNumber + 1 <= 63],
  ["app onAfterResponse hook (src/app.ts)", (f) => f.url.endsWith("/src/app.ts") && f.lineNumber + 1 >= 76 && f.lineNumber + 1 <= 86],
  ["anime route + Catalogue (src/anime)", (f) => f.url.includes("/src/anime/")],
  ["auth (src/auth)", (f) => f.url.includes("/src/auth/")],
  ["account (src/account)", (f) => f.url.includes("/src/account/")],
  ["new Response (native)", (f) => f.scriptId === "0" && f.functionName === "Response"],
  ["JSON.stringify / parse (native)", (f) => f.scriptId === "0" && /^(stringify|parse|toJSON)$/.test(f.functionName)],
  ["socket writes (writeBuffered)", (f) => f.functionName === "writeBuffered"],
];

export function summarize(profile: Profile, lastSeconds?: number, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  for (const node of profile.nodes) for (const child of node.children ?? []) byId.get(child)!.parent = node.id;

  // Sample timestamps, to keep only the last `lastSeconds` (the measured run, not start-up).
  let time = profile.startTime;
  const from = lastSeconds === undefined ? -Infinity : profile.endTime - lastSeconds * 1e6;
  const components = new Map<string, number>();
  const functions = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let counted = 0;
  let firstCounted = Infinity;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i]!; // one delta per sample
    if (time < from) continue;
    firstCounted = Math.min(firstCounted, time);
    const leaf = byId.get(profile.samples[i]!)!;
    if (leaf.callFrame.functionName === "(root)" || leaf.callFrame.functionName === "(idle)") continue;
    counted++;
    let owner: string | undefined;
    let viaNode = false;
    const seen = new Set<string>();
    for (let node: ProfileNode | undefined = leaf; node; node = node.parent === undefined ? undefined : byId.get(node.parent)) {
      if (!owner && !transparent(node.callFrame)) owner = component(node.callFrame);
      if (node.callFrame.url.startsWith("node:") || node.callFrame.url.startsWith("internal:")) viaNode = true;
      for (const [name, match] of INTERESTING) if (!seen.has(name) && match(node.callFrame)) seen.add(name);
    }
    owner ??= viaNode ? "node:net / streams (socket reads and events)" : "Bun runtime (native, no JS caller: HTTP server, GC, event loop)";
    components.set(owner, (components.get(owner) ?? 0) + 1);
    const fn = `${label(leaf.callFrame)}  [${owner}]`;
    functions.set(fn, (functions.get(fn) ?? 0) + 1);
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
  }
  const share = (map: Map<string, number>, limit = Infinity): [string, number][] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, n]) => [name, Math.round((n / Math.max(1, counted)) * 1000) / 10]);
  return {
    samples: counted,
    windowSeconds: Math.round((profile.endTime - Math.min(firstCounted, profile.endTime)) / 1e4) / 100,
    components: share(components),
    functions: share(functions, top),
    inclusive: INTERESTING.map(([name]) => [name, Math.round(((inclusive.get(name) ?? 0) / Math.max(1, counted)) * 1000) / 10] as [string, number]),
  };
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const lines = [`${title}: ${s.samples} samples over the last ${s.windowSeconds} s`, "  by component (self, native time charged to its JS caller):"];
  for (const [name, pct] of s.components) lines.push(`    ${pct.toFixed(1).padStart(5)}%  ${name}`);
  lines.push("  inclusive (share of samples with this on the stack):");
  for (const [name, pct] of s.inclusive) lines.push(`    ${pct.toFixed(1).padStart(5)}%  ${name}`);
  lines.push("  hottest functions (self):");
  for (const [name, pct] of s.functions) lines.push(`    ${pct.toFixed(1).padStart(5)}%  ${name}`);
  return lines.join("\n");
}

if (import.meta.main) {
  const args = Bun.argv.slice(2);
  const file = args.find((a) => !a.startsWith("--"));
  if (!file) {
    console.error("usage: bun bench/cpuprofile.ts FILE.cpuprofile [--last SECONDS] [--top N]");
    process.exit(2);
  }
  const opt = (name: string) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : undefined);
  const profile = (await Bun.file(file).json()) as Profile;
  console.log(formatSummary(file, summarize(profile, opt("--last"), opt("--top") ?? 25)));
}
