// /account/*: registration, login, logout, profile, deletion and profile pictures.
import { Elysia } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { Auth } from "../auth/service.ts";
import type { FieldErrors } from "../http/errors.ts";
import type { JsonResponder } from "../http/headers.ts";
import { clientAddress } from "../http/client-address.ts";
import { picturesByGroup } from "./pictures.ts";
import {
  FieldFailure,
  LoggedIn,
  LoginBody,
  LoginFailure,
  PicturesResponse,
  ProfileResponse,
  RegisterBody,
  Registered,
  SetPictureBody,
  Success,
  throttledResponse,
  unauthorized,
  unavailable,
} from "./schemas.ts";
import type { Accounts } from "./service.ts";

const tags = ["account"];

const SET_PICTURE_PATHS = new Set(["/account/set_picture", "/acount/set_picture"]);

/**
 * The 400 body for a request body the schema rejected, where an account route answers differently
 * from the bare {"field": [...]} form: register and set_picture wrap their errors, and register lists
 * the rules of the fields that did pass the schema too (every failing field at once).
 */
export function rejectedAccountBody(accounts: Accounts) {
  return (path: string, body: unknown, schemaErrors: FieldErrors): unknown | undefined => {
    if (path === "/account/register") return { success: false, errors: accounts.registrationErrors(body, schemaErrors) };
    if (SET_PICTURE_PATHS.has(path)) return { success: false, errors: schemaErrors };
    return undefined;
  };
}

export function accountRoutes(accounts: Accounts, auth: Auth, json: JsonResponder, trustProxy: boolean) {
  const picturesBody = JSON.stringify({ success: true, data: picturesByGroup });
  /** A cached profile is answered without a promise; one read from the database with one. */
  const privateJson = (body: string | Promise<string>): Response | Promise<Response> =>
    body instanceof Promise ? body.then((found) => json(found, "private")) : json(body, "private");

  return new Elysia({ name: "account", prefix: "/account" })
    .use(authPlugin(auth))
    .post("/register", ({ body, request, server }) => accounts.register(body, clientAddress(request, server, trustProxy)), {
      body: RegisterBody,
      response: { 200: Registered, 400: FieldFailure, ...throttledResponse, ...unavailable },
      detail: { summary: "Create an account and get its first token", tags },
    })
    .post("/login", ({ body, request, server }) => accounts.login(body.username, body.password, clientAddress(request, server, trustProxy)), {
      body: LoginBody,
      response: { 200: LoggedIn, 400: LoginFailure, ...throttledResponse, ...unavailable },
      detail: {
        summary: "Get a new token for a username and password",
        description: "Every login issues a new token, valid for TOKEN_TTL (30 days by default).",
        tags,
      },
    })
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
