// GET /account/export: everything the server holds about the user, as one document. It grows with
// each feature: each part is read by one query (queries.ts), never a hash, a token or a digest.
import type { Sql } from "postgres";
import type { Auth, Session } from "../auth/service.ts";
import type { Config } from "../config.ts";
import { invalidToken } from "../http/errors.ts";
import { profileData } from "../shared/profile.ts";
import * as queries from "./queries.ts";
import type { ExportDocument } from "./schemas.ts";

type ExportConfig = Pick<Config, "defaultPictureUrl">;

export class Exports {
  constructor(
    private readonly sql: Sql,
    private readonly auth: Auth,
    private readonly config: ExportConfig,
  ) {}

  async exportFor(session: Session): Promise<ExportDocument> {
    const profile = await queries.findProfile(this.sql, session.userId);
    // The token outlived its user only if the user was deleted a moment ago.
    if (!profile) throw invalidToken();
    const [settings, sessions, list] = await Promise.all([
      queries.findSettings(this.sql, session.userId),
      this.auth.listSessions(session),
      queries.findListEntries(this.sql, session.userId),
    ]);
    return { profile: profileData(profile, this.config.defaultPictureUrl), settings, sessions, list };
  }
}
