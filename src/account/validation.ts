// Field rules for accounts beyond what the request schema checks (presence, type): blankness,
// lengths (in characters), the username's characters, the email's form.
import { messages, type FieldErrors } from "../http/errors.ts";
import type { RegisterBody } from "./schemas.ts";

export const USERNAME_MAX = 32;
export const EMAIL_MAX = 254;
export const PASSWORD_MAX = 1024;

const USERNAME_PATTERN = /^[\p{L}\p{M}\p{Nd}_-]+$/u;
const EMAIL_LOCAL_PATTERN =
  /^(?:[-!#$%&'*+/=?^_`{}|~0-9a-z]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9a-z]+)*|"(?:[\x01-\x08\x0b\x0c\x0e-\x1f\x21\x23-\x5b\x5d-\x7f]|\\[\x01-\x09\x0b\x0c\x0e-\x7f])*")$/i;
const EMAIL_DOMAIN_PATTERN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z0-9-]{2,63})$/i;

/** Emails are unique ignoring case: this form is compared. */
export function emailKey(email: string): string {
  return email.normalize("NFC").toLowerCase();
}

/** Usernames are stored as typed (trimmed, as Django REST Framework trims). */
export function usernameProblem(username: string): string | undefined {
  if (username.length === 0) return messages.blank;
  if ([...username].length > USERNAME_MAX) return messages.maxLength(USERNAME_MAX);
  if (!USERNAME_PATTERN.test(username)) return messages.usernameCharacters;
}

export function emailProblem(email: string): string | undefined {
  if (email.length === 0) return messages.blank;
  if (email.length > EMAIL_MAX) return messages.maxLength(EMAIL_MAX);
  const at = email.lastIndexOf("@");
  if (at <= 0 || at === email.length - 1) return messages.email;
  const local = email.slice(0, at);
  if (!EMAIL_LOCAL_PATTERN.test(local) || !EMAIL_DOMAIN_PATTERN.test(asciiDomain(email.slice(at + 1)))) return messages.email;
}

/** International domain names are checked in their punycode form, as Django does. */
function asciiDomain(domain: string): string {
  if (/^[\x00-\x7f]*$/.test(domain)) return domain;
  try {
    return new URL(`http://${domain}`).hostname;
  } catch {
    return "";
  }
}

export function passwordProblem(password: string, minLength: number): string | undefined {
  if (password.length === 0) return messages.blank;
  if (password.length > PASSWORD_MAX) return messages.maxLength(PASSWORD_MAX);
  // In characters, not UTF-16 code units: four emoji are four characters, not eight.
  if ([...password].length < minLength) return messages.passwordTooShort(minLength);
}

/** The rules of every field that is a string; fields of another type are the schema's to report. */
export function registrationProblems(input: Partial<Record<keyof RegisterBody, unknown>>, passwordMinLength: number): FieldErrors {
  const errors: FieldErrors = {};
  const check = (field: keyof RegisterBody, problem: (value: string) => string | undefined) => {
    const value = input[field];
    const found = typeof value === "string" ? problem(field === "password" ? value : value.trim()) : undefined;
    if (found) errors[field] = [found];
  };
  check("username", usernameProblem);
  check("email", emailProblem);
  check("password", (value) => passwordProblem(value, passwordMinLength));
  return errors;
}

/** The account settings changes (POST /account/change_password, change_username, change_email). */
export type SettingsChange = "password" | "username" | "email";

type Rule = (value: string, passwordMinLength: number) => string | undefined;

const passwordGiven: Rule = (value) => (value === "" ? messages.blank : undefined);

/** Each change's fields and their rules (whether a given password is right is checked later, throttled). */
const SETTINGS_RULES: Record<SettingsChange, Record<string, Rule>> = {
  password: { current_password: passwordGiven, new_password: (value, min) => passwordProblem(value, min) },
  username: { password: passwordGiven, username: (value) => usernameProblem(value.trim()) },
  email: { password: passwordGiven, email: (value) => emailProblem(value.trim()) },
};

export function settingsFields(change: SettingsChange): string[] {
  return Object.keys(SETTINGS_RULES[change]);
}

/** The rules of every field of the change that is a string; fields of another type are the schema's to report. */
export function settingsProblems(change: SettingsChange, input: Record<string, unknown>, passwordMinLength: number): FieldErrors {
  const errors: FieldErrors = {};
  for (const [field, rule] of Object.entries(SETTINGS_RULES[change])) {
    const value = input[field];
    const found = typeof value === "string" ? rule(value, passwordMinLength) : undefined;
    if (found) errors[field] = [found];
  }
  return errors;
}
