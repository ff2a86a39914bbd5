// A session as its owner sees it (GET /account/sessions, GET /account/export): one live token,
// named by an opaque id of its own, never by the token or its digest.
import { t } from "elysia";

export const SessionItem = t.Object({
  id: t.String({ description: "Opaque and stable for the token's life; reveals nothing of the token" }),
  created: t.String({ format: "date-time", description: "When the token was issued (UTC)" }),
  last_used: t.Union([t.String({ format: "date-time" }), t.Null()], {
    description: "The start of the minute it was last used (UTC); null if never used since issue",
  }),
  expiry: t.String({ format: "date-time", description: "When the token expires (UTC)" }),
  user_agent: t.Union([t.String({ maxLength: 256 }), t.Null()], { description: "The User-Agent it was issued to (at most 256 characters)" }),
  current: t.Boolean({ description: "Whether this is the token of the request" }),
});
export type SessionItem = typeof SessionItem.static;

export const SESSION_EXAMPLE: SessionItem = {
  id: "k3J9q0Zx7VbN2mLwT5sYhA",
  created: "2021-01-07T03:46:41.006Z",
  last_used: "2021-01-08T10:12:00.000Z",
  expiry: "2021-02-06T03:46:41.006Z",
  user_agent: "curl/8.5.0",
  current: true,
};
