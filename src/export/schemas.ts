// The export document's schema (GET /account/export).
import { t } from "elysia";
import { PROFILE_EXAMPLE, ProfileData } from "../shared/profile.ts";
import { SESSION_EXAMPLE, SessionItem } from "../shared/sessions.ts";

export const ExportDocument = t.Object(
  {
    profile: ProfileData,
    settings: t.Record(t.String(), t.Unknown(), { description: "As GET /account/settings' data" }),
    sessions: t.Array(SessionItem, { description: "As GET /account/sessions' data" }),
    list: t.Array(t.Unknown(), { description: "Every entry of the user's list, private ones and notes included" }),
  },
  {
    description: "Everything the server holds about the user; never a password hash or a token",
    examples: [{ profile: PROFILE_EXAMPLE, settings: {}, sessions: [SESSION_EXAMPLE], list: [] }],
  },
);
export type ExportDocument = typeof ExportDocument.static;

export const Detail = t.Object({ detail: t.String() }, { examples: [{ detail: "Invalid token." }], description: "An error" });
