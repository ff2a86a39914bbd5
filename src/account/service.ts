// What the account routes do, apart from HTTP: registration, login, profiles, pictures, deletion.
import { LRUCache } from "lru-cache";
import type { Sql } from "postgres";
import type { Auth, IssuedToken, Session } from "../auth/service.ts";
import type { Passwords } from "../auth/passwords.ts";
import type { Config } from "../config.ts";
import type { ChangeFeed } from "../db/changes.ts";
import { violatedUniqueConstraint } from "../db/errors.ts";
import { HttpError, messages, type FieldErrors } from "../http/errors.ts";
import type { Throttle } from "../http/throttle.ts";
import { findPicture, parsePictureId } from "./pictures.ts";
import * as queries from "./queries.ts";
import { caseFolded, registrationProblems, type Registration } from "./validation.ts";

const TOPIC_USER_CHANGED = "user.changed";

const UNIQUE_CONSTRAINT_FIELDS: Record<string, [field: string, message: string]> = {
  users_username_key_unique: ["username", messages.usernameTaken],
  users_email_key_unique: ["email", messages.emailTaken],
};

export const fieldFailure = (errors: FieldErrors) => new HttpError(400, { success: false, errors });
const badCredentials = () => new HttpError(400, { non_field_errors: [messages.badCredentials] });

export interface AccountThrottles {
  loginFailuresPerUsername: Throttle;
  loginFailuresPerAddress: Throttle;
  registrationsPerAddress: Throttle;
}

type AccountConfig = Pick<Config, "passwordMinLength" | "defaultPictureUrl" | "profileCacheSize">;

export class Accounts {
  /** Serialized profile bodies by user id: GET /account/profile needs no database on a hit. */
  private readonly profiles: LRUCache<number, string>;
  /** Counts invalidations: a profile read that one overtook must not be cached (see Auth). */
  private invalidations = 0;

  constructor(
    private readonly sql: Sql,
    private readonly auth: Auth,
    private readonly passwords: Passwords,
    private readonly changes: ChangeFeed,
    private readonly throttles: AccountThrottles,
    private readonly config: AccountConfig,
  ) {
    this.profiles = new LRUCache({ max: config.profileCacheSize });
    changes.on(TOPIC_USER_CHANGED, (userId) => {
      this.invalidations++;
      this.profiles.delete(userId as number);
    });
    changes.onResync(() => {
      this.invalidations++;
      this.profiles.clear();
    });
  }

  async register(input: Registration, clientAddress: string) {
    this.throttles.registrationsPerAddress.assertAllowed(clientAddress);
    this.throttles.registrationsPerAddress.record(clientAddress);
    const registration = { ...input, username: input.username.trim(), email: input.email.trim() };
    const usernameKey = caseFolded(registration.username);
    const emailKey = caseFolded(registration.email);

    const errors = registrationProblems(registration, this.config.passwordMinLength);
    // Only valid values are looked up (an invalid one's "taken" is not reported anyway): text that
    // PostgreSQL cannot even hold, such as a NUL character, made the lookup fail with a 500.
    const taken = await queries.findTakenUsernameOrEmail(this.sql, errors.username ? "" : usernameKey, errors.email ? "" : emailKey);
    if (taken.username && !errors.username) errors.username = [messages.usernameTaken];
    if (taken.email && !errors.email) errors.email = [messages.emailTaken];
    if (Object.keys(errors).length) throw fieldFailure(errors);

    const passwordHash = await this.passwords.hash(registration.password);
    const { id, issued } = await this.createUser({ ...registration, usernameKey, emailKey, passwordHash });
    return { success: true as const, token: issued.token, user: { id, username: registration.username, email: registration.email } };
  }

  /** The user and their first token commit together; a lost race on a unique field is that field's error. */
  private async createUser(user: queries.NewUser): Promise<{ id: number; issued: IssuedToken }> {
    try {
      return await this.changes.transaction(async (tx, announce) => {
        const { id } = await queries.insertUser(tx, user);
        return { id, issued: await this.auth.issue(id, { tx, announce }) };
      });
    } catch (error) {
      const field = UNIQUE_CONSTRAINT_FIELDS[violatedUniqueConstraint(error) ?? ""];
      if (field) throw fieldFailure({ [field[0]]: [field[1]] });
      throw error;
    }
  }

  /** A rejected registration's schema errors, merged in field order with the rules of its string fields. */
  registrationErrors(body: unknown, schemaErrors: FieldErrors): FieldErrors {
    const input = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    const rules = registrationProblems(input, this.config.passwordMinLength);
    const merged: FieldErrors = {};
    for (const field of ["username", "email", "password"]) {
      const messages = schemaErrors[field] ?? rules[field];
      if (messages) merged[field] = messages;
    }
    return { ...merged, ...schemaErrors };
  }

  async login(username: string, password: string, clientAddress: string) {
    const blank: FieldErrors = {};
    if (username.trim() === "") blank.username = [messages.blank];
    if (password === "") blank.password = [messages.blank];
    if (Object.keys(blank).length) throw new HttpError(400, blank);

    const usernameKey = caseFolded(username.trim());
    this.throttles.loginFailuresPerUsername.assertAllowed(usernameKey);
    this.throttles.loginFailuresPerAddress.assertAllowed(clientAddress);

    // No username holds a NUL character (registration refuses it, and PostgreSQL text cannot hold
    // one: looking it up failed with a 500). Such a login fails like any unknown username.
    const user = usernameKey.includes("\u0000") ? undefined : await queries.findCredentialsByUsername(this.sql, usernameKey);
    const valid = user ? await this.passwords.verify(password, user.password_hash) : await this.passwords.verifyAgainstDecoy(password);
    if (!user || !valid) {
      this.throttles.loginFailuresPerUsername.record(usernameKey);
      this.throttles.loginFailuresPerAddress.record(clientAddress);
      throw badCredentials();
    }
    const issued = await this.auth.issue(user.id);
    return { success: true as const, token: issued.token, expiry: issued.expiresAt.toISOString() };
  }

  /** The serialized body of GET /account/profile: synchronous when cached, else a promise. */
  profileBody(session: Session): string | Promise<string> {
    const cached = this.changes.trusted ? this.profiles.get(session.userId) : undefined;
    return cached ?? this.fetchProfileBody(session);
  }

  private async fetchProfileBody(session: Session): Promise<string> {
    const trusted = this.changes.trusted;
    const invalidations = this.invalidations;
    const profile = await queries.findProfileById(this.sql, session.userId);
    // The token outlived its user only if the user was deleted a moment ago.
    if (!profile) throw new HttpError(401, { detail: "Invalid token." }, { "WWW-Authenticate": "Token" });
    const body = JSON.stringify({ success: true, data: this.profileData(profile) });
    if (trusted && this.changes.trusted && invalidations === this.invalidations) this.profiles.set(session.userId, body);
    return body;
  }

  private profileData(profile: queries.Profile) {
    const picture = profile.picture_id === null ? undefined : findPicture(profile.picture_id);
    return {
      id: profile.id,
      username: profile.username,
      email: profile.email,
      created: formatCreated(profile.created_at),
      picture: picture?.picture ?? this.config.defaultPictureUrl,
    };
  }

  async setPicture(session: Session, rawId: unknown) {
    const id = parsePictureId(rawId);
    if (id === undefined || !findPicture(id)) throw fieldFailure({ id: [messages.invalidPicture] });
    await this.changes.transaction(async (tx, announce) => {
      await queries.updatePicture(tx, session.userId, id);
      await announce(TOPIC_USER_CHANGED, session.userId);
    });
    return { success: true as const };
  }

  async deleteAccount(session: Session) {
    await this.changes.transaction(async (tx, announce) => {
      await queries.deleteUser(tx, session.userId);
      await announce(TOPIC_USER_CHANGED, session.userId);
      await this.auth.userTokensRevoked(announce, session.userId);
    });
    return { success: true as const };
  }
}

/** DD-MM-YYYY, in UTC. */
function formatCreated(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}-${pad(date.getUTCMonth() + 1)}-${date.getUTCFullYear()}`;
}
