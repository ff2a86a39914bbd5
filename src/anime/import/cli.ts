// bun run import <release file> [--prune]
// Imports an anime-offline-database release into the database the environment names (DATABASE_URL,
// else the embedded database in DATA_DIR, through its server's socket when one is running).
import { loadConfig } from "../../config.ts";
import { openDatabaseForTool } from "../../db/connect.ts";
import { migrate } from "../../db/migrate.ts";
import { createLogger } from "../../log.ts";
import { type ImportReport, importCatalogue, readReleaseFile } from "./importer.ts";

const USAGE = "usage: bun run import <anime-offline-database file (.json, .jsonl, optionally .zst)> [--prune]";
const SKIPPED_SHOWN = 50;

interface Arguments {
  file: string;
  prune: boolean;
}

function parseArguments(args: string[]): Arguments | undefined {
  const files = args.filter((arg) => !arg.startsWith("--"));
  const flags = args.filter((arg) => arg.startsWith("--"));
  const [file] = files;
  if (files.length !== 1 || file === undefined || flags.some((flag) => flag !== "--prune")) return undefined;
  return { file, prune: flags.includes("--prune") };
}

/** `\r`-rewritten on a terminal, one line per update otherwise (logs, CI). */
function progressPrinter(): { update(read: number): void; done(): void } {
  const tty = process.stderr.isTTY;
  let printed = false;
  return {
    update(read) {
      const line = `read ${read.toLocaleString("en-US")} entries…`;
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
      printed = true;
    },
    done() {
      if (tty && printed) process.stderr.write("\n");
      printed = false;
    },
  };
}

function formatReport(file: string, report: ImportReport, seconds: number): string {
  const count = (n: number) => n.toLocaleString("en-US").padStart(9);
  const lines = [
    `Imported ${file} in ${seconds.toFixed(1)} s (catalogue version ${report.version}):`,
    `  read      ${count(report.read)}`,
    `  inserted  ${count(report.inserted)}`,
    `  updated   ${count(report.updated)}`,
    `  unchanged ${count(report.unchanged)}`,
    `  pruned    ${count(report.pruned)}`,
    `  kept_listed ${count(report.keptListed)}  (not in the release, kept: on someone's list)`,
    `  skipped   ${count(report.skipped.length)}`,
    ...report.skipped.slice(0, SKIPPED_SHOWN).map(({ location, reason }) => `    ${location}: ${reason}`),
  ];
  const hidden = report.skipped.length - SKIPPED_SHOWN;
  if (hidden > 0) lines.push(`    … and ${hidden} more`);
  return lines.join("\n");
}

async function main(args: string[]): Promise<number> {
  const parsed = parseArguments(args);
  if (!parsed) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  const started = performance.now();
  // Log lines (a dropped connection, say) go to stderr, beside the progress; the report goes to stdout.
  const db = await openDatabaseForTool(config, createLogger(config.logLevel, (line) => void process.stderr.write(line)));
  const progress = progressPrinter();
  try {
    await migrate(db.sql);
    const report = await importCatalogue(db.sql, readReleaseFile(parsed.file), {
      prune: parsed.prune,
      onProgress: progress.update,
    });
    progress.done();
    console.log(formatReport(parsed.file, report, (performance.now() - started) / 1000));
    return 0;
  } finally {
    progress.done();
    await db.close();
  }
}

try {
  process.exitCode = await main(Bun.argv.slice(2));
} catch (error) {
  console.error(`import failed: ${error instanceof Error ? error.message : String(error)}`);
  console.error("Nothing was changed.");
  process.exitCode = 1;
}
