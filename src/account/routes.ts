// /account/*: registration, login, logout, profile, deletion and profile pictures.
import { Elysia } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { Auth } from "../auth/service.ts";
import type { FieldErrors } from "../http/errors.ts";
import type { JsonResponder } from "../http/headers.ts";
import { clientAddress } from "../http/client-address.ts";
import { picturesByGroup } from "./pictures.ts";
import { userAgentOf } from "../auth/tokens.ts";
import type { SettingsChange } from "./validation.ts";
import {
  ChangeEmailBody,
  ChangeEmailFailure,
  ChangePasswordBody,
  ChangePasswordFailure,
  ChangeUsernameBody,
  ChangeUsernameFailure,
  FieldFailure,
  LoggedIn,
  LoginBody,
  LoginFailure,
  PicturesResponse,
  ProfileResponse,
  NotFound,
  PasswordChanged,
  RegisterBody,
  Registered,
  SessionParams,
  SessionsResponse,
  SetPictureBody,
  Success,
  throttledResponse,
  unauthorized,
  unavailable,
} from "./schemas.ts";
import type { Accounts } from "./service.ts";

const tags = ["account"];

const SET_PICTURE_PATHS = new Set(["/account/set_picture", "/acount/set_picture"]);

const SETTINGS_PATHS = new Map<string, SettingsChange>([
  ["/account/change_password", "password"],
  ["/account/change_username", "username"],
  ["/account/change_email", "email"],
]);

/**
 * The 400 body for a request body the schema rejected, where an account route answers differently
 * from the bare {"field": [...]} form: register, set_picture and the settings changes wrap their
 * errors, and register and the settings changes list the rules of the fields that did pass the schema
 * too (every failing field at once).
 */
export function rejectedAccountBody(accounts: Accounts) {
  return (path: string, body: unknown, schemaErrors: FieldErrors): unknown | undefined => {
    if (path === "/account/register") return { success: false, errors: accounts.registrationErrors(body, schemaErrors) };
    if (SET_PICTURE_PATHS.has(path)) return { success: false, errors: schemaErrors };
    const change = SETTINGS_PATHS.get(path);
    if (change) return { success: false, errors: accounts.settingsErrors(change, body, schemaErrors) };
    return undefined;
  };
}

const userAgent = (request: Request) => userAgentOf(request.headers.get("user-agent"));

export function accountRoutes(accounts: Accounts, auth: Auth, json: JsonResponder, trustProxy: boolean) {
  const picturesBody = JSON.stringify({ success: true, data: picturesByGroup });
  /** A cached profile is answered without a promise; one read from the database with one. */
  const privateJson = (body: string | Promise<string>): Response | Promise<Response> =>
    body instanceof Promise ? body.then((found) => json(found, "private")) : json(body, "private");

  return new Elysia({ name: "account", prefix: "/account" })
    .use(authPlugin(auth))
    .post("/register", ({ body, request, server }) => accounts.register(body, clientAddress(request, server, trustProxy), userAgent(request)), {
      body: RegisterBody,
      response: { 200: Registered, 400: FieldFailure, ...throttledResponse, ...unavailable },
      detail: { summary: "Create an account and get its first token", tags },
    })
    .post(
      "/login",
      ({ body, request, server }) => accounts.login(body.username, body.password, clientAddress(request, server, trustProxy), userAgent(request)),
      {
      body: LoginBody,
      response: { 200: LoggedIn, 400: LoginFailure, ...throttledResponse, ...unavailable },
      detail: {
        summary: "Get a new token for a username and password",
        description: "Every login issues a new token, valid for TOKEN_TTL (30 days by default).",
        tags,
      },
      },
    )
    .post("/logout", async ({ session }) => (await auth.revoke(session), { success: true as const }), {
      auth: true,
      response: { 200: Success, ...unauthorized, ...unavailable },
      detail: { summary: "Revoke the token used for this request", tags },
    })
    .post("/logoutall", async ({ session }) => (await auth.revokeAll(session.userId), { success: true as const }), {
      auth: true,
      response: { 200: Success, ...unauthorized, ...unavailable },
      detail: { summary: "Revoke every token of the user", tags },
    })
    .get("/profile", ({ session }) => privateJson(accounts.profileBody(session)), {
      auth: true,
      response: { 200: ProfileResponse, ...unauthorized, ...unavailable },
      detail: { summary: "The user's profile", tags },
    })
    .post("/delete", ({ session }) => accounts.deleteAccount(session), {
      auth: true,
      response: { 200: Success, ...unauthorized, ...unavailable },
      detail: { summary: "Delete the user, their tokens and everything they own", tags },
    })
    .delete("/delete", ({ session }) => accounts.deleteAccount(session), {
      auth: true,
      response: { 200: Success, ...unauthorized, ...unavailable },
      detail: { summary: "Delete the user (same as POST)", tags },
    })
    .get("/get_pictures", () => json(picturesBody, "private"), {
      auth: true,
      response: { 200: PicturesResponse, ...unauthorized },
      detail: { summary: "The profile pictures to choose from", tags },
    })
    .post("/set_picture", ({ session, body }) => accounts.setPicture(session, body.id), {
      auth: true,
      body: SetPictureBody,
      response: { 200: Success, 400: FieldFailure, ...unauthorized, ...unavailable },
      detail: { summary: "Choose a profile picture", tags },
    })
    .post(
      "/change_password",
      ({ session, body, request, server }) => accounts.changePassword(session, body, clientAddress(request, server, trustProxy), userAgent(request)),
      {
        auth: true,
        body: ChangePasswordBody,
        response: { 200: PasswordChanged, 400: ChangePasswordFailure, ...unauthorized, ...throttledResponse, ...unavailable },
        detail: {
          summary: "Change the password; every token is revoked and a new one issued",
          description:
            "Needs the current password (wrong ones are throttled like failed logins). Every token of the user, " +
            "this one included, is revoked on every instance; the answer carries the new token.",
          tags,
        },
      },
    )
    .post("/change_username", ({ session, body, request, server }) => accounts.changeUsername(session, body, clientAddress(request, server, trustProxy)), {
      auth: true,
      body: ChangeUsernameBody,
      response: { 200: Success, 400: ChangeUsernameFailure, ...unauthorized, ...throttledResponse, ...unavailable },
      detail: {
        summary: "Change the username",
        description: "Needs the password (wrong ones are throttled like failed logins); register's rules and uniqueness, look-alikes included.",
        tags,
      },
    })
    .post("/change_email", ({ session, body, request, server }) => accounts.changeEmail(session, body, clientAddress(request, server, trustProxy)), {
      auth: true,
      body: ChangeEmailBody,
      response: { 200: Success, 400: ChangeEmailFailure, ...unauthorized, ...throttledResponse, ...unavailable },
      detail: {
        summary: "Change the email address",
        description: "Needs the password (wrong ones are throttled like failed logins); register's rules and uniqueness.",
        tags,
      },
    })
    .get("/sessions", async ({ session }) => ({ success: true as const, data: await auth.listSessions(session) }), {
      auth: true,
      response: { 200: SessionsResponse, ...unauthorized, ...unavailable },
      detail: {
        summary: "The user's sessions (live tokens), newest first",
        description:
          "One item per live token: an opaque id, when it was issued, last used (to the minute; null if never " +
          "used since issue) and expires, the User-Agent it was issued to, and whether it is this request's.",
        tags,
      },
    })
    .delete("/sessions/:id", async ({ session, params }) => (await auth.revokeSession(session, params.id), { success: true as const }), {
      auth: true,
      params: SessionParams,
      response: { 200: Success, ...unauthorized, 404: NotFound, ...unavailable },
      detail: { summary: "End one session: its token is revoked on every instance", tags },
    });
}

/** The misspelt path of the later original document, served too and left out of OpenAPI. */
export function misspeltSetPictureRoute(accounts: Accounts, auth: Auth) {
  return new Elysia({ name: "account-misspelt" })
    .use(authPlugin(auth))
    .post("/acount/set_picture", ({ session, body }) => accounts.setPicture(session, body.id), {
      auth: true,
      body: SetPictureBody,
      response: { 200: Success, 400: FieldFailure, ...unauthorized, ...unavailable },
      detail: { hide: true },
    });
}
