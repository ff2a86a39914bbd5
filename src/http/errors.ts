// Errors that carry their HTTP answer. Thrown anywhere below the routes; the single onError hook in
// src/app.ts turns them into responses with the contract's bodies.

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === "object" && body && "detail" in body ? String(body.detail) : `HTTP ${status}`);
    this.name = "HttpError";
  }
}

export type FieldErrors = Record<string, string[]>;

export const detail = (text: string) => ({ detail: text });

export const notFound = () => new HttpError(404, detail("Not found."));

/** A `page` that is not a positive integer, or past the last page (DRF's answer). */
export const invalidPage = () => new HttpError(404, detail("Invalid page."));

export const notAuthenticated = () =>
  new HttpError(401, detail("Authentication credentials were not provided."), { "WWW-Authenticate": "Token" });

export const invalidToken = () => new HttpError(401, detail("Invalid token."), { "WWW-Authenticate": "Token" });

export const throttled = (retryAfterSeconds: number) =>
  new HttpError(429, detail(`Request was throttled. Expected available in ${retryAfterSeconds} seconds.`), {
    "Retry-After": String(retryAfterSeconds),
  });

export const methodNotAllowed = (method: string, allowed: string[]) =>
  new HttpError(405, detail(`Method "${method}" not allowed.`), { Allow: allowed.join(", ") });

export const serviceUnavailable = () => new HttpError(503, detail("Service temporarily unavailable."), { "Retry-After": "1" });

export const internalError = () => new HttpError(500, detail("Internal server error."));

/** The bare form of field errors: login's, and query parameters'. */
export const fieldErrors = (errors: FieldErrors) => new HttpError(400, errors);

/** The wrapped form of field errors: register, set_picture, the list, account settings. */
export const fieldFailure = (errors: FieldErrors) => new HttpError(400, { success: false, errors });

/** Login's answer for a wrong username or password (identical for both). */
export const badCredentials = () => new HttpError(400, { non_field_errors: [messages.badCredentials] });

/** An upload that cannot be read as what the route takes (a broken gzip, not a list export…): the reason is the detail. */
export const badUpload = (reason: string) => new HttpError(400, detail(reason));

/** The familiar Django REST Framework messages the contract uses. */
export const messages = {
  required: "This field is required.",
  blank: "This field may not be blank.",
  notString: "Not a valid string.",
  notNull: "This field may not be null.",
  notBoolean: "Must be a valid boolean.",
  maxLength: (n: number) => `Ensure this field has no more than ${n} characters.`,
  email: "Enter a valid email address.",
  passwordTooShort: (n: number) => `This password is too short. It must contain at least ${n} characters.`,
  usernameTaken: "user with this username already exists.",
  emailTaken: "user with this email already exists.",
  usernameCharacters: "Username may contain only letters, digits, _ and -.",
  badCredentials: "Unable to log in with provided credentials.",
  invalidPicture: "Invalid picture id.",
  wrongPassword: "Wrong password.",
} as const;
