// Loaded before every test file (bunfig.toml): end-to-end tests start real servers and databases, and
// the embedded PGlite alone takes seconds to initialise, so Bun's 5 s default is too tight.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(60_000);
