// The container files (Dockerfile, .dockerignore, docker-compose.yml), checked without a Docker engine:
// the Dockerfile is linted with dockerfile-utils and parsed with its parser (dockerfile-ast), the
// compose file with `yaml`, and the claims they make about the code base (the start command, the
// port, the importer, the files the image needs) are checked against the code base itself.
// Where something can be run outside Docker it is: the HEALTHCHECK command against stub servers,
// and the server started from a copy of exactly the files the image would contain.
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative, resolve } from "node:path";
import { validate } from "dockerfile-utils";
import type * as Ast from "dockerfile-ast";
import { parseDocument } from "yaml";
import { loadConfig, parseDurationMs } from "../src/config.ts";

const ROOT = resolve(import.meta.dir, "..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** `value`, failing the test with `what` when it is missing. */
function present<T>(value: T | undefined, what: string): T {
  expect(value, what).toBeDefined();
  return value!;
}

// dockerfile-ast is the parser dockerfile-utils itself uses; resolve it from there so this works with
// hoisted and isolated node_modules layouts alike.
const requireHere = createRequire(import.meta.url);
const { DockerfileParser } = createRequire(requireHere.resolve("dockerfile-utils"))("dockerfile-ast") as typeof Ast;

const pkg = JSON.parse(read("package.json")) as {
  version: string;
  license: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** `bun src/main.ts` -> ["bun", "src/main.ts"]; the scripts are plain words, no quoting. */
function scriptWords(name: string): string[] {
  const script = pkg.scripts[name];
  expect(script, `package.json has a "${name}" script`).toBeString();
  expect(script, `the "${name}" script is a single plain command`).not.toMatch(/[&|;<>$`'"()]/);
  return script!.trim().split(/\s+/);
}

// ---------------------------------------------------------------------------------------------------
// The Dockerfile, split into its build stages.

const DOCKERFILE = read("Dockerfile");
const dockerfile = DockerfileParser.parse(DOCKERFILE);

interface Stage {
  from: Ast.From;
  name: string | null;
  instructions: Ast.Instruction[];
}

const stages: Stage[] = [];
for (const instruction of dockerfile.getInstructions()) {
  if (instruction.getKeyword() === "FROM") {
    const from = instruction as Ast.From;
    stages.push({ from, name: from.getBuildStage(), instructions: [] });
  } else {
    stages.at(-1)?.instructions.push(instruction);
  }
}
const finalStage = stages.at(-1)!;

const ofKind = <T extends Ast.Instruction>(stage: Stage, keyword: string) =>
  stage.instructions.filter((instruction) => instruction.getKeyword() === keyword) as T[];
const argsOf = (instruction: Ast.Instruction) => instruction.getArguments().map((arg) => arg.getValue());
const flagOf = (instruction: Ast.ModifiableInstruction, name: string) =>
  instruction.getFlags().find((flag) => flag.getName() === name)?.getValue() ?? undefined;

/** The exec (JSON) form's strings, or undefined for the shell form. */
function execForm(instruction: Ast.JSONInstruction): string[] | undefined {
  if (!instruction.getOpeningBracket() || !instruction.getClosingBracket()) return undefined;
  return instruction.getJSONStrings().map((json) => json.getJSONValue());
}

/** Name -> value of every ENV/LABEL property in a stage (later ones win, as in Docker). */
function properties(stage: Stage, keyword: "ENV" | "LABEL"): Record<string, string> {
  const result: Record<string, string> = {};
  for (const instruction of ofKind<Ast.PropertyInstruction>(stage, keyword)) {
    for (const property of instruction.getProperties()) result[property.getName()] = property.getValue() ?? "";
  }
  return result;
}

function workdir(stage: Stage): string {
  const workdirs = ofKind(stage, "WORKDIR");
  expect(workdirs.length, `stage ${stage.name} sets its WORKDIR`).toBeGreaterThan(0);
  return present(argsOf(workdirs.at(-1)!)[0], `stage ${stage.name}'s WORKDIR has a path`);
}

interface CopyStep {
  from: string | undefined;
  sources: string[];
  destination: string;
}

function copies(stage: Stage): CopyStep[] {
  return ofKind<Ast.Copy>(stage, "COPY").map((copy) => {
    const words = execForm(copy) ?? argsOf(copy);
    return { from: flagOf(copy, "from"), sources: words.slice(0, -1), destination: words.at(-1)! };
  });
}

const finalEnv = properties(finalStage, "ENV");
const exposedPorts = ofKind(finalStage, "EXPOSE").flatMap(argsOf);

// ---------------------------------------------------------------------------------------------------
// .dockerignore, with Docker's rules: patterns are relative to the context root, `*` stays within one
// path segment, `**` crosses them, `!` re-includes, the last matching pattern wins, and a pattern
// that matches a directory excludes everything in it.

const ignorePatterns = read(".dockerignore")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith("#"))
  .map((line) => {
    const negated = line.startsWith("!");
    const pattern = posix.normalize((negated ? line.slice(1) : line).trim().replace(/^\/+/, "")).replace(/\/+$/, "");
    return { negated, glob: new Bun.Glob(pattern), pattern };
  });

function isIgnored(relativePath: string): boolean {
  const parts = relativePath.split("/");
  let ignored = false;
  for (const { negated, glob } of ignorePatterns) {
    for (let i = 1; i <= parts.length; i++) {
      if (glob.match(parts.slice(0, i).join("/"))) {
        ignored = !negated;
        break;
      }
    }
  }
  return ignored;
}

function filesUnder(relativePath: string): string[] {
  const absolute = join(ROOT, relativePath);
  if (!statSync(absolute).isDirectory()) return [relativePath];
  return readdirSync(absolute, { recursive: true })
    .map((entry) => posix.join(relativePath, String(entry).replaceAll("\\", "/")))
    .filter((entry) => statSync(join(ROOT, entry)).isFile());
}

// ---------------------------------------------------------------------------------------------------
// docker-compose.yml, with Compose's variable interpolation done as `docker compose` would with no
// variables set: every `${VAR}` must therefore have a default, so the file works without an .env.

const composeDocument = parseDocument(read("docker-compose.yml"));
// Untyped on purpose: the fields are checked one by one below.
const compose = composeDocument.toJS() as any;

function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced?: string, operator?: string, fallback?: string, bare?: string) => {
      if (match === "$$") return "$";
      const name = (braced ?? bare)!;
      const set = env[name];
      if (operator?.endsWith("-")) return set !== undefined && (operator === "-" || set !== "") ? set : fallback!;
      if (set !== undefined) return set;
      throw new Error(`${name} has no default in docker-compose.yml: "${value}"`);
    },
  );
}

function serviceEnv(name: string): Record<string, string> {
  const environment = compose.services[name].environment ?? {};
  const pairs: [string, string][] = Array.isArray(environment)
    ? environment.map((line: string) => {
        const at = line.indexOf("=");
        return [line.slice(0, at), line.slice(at + 1)];
      })
    : Object.entries(environment).map(([key, value]) => [key, String(value ?? "")]);
  return Object.fromEntries(pairs.map(([key, value]) => [key, interpolate(value)]));
}

const asList = (value: unknown): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [String(value)]);

// ---------------------------------------------------------------------------------------------------

describe("Dockerfile", () => {
  test("dockerfile-utils finds no error and no warning", () => {
    const diagnostics = validate(DOCKERFILE).map((d) => `line ${d.range.start.line + 1}: ${d.message} (severity ${d.severity})`);
    expect(diagnostics).toEqual([]);
  });

  test("is multi-stage, every base image the official Bun image at the pinned Bun version", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const stageNames = new Set<string>();
    for (const { from, name } of stages) {
      const image = from.getImageName()!;
      if (stageNames.has(image)) continue; // FROM an earlier stage
      expect(image).toBe("oven/bun");
      const tag = from.getImageTag() ?? "";
      // A full version (optionally with a variant such as -slim), never latest / a floating major.
      expect(tag).toMatch(/^\d+\.\d+\.\d+(-[a-z0-9]+)?$/);
      // The same Bun the project is developed and tested with (bun-types is pinned to it).
      expect(tag.split("-")[0]).toBe(pkg.devDependencies["bun-types"]);
      if (name) stageNames.add(name);
    }
  });

  test("a separate stage installs production dependencies only, from the frozen lockfile", () => {
    const installStages = stages.slice(0, -1).filter((stage) =>
      ofKind(stage, "RUN").some((run) => /\bbun\s+install\b/.test(run.getArgumentsContent() ?? "")),
    );
    expect(installStages.length).toBe(1);
    const deps = installStages[0]!; // the one, checked above
    const install = ofKind(deps, "RUN")
      .map((run) => argsOf(run))
      .find((words) => words.includes("install"))!;
    expect(install).toContain("--frozen-lockfile");
    expect(install).toContain("--production");

    // The lockfile and manifest are in place before the install runs.
    const copiedBeforeInstall = copies(deps).flatMap((copy) => copy.sources.map((source) => posix.basename(source)));
    expect(copiedBeforeInstall).toContain("package.json");
    expect(copiedBeforeInstall).toContain("bun.lock");

    // The final stage takes node_modules from that stage, not from the build context.
    const fromDeps = copies(finalStage).filter((copy) => copy.from === deps.name);
    expect(fromDeps.flatMap((copy) => copy.sources)).toEqual([posix.join(workdir(deps), "node_modules")]);
    expect(posix.resolve(workdir(finalStage), fromDeps[0]!.destination)).toBe(posix.join(workdir(finalStage), "node_modules"));
  });

  test("every COPY --from names an earlier stage; every other COPY source exists in the repository", () => {
    const seen: string[] = [];
    for (const stage of stages) {
      for (const copy of copies(stage)) {
        if (copy.from !== undefined) {
          expect(seen).toContain(copy.from);
          continue;
        }
        expect(copy.sources.length).toBeGreaterThan(0);
        for (const source of copy.sources) {
          expect(source, "no globs or context escapes in COPY").toMatch(/^[\w][\w./-]*$/);
          expect(existsSync(join(ROOT, source)), `${source} exists`).toBe(true);
        }
      }
      if (stage.name) seen.push(stage.name);
    }
  });

  test("the final stage has the application: manifest, lockfile, src/ and sql/ (the migrations)", () => {
    const copied = copies(finalStage)
      .filter((copy) => copy.from === undefined)
      .flatMap((copy) => copy.sources);
    expect(copied).toEqual(expect.arrayContaining(["package.json", "bun.lock", "src", "sql"]));
    // The CMD's script is inside what is copied.
    const script = present(execForm(ofKind<Ast.Cmd>(finalStage, "CMD").at(-1)!)![1], "the CMD names a script");
    expect(copied.some((source) => script === source || script.startsWith(`${source}/`))).toBe(true);
  });

  test("the final stage runs as a non-root user, which owns the embedded database's DATA_DIR", () => {
    const users = ofKind(finalStage, "USER");
    expect(users.length).toBeGreaterThan(0);
    const user = present(argsOf(users.at(-1)!)[0], "the USER names a user");
    const [name, group] = user.split(":");
    expect(["root", "0"]).not.toContain(name);
    expect(["root", "0"]).not.toContain(group ?? "bun");

    // The USER comes before the CMD (and nothing after it re-enters root).
    const keywords = finalStage.instructions.map((instruction) => instruction.getKeyword());
    expect(keywords.lastIndexOf("USER")).toBeLessThan(keywords.lastIndexOf("CMD"));

    const dataDir = present(finalEnv.DATA_DIR, "the image sets DATA_DIR");
    expect(dataDir).toStartWith("/");
    const prepare = ofKind(finalStage, "RUN").map((run) => run.getArgumentsContent() ?? "");
    expect(prepare.some((script) => script.includes(`mkdir -p ${dataDir}`))).toBe(true);
    expect(prepare.some((script) => new RegExp(`chown ${name}(:\\S+)? ${dataDir.replaceAll(".", "\\.")}`).test(script))).toBe(true);
  });

  test("ENV: production mode, listening on all interfaces, a valid configuration", () => {
    expect(finalEnv.NODE_ENV).toBe("production");
    expect(finalEnv.PORT).toBeDefined();
    // The image's environment is a configuration the server accepts (loadConfig throws otherwise).
    const config = loadConfig(finalEnv);
    expect(config.port).toBe(Number(finalEnv.PORT));
    expect(["0.0.0.0", "::"]).toContain(config.host);
    expect<string | undefined>(config.dataDir).toBe(finalEnv.DATA_DIR);
  });

  test("EXPOSE is the server's default port (src/config.ts) and the image's PORT", () => {
    expect(exposedPorts).toEqual([String(loadConfig({}).port)]);
    expect<(string | undefined)[]>(exposedPorts).toEqual([finalEnv.PORT]);
  });

  test("CMD is the exec form of the `serve` script, with no ENTRYPOINT wrapped around it", () => {
    const cmds = ofKind<Ast.Cmd>(finalStage, "CMD");
    expect(cmds.length).toBe(1);
    const cmd = execForm(cmds[0]!);
    expect(cmd).toEqual(["bun", "src/main.ts"]);
    expect(cmd).toEqual(scriptWords("serve"));
    // The base image's entrypoint script is reset, so bun itself is PID 1 and gets SIGTERM.
    const entrypoints = ofKind<Ast.Entrypoint>(finalStage, "ENTRYPOINT");
    expect(entrypoints.length).toBe(1);
    expect(execForm(entrypoints[0]!)).toEqual([]);
  });

  test("STOPSIGNAL is SIGTERM", () => {
    expect(ofKind(finalStage, "STOPSIGNAL").map((instruction) => argsOf(instruction)[0])).toEqual(["SIGTERM"]);
  });

  test("OCI labels: title, description, licenses (package.json's), version, source", () => {
    const labels = properties(finalStage, "LABEL");
    expect(labels["org.opencontainers.image.title"]).toBe("lumotist-api");
    expect(labels["org.opencontainers.image.description"]?.length).toBeGreaterThan(10);
    expect(labels["org.opencontainers.image.licenses"]).toBe(pkg.license);
    expect(labels["org.opencontainers.image.version"]).toBe(pkg.version);
    expect(labels).toHaveProperty(["org.opencontainers.image.source"]);
  });
});

// ---------------------------------------------------------------------------------------------------

const healthchecks = ofKind<Ast.Healthcheck>(finalStage, "HEALTHCHECK");
const healthcheckCommand = (): string[] => {
  const healthcheck = present(healthchecks[0], "the final stage has a HEALTHCHECK");
  const match = /^CMD\s+(\[[\s\S]*\])\s*$/.exec(healthcheck.getArgumentsContent() ?? "");
  expect(match, "HEALTHCHECK CMD in exec form").not.toBeNull();
  return JSON.parse(match![1]!);
};

/** Runs the HEALTHCHECK's command as Docker would (no shell), with the image's environment. */
async function runHealthcheck(env: Record<string, string>): Promise<number> {
  const [program, ...args] = healthcheckCommand();
  expect(program).toBe("bun");
  const child = Bun.spawn([process.execPath, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "ignore",
    stderr: "ignore",
  });
  return child.exited;
}

describe("HEALTHCHECK", () => {
  test("there is one, with sane timings", () => {
    expect(healthchecks.length).toBe(1);
    const seconds = (name: string) => parseDurationMs(flagOf(healthchecks[0]!, name) ?? "30s")!;
    expect(seconds("timeout")).toBeLessThan(seconds("interval"));
    // Startup (migrations, and PGlite in the embedded mode) is not counted as failures.
    expect(seconds("start-period")).toBeGreaterThanOrEqual(10_000);
  });

  test("asks /ready on the container's PORT", () => {
    const command = healthcheckCommand().join(" ");
    expect(command).toContain("/ready");
    expect(command).toContain("127.0.0.1");
    expect(command).toContain("process.env.PORT");
    // Its fallback port is the one the image exposes.
    expect(/process\.env\.PORT\s*\|\|\s*(\d+)/.exec(command)?.[1]).toBe(exposedPorts[0]);
  });

  test("exits 0 when /ready is 200, 1 when it is 503 or nothing listens", async () => {
    let readyStatus = 200;
    const stub = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request) => {
        const path = new URL(request.url).pathname;
        if (path === "/ready") return new Response("", { status: readyStatus });
        if (path === "/health") return new Response("{}", { status: 200 });
        return new Response("", { status: 404 });
      },
    });
    try {
      const env = { ...finalEnv, PORT: String(stub.port) };
      expect(await runHealthcheck(env)).toBe(0);
      readyStatus = 503; // alive but not ready: /health would still say 200
      expect(await runHealthcheck(env)).toBe(1);
    } finally {
      stub.stop(true);
    }
    expect(await runHealthcheck({ ...finalEnv, PORT: String(stub.port) })).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------

describe(".dockerignore", () => {
  test("keeps node_modules, .data, .git, logs and the importer's ./import out of the build context", () => {
    for (const path of ["node_modules", "node_modules/elysia/package.json", ".data", ".data/pglite/PG_VERSION", ".git", ".git/HEAD", "server.log", "import/anime-offline-database.jsonl"]) {
      expect(isIgnored(path), path).toBe(true);
    }
  });

  test("keeps nothing out that the Dockerfile copies", () => {
    const excluded = stages
      .flatMap(copies)
      .filter((copy) => copy.from === undefined)
      .flatMap((copy) => copy.sources.flatMap(filesUnder))
      .filter(isIgnored);
    expect(excluded).toEqual([]);
  });

  test("the matcher used here follows Docker's rules (so the checks above mean something)", () => {
    expect(isIgnored("src/main.ts")).toBe(false);
    expect(isIgnored("sql/001_accounts.sql")).toBe(false);
    expect(isIgnored("src/deep/debug.log")).toBe(true); // **/*.log
  });
});

// ---------------------------------------------------------------------------------------------------

describe("what the image runs needs nothing it lacks", () => {
  const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
  const sourceFiles = filesUnder("src").filter((file) => /\.(ts|tsx|js|mjs|cjs)$/.test(file));

  test("src/ imports only production dependencies (devDependencies are not installed in the image)", () => {
    const problems: string[] = [];
    const specifier = /(?:^|[\s;])(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?["']([^"']+)["']|\b(?:import|require)\(\s*["']([^"']+)["']\s*\)/gm;
    for (const file of sourceFiles) {
      for (const match of read(file).matchAll(specifier)) {
        const spec = (match[1] ?? match[2])!; // one alternative or the other matched
        if (spec.startsWith(".") || spec.startsWith("/") || builtins.has(spec) || spec === "bun" || spec.startsWith("bun:")) continue;
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
        if (!(name in pkg.dependencies)) problems.push(`${file}: "${spec}" is not in dependencies`);
      }
    }
    expect(problems).toEqual([]);
  });

  test("src/ reads no file outside what the image contains", () => {
    // Paths climbing out of src/ with import.meta.dir must land in a directory the image copies.
    const copied = copies(finalStage).flatMap((copy) => (copy.from === undefined ? copy.sources : ["node_modules"]));
    const problems: string[] = [];
    for (const file of sourceFiles) {
      for (const match of read(file).matchAll(/join\(\s*import\.meta\.dir((?:\s*,\s*["'][^"']*["'])+)\s*\)/g)) {
        const parts = [...match[1]!.matchAll(/["']([^"']*)["']/g)].map((part) => part[1]!);
        const target = relative(ROOT, join(ROOT, dirname(file), ...parts)).replaceAll("\\", "/");
        if (!copied.some((source) => target === source || target.startsWith(`${source}/`))) problems.push(`${file} -> ${target}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------

describe("the image's files, run outside Docker", () => {
  const staged: string[] = [];
  afterAll(() => {
    for (const dir of staged) rmSync(dir, { recursive: true, force: true });
  });

  /** Lays out the final stage's WORKDIR as the build would: the COPYs, minus .dockerignore. */
  function stageImage(): string {
    const dir = mkdtempSync(join(tmpdir(), "lumotist-image-"));
    staged.push(dir);
    const appDir = workdir(finalStage);
    const inImage = (destination: string) => {
      const absolute = posix.resolve(appDir, destination);
      expect(absolute === appDir || absolute.startsWith(`${appDir}/`), `${destination} is inside ${appDir}`).toBe(true);
      return join(dir, posix.relative(appDir, absolute));
    };
    for (const copy of copies(finalStage)) {
      for (const source of copy.sources) {
        const target = copy.sources.length > 1 || copy.destination.endsWith("/") ? join(inImage(copy.destination), posix.basename(source)) : inImage(copy.destination);
        if (copy.from !== undefined) {
          // Built in the dependency stage: this checkout's node_modules stands in for it.
          const fromStage = stages.find((stage) => stage.name === copy.from)!;
          symlinkSync(join(ROOT, posix.relative(workdir(fromStage), source)), target);
        } else {
          cpSync(join(ROOT, source), target, {
            recursive: true,
            filter: (path) => !isIgnored(relative(ROOT, path).replaceAll("\\", "/")),
          });
        }
      }
    }
    return dir;
  }

  test.skipIf(!existsSync(join(ROOT, "src/main.ts")))(
    "the CMD starts the server from the staged files; HEALTHCHECK passes; SIGTERM stops it cleanly",
    async () => {
      const dir = stageImage();
      const port = (() => {
        const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
        const free = probe.port;
        probe.stop(true);
        return free;
      })();
      const env = {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? dir,
        ...finalEnv,
        PORT: String(port),
        DATA_DIR: join(dir, ".data"), // stands in for the image's bun-owned /app/.data
        LOG_LEVEL: "warn",
      };
      const [program, ...args] = execForm(ofKind<Ast.Cmd>(finalStage, "CMD").at(-1)!)!;
      expect(program).toBe("bun");
      const server = Bun.spawn([process.execPath, ...args], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
      const output = async () => `${await new Response(server.stdout).text()}${await new Response(server.stderr).text()}`;
      try {
        let healthy = false;
        // Start-up is PGlite plus the sample import: seconds normally, longer on a loaded machine.
        const deadline = Date.now() + 90_000;
        while (!healthy && Date.now() < deadline && server.exitCode === null) {
          healthy = (await runHealthcheck(env)) === 0;
          if (!healthy) await Bun.sleep(500);
        }
        if (!healthy) {
          server.kill("SIGKILL");
          throw new Error(`the staged server never became ready:\n${await output()}`);
        }
        server.kill("SIGTERM");
        const shutdownMs = loadConfig(env).shutdownTimeoutMs;
        const code = await Promise.race([server.exited, Bun.sleep(shutdownMs + 5_000).then(() => "timeout" as const)]);
        if (code === "timeout") server.kill("SIGKILL");
        expect({ code, signal: server.signalCode }).toEqual({ code: 0, signal: null });
        expect(await runHealthcheck(env)).toBe(1);
      } finally {
        if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
      }
    },
    150_000,
  );
});

// ---------------------------------------------------------------------------------------------------

describe("docker-compose.yml", () => {
  test("is valid YAML without warnings", () => {
    expect(composeDocument.errors.map(String)).toEqual([]);
    expect(composeDocument.warnings.map(String)).toEqual([]);
  });

  test("services db (PostgreSQL 15, pg_isready healthcheck, named data volume) and api", () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(["db", "api"]));
    const db = compose.services.db;
    expect(db.image).toMatch(/^postgres:15(\b|$)/);
    expect(asList(db.healthcheck?.test).join(" ")).toContain("pg_isready");
    expect(serviceEnv("db").POSTGRES_PASSWORD?.length).toBeGreaterThan(0);

    const dataMount = asList(db.volumes).find((volume) => volume.split(":")[1] === "/var/lib/postgresql/data");
    expect(dataMount).toBeDefined();
    const volumeName = dataMount!.split(":")[0]!;
    expect(volumeName).toMatch(/^[A-Za-z0-9][\w.-]*$/); // a name, not a host path
    expect(Object.keys(compose.volumes ?? {})).toContain(volumeName);
  });

  test("api: built from this Dockerfile, waits for a healthy db, restarts unless stopped, publishes the port", () => {
    const api = compose.services.api;
    expect(typeof api.build === "string" ? api.build : api.build?.context).toBe(".");
    expect(api.build?.dockerfile ?? "Dockerfile").toBe("Dockerfile");
    expect(api.depends_on?.db?.condition).toBe("service_healthy");
    expect(api.restart).toBe("unless-stopped");
    expect(asList(api.ports)).toContain(`${exposedPorts[0]}:${exposedPorts[0]}`);
  });

  test("api: DATABASE_URL points at the db service with its credentials; the configuration loads", () => {
    const env = serviceEnv("api");
    const db = serviceEnv("db");
    const url = new URL(present(env.DATABASE_URL, "api sets DATABASE_URL"));
    expect(url.hostname).toBe("db");
    expect(url.port || "5432").toBe("5432");
    expect(decodeURIComponent(url.username)).toBe(db.POSTGRES_USER ?? "postgres");
    expect<string | undefined>(decodeURIComponent(url.password)).toBe(db.POSTGRES_PASSWORD);
    expect(url.pathname.slice(1)).toBe(db.POSTGRES_DB ?? db.POSTGRES_USER ?? "postgres");
    expect(env).toHaveProperty("LOG_LEVEL");
    expect(env).toHaveProperty("CORS_ORIGINS");

    const config = loadConfig(env);
    expect(config.databaseUrl).toBe(env.DATABASE_URL);
    // docker stop waits stop_grace_period (10 s by default) before SIGKILL: longer than the server's drain.
    const grace = parseDurationMs(String(compose.services.api.stop_grace_period ?? "10s"))!;
    expect(grace).toBeGreaterThan(config.shutdownTimeoutMs);
  });

  test("import (profile tools): runs the importer script with a file argument, from ./import read-only", () => {
    const importer = compose.services.import;
    expect(importer).toBeDefined();
    expect(importer.profiles).toContain("tools");
    // The same command as `bun run import`; arguments given to `docker compose run --rm import ...`
    // replace `command`, so they become the importer's arguments.
    const entrypoint = asList(importer.entrypoint);
    expect(entrypoint).toEqual(scriptWords("import"));
    const command = asList(importer.command);
    expect(command.length).toBe(1);
    expect(command[0]).toMatch(/^\/import\/[^/]+\.jsonl?$/);
    expect(asList(importer.volumes)).toContain("./import:/import:ro");
    // The compose file's own usage notes show the same thing.
    expect(read("docker-compose.yml")).toContain("docker compose run --rm import /import/");

    // The same image and database as the API.
    expect(importer.image ?? null).toBe(compose.services.api.image ?? null);
    expect(serviceEnv("import").DATABASE_URL).toBe(serviceEnv("api").DATABASE_URL);
    expect(importer.depends_on?.db?.condition).toBe("service_healthy");
  });

  test("the importer script exists, and the image contains it", () => {
    const script = present(scriptWords("import")[1], 'the "import" script names a file');
    expect(existsSync(join(ROOT, script)), `${script} exists`).toBe(true);
    expect(isIgnored(script)).toBe(false);
    const copied = copies(finalStage).flatMap((copy) => copy.sources);
    expect(copied.some((source) => script.startsWith(`${source}/`))).toBe(true);
  });

  test("works without an .env file: every variable has a default", () => {
    for (const name of Object.keys(compose.services)) expect(() => serviceEnv(name)).not.toThrow();
  });
});
