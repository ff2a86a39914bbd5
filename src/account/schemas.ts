// Request and response schemas of the account routes: they validate input and document the API.
import { t } from "elysia";
import { messages } from "../http/errors.ts";
import { PROFILE_EXAMPLE, Picture, ProfileData } from "../shared/profile.ts";
import { SESSION_EXAMPLE, SessionItem } from "../shared/sessions.ts";
import { EMAIL_MAX, PASSWORD_MAX, USERNAME_MAX } from "./validation.ts";

const fieldErrors = t.Record(t.String(), t.Array(t.String()), {
  description: "Each failing field with its messages",
  examples: [{ username: ["user with this username already exists."], email: ["user with this email already exists."] }],
});

export const Detail = t.Object(
  { detail: t.String() },
  { examples: [{ detail: "Invalid token." }], description: "An error" },
);

export const Success = t.Object({ success: t.Literal(true) }, { examples: [{ success: true }] });

export const FieldFailure = t.Object(
  { success: t.Literal(false), errors: fieldErrors },
  { examples: [{ success: false, errors: { username: ["user with this username already exists."] } }] },
);

const token = t.String({ pattern: "^[0-9a-f]{64}$", description: "64 hex characters; send it as `Authorization: Token <key>`" });

export const RegisterBody = t.Object(
  {
    // No maxLength on these three: the lengths are checked by registrationProblems (validation.ts), in
    // characters, and with the other field rules, so that every failing field is listed at once.
    // (TypeBox counts UTF-16 code units: 20 letters outside the BMP, 𠮷…, would be "over 32".)
    username: t.String({ description: `1–${USERNAME_MAX} characters: letters, digits, _ or -; unique ignoring case` }),
    email: t.String({ description: `A valid address of at most ${EMAIL_MAX} characters, unique ignoring case` }),
    password: t.String({ description: `At least 8 characters (PASSWORD_MIN_LENGTH), at most ${PASSWORD_MAX}` }),
  },
  { examples: [{ username: "test", email: "test@test.com", password: "correct horse" }] },
);
export type RegisterBody = typeof RegisterBody.static;

export const Registered = t.Object(
  {
    success: t.Literal(true),
    token,
    user: t.Object({ id: t.Integer(), username: t.String(), email: t.String() }),
  },
  {
    examples: [
      {
        success: true,
        token: "22c1455447b5ee0310cab3f194e3f5559d06f95ec512df15f3751cd58c514d4f",
        user: { id: 18, username: "test", email: "test@test.com" },
      },
    ],
  },
);

export const LoginBody = t.Object(
  {
    username: t.String({ maxLength: 1024, description: "Matched ignoring case" }),
    password: t.String({ maxLength: PASSWORD_MAX }),
  },
  { examples: [{ username: "test", password: "correct horse" }] },
);

export const LoggedIn = t.Object(
  { success: t.Literal(true), token, expiry: t.String({ format: "date-time", description: "When the token expires (UTC)" }) },
  {
    examples: [
      { success: true, token: "9f8bdef7e4d3f886e41979f2a09a191e33c95c1fb97aa72e094ecf94405e9809", expiry: "2021-01-07T03:46:41.006Z" },
    ],
  },
);

export const LoginFailure = t.Record(t.String(), t.Array(t.String()), {
  examples: [{ non_field_errors: ["Unable to log in with provided credentials."] }, { username: ["This field is required."] }],
});

export const ProfileResponse = t.Object({ success: t.Literal(true), data: ProfileData }, { examples: [{ success: true, data: PROFILE_EXAMPLE }] });

export { Picture };

export const PicturesResponse = t.Object(
  { success: t.Literal(true), data: t.Object({ male: t.Array(Picture), female: t.Array(Picture) }) },
  {
    examples: [
      {
        success: true,
        data: {
          male: [{ id: 1, name: "Ryuzaki", picture: "https://www.anime-planet.com/images/characters/l-lawliet.jpg" }],
          female: [{ id: 6, name: "Mikasa", picture: "https://www.anime-planet.com/images/characters/mikasa-ackerman.jpg" }],
        },
      },
    ],
  },
);

export const SetPictureBody = t.Object(
  {
    // String first: with Integer first, Elysia converts numeric-looking strings ("1e1", "0x3", "+7",
    // "3.0") to numbers before the handler sees them, and they would pass as picture ids. Strings are
    // left to parsePictureId, which takes only digits.
    id: t.Union([t.String(), t.Integer()], { description: "A picture id from get_pictures: a number or a string of digits", error: messages.invalidPicture }),
  },
  { examples: [{ id: 7 }] },
);

export const unauthorized = { 401: Detail };
export const throttledResponse = { 429: Detail };
export const unavailable = { 503: Detail };

export const NotFound = t.Object({ detail: t.String() }, { examples: [{ detail: "Not found." }], description: "Not found" });

const currentPassword = t.String({ maxLength: PASSWORD_MAX, description: "The user's password now" });

export const ChangePasswordBody = t.Object(
  {
    current_password: currentPassword,
    // Checked by the register rules (validation.ts), with every other failing field at once.
    new_password: t.String({ description: `At least 8 characters (PASSWORD_MIN_LENGTH), at most ${PASSWORD_MAX}` }),
  },
  { examples: [{ current_password: "correct horse", new_password: "battery staple" }] },
);
export type ChangePasswordBody = typeof ChangePasswordBody.static;

export const ChangeUsernameBody = t.Object(
  {
    password: currentPassword,
    username: t.String({ description: `1–${USERNAME_MAX} characters: letters, digits, _ or -; unique ignoring case and look-alikes` }),
  },
  { examples: [{ password: "correct horse", username: "test2" }] },
);
export type ChangeUsernameBody = typeof ChangeUsernameBody.static;

export const ChangeEmailBody = t.Object(
  {
    password: currentPassword,
    email: t.String({ description: `A valid address of at most ${EMAIL_MAX} characters, unique ignoring case` }),
  },
  { examples: [{ password: "correct horse", email: "new@test.com" }] },
);
export type ChangeEmailBody = typeof ChangeEmailBody.static;

export const PasswordChanged = t.Object(
  {
    success: t.Literal(true),
    token,
    expiry: t.String({ format: "date-time", description: "When the new token expires (UTC)" }),
  },
  {
    description: "Every earlier token of the user is revoked, on every instance; use this one",
    examples: [{ success: true, token: "5c0f3c8e1f0d4a6b9e2d7c1a3b5f8e0d2c4a6b8e0f1d3c5a7b9e1f3d5c7a9b1e", expiry: "2021-02-06T03:46:41.006Z" }],
  },
);

const settingsFailure = (errors: Record<string, string[]>[]) =>
  t.Object({ success: t.Literal(false), errors: fieldErrors }, { examples: errors.map((e) => ({ success: false, errors: e })) });

export const ChangePasswordFailure = settingsFailure([
  { current_password: ["Wrong password."] },
  { new_password: ["This password is too short. It must contain at least 8 characters."] },
]);
export const ChangeUsernameFailure = settingsFailure([
  { password: ["Wrong password."] },
  { username: ["user with this username already exists."] },
]);
export const ChangeEmailFailure = settingsFailure([{ password: ["Wrong password."] }, { email: ["Enter a valid email address."] }]);

export const SessionsResponse = t.Object(
  { success: t.Literal(true), data: t.Array(SessionItem) },
  {
    examples: [
      {
        success: true,
        data: [SESSION_EXAMPLE, { ...SESSION_EXAMPLE, id: "Qm8xT2vLp4Rk0sZa9WcE1g", last_used: null, user_agent: null, current: false }],
      },
    ],
  },
);

export const SessionParams = t.Object({ id: t.String({ description: "A session id from GET /account/sessions" }) });
