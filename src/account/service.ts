// What the account routes do, apart from HTTP: registration, login, profiles, pictures, deletion.
import { LRUCache } from "lru-cache";
import type { Sql } from "postgres";
import type { Auth, IssuedToken, Session } from "../auth/service.ts";
import type { Passwords } from "../auth/passwords.ts";
import type { Limit, Throttles } from "../auth/throttle.ts";
import type { Config } from "../config.ts";
import { type ChangeFeed, isPositiveInteger } from "../db/changes.ts";
import type { Queryable } from "../db/connect.ts";
import { violatedUniqueConstraint } from "../db/errors.ts";
import { badCredentials, fieldErrors, fieldFailure, invalidToken, messages, type FieldErrors } from "../http/errors.ts";
import type { Logger } from "../log.ts";
import { profileData } from "../shared/profile.ts";
import { findPicture, parsePictureId } from "./pictures.ts";
import * as queries from "./queries.ts";
import type { ChangeEmailBody, ChangePasswordBody, ChangeUsernameBody, RegisterBody } from "./schemas.ts";
import { usernameKey, usernameLookalikeKey } from "./usernames.ts";
import { type SettingsChange, emailKey, registrationProblems, settingsFields, settingsProblems } from "./validation.ts";

const TOPIC_USER_CHANGED = "user.changed";

const UNIQUE_CONSTRAINT_FIELDS: Record<string, [field: string, message: string]> = {
  users_username_key_unique: ["username", messages.usernameTaken],
  users_username_skeleton_unique: ["username", messages.usernameTaken],
  users_email_key_unique: ["email", messages.emailTaken],
};

type AccountConfig = Pick<Config, "passwordMinLength" | "defaultPictureUrl" | "profileCacheSize" | "throttle">;

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
    private readonly throttles: Throttles,
    private readonly config: AccountConfig,
    private readonly log: Logger,
  ) {
    this.profiles = new LRUCache({ max: config.profileCacheSize });
    changes.on(TOPIC_USER_CHANGED, isPositiveInteger, (userId) => {
      this.invalidations++;
      this.profiles.delete(userId);
    });
    changes.onResync(() => {
      this.invalidations++;
      this.profiles.clear();
    });
  }

  async register(input: RegisterBody, clientAddress: string, userAgent: string | null = null) {
    const { throttle } = this.config;
    await this.throttles.reserve([{ key: `register:addr:${clientAddress}`, ...throttle.registrationsPerAddress }]);
    const registration = { ...input, username: input.username.trim(), email: input.email.trim() };
    const keys = { key: usernameKey(registration.username), lookalikeKey: usernameLookalikeKey(registration.username) };
    const emailLookupKey = emailKey(registration.email);

    const errors = registrationProblems(registration, this.config.passwordMinLength);
    // Only valid values are looked up (an invalid one's "taken" is not reported anyway): text that
    // PostgreSQL cannot even hold, such as a NUL character, made the lookup fail with a 500.
    const taken = await queries.findTakenUsernameOrEmail(
      this.sql,
      errors.username ? { key: "", lookalikeKey: "" } : keys,
      errors.email ? "" : emailLookupKey,
    );
    if (taken.username && !errors.username) errors.username = [messages.usernameTaken];
    if (taken.email && !errors.email) errors.email = [messages.emailTaken];
    if (Object.keys(errors).length) throw fieldFailure(errors);

    const passwordHash = await this.passwords.hash(registration.password);
    const { id, issued } = await this.createUser(userAgent, {
      username: registration.username,
      usernameKey: keys.key,
      usernameLookalikeKey: keys.lookalikeKey,
      email: registration.email,
      emailKey: emailLookupKey,
      passwordHash,
    });
    return { success: true as const, token: issued.token, user: { id, username: registration.username, email: registration.email } };
  }

  /** The user and their first token commit together; a lost race on a unique field is that field's error. */
  private createUser(userAgent: string | null, user: queries.NewUser): Promise<{ id: number; issued: IssuedToken }> {
    return uniqueFieldsChecked(() =>
      this.changes.transaction(async (tx, announce) => {
        const { id } = await queries.insertUser(tx, user);
        return { id, issued: await this.auth.issue(id, { tx, announce }, userAgent) };
      }),
    );
  }

  /** A rejected registration's schema errors, merged in field order with the rules of its string fields. */
  registrationErrors(body: unknown, schemaErrors: FieldErrors): FieldErrors {
    const rules = registrationProblems(asRecord(body), this.config.passwordMinLength);
    return mergedErrors(["username", "email", "password"], schemaErrors, rules);
  }

  /** A rejected settings change's schema errors, merged in field order with the rules of its string fields. */
  settingsErrors(change: SettingsChange, body: unknown, schemaErrors: FieldErrors): FieldErrors {
    const rules = settingsProblems(change, asRecord(body), this.config.passwordMinLength);
    return mergedErrors(settingsFields(change), schemaErrors, rules);
  }

  async login(username: string, password: string, clientAddress: string, userAgent: string | null = null) {
    const blank: FieldErrors = {};
    if (username.trim() === "") blank.username = [messages.blank];
    if (password === "") blank.password = [messages.blank];
    if (Object.keys(blank).length) throw fieldErrors(blank);

    const key = usernameKey(username.trim());
    // The attempt is counted before the password is checked, so requests in flight together cannot
    // pass the limits; a right password gives it back.
    const attempt = await this.throttles.reserve(this.passwordAttemptLimits(key, clientAddress));
    // No username holds a NUL character (registration refuses it, and PostgreSQL text cannot hold
    // one: looking it up failed with a 500). Such a login fails like any unknown username.
    const user = key.includes("\u0000") ? undefined : await queries.findCredentialsByUsername(this.sql, key);
    const valid = user ? await this.passwords.verify(password, user.passwordHash) : await this.passwords.verifyAgainstDecoy(password);
    if (!user || !valid) throw badCredentials();
    await attempt.release();
    const issued = await this.auth.issue(user.id, undefined, userAgent);
    return { success: true as const, token: issued.token, expiry: issued.expiresAt.toISOString() };
  }

  /**
   * A new password: every token of the user is revoked (on every instance) and one new token issued,
   * with the new hash, in one transaction; the old password stops working at once.
   */
  async changePassword(session: Session, input: ChangePasswordBody, clientAddress: string, userAgent: string | null) {
    const errors = settingsProblems("password", input, this.config.passwordMinLength);
    const checkedHash = await this.checkOwnPassword(session, input.current_password, "current_password", clientAddress, errors);
    if (Object.keys(errors).length || !checkedHash) throw fieldFailure(errors);
    const passwordHash = await this.passwords.hash(input.new_password);
    const issued = await this.changes.transaction(async (tx, announce) => {
      // A password changed meanwhile (another request) makes the one checked here no longer current.
      const replaced = await queries.replacePasswordHash(tx, session.userId, checkedHash, passwordHash);
      if (!replaced) throw fieldFailure({ current_password: [messages.wrongPassword] });
      await this.auth.revokeAllWithin(tx, announce, session.userId);
      return this.auth.issue(session.userId, { tx, announce }, userAgent);
    });
    return { success: true as const, token: issued.token, expiry: issued.expiresAt.toISOString() };
  }

  async changeUsername(session: Session, input: ChangeUsernameBody, clientAddress: string) {
    const username = input.username.trim();
    const keys = { key: usernameKey(username), lookalikeKey: usernameLookalikeKey(username) };
    const errors = settingsProblems("username", input, this.config.passwordMinLength);
    // Only a valid username is looked up (text PostgreSQL cannot hold, such as NUL, would fail there).
    if (!errors.username && (await queries.isUsernameTakenByOther(this.sql, keys, session.userId))) errors.username = [messages.usernameTaken];
    await this.checkOwnPassword(session, input.password, "password", clientAddress, errors);
    if (Object.keys(errors).length) throw fieldFailure(errors);
    await this.changeProfile(session, (tx) => queries.updateUsername(tx, session.userId, username, keys));
    return { success: true as const };
  }

  async changeEmail(session: Session, input: ChangeEmailBody, clientAddress: string) {
    const email = input.email.trim();
    const key = emailKey(email);
    const errors = settingsProblems("email", input, this.config.passwordMinLength);
    if (!errors.email && (await queries.isEmailTakenByOther(this.sql, key, session.userId))) errors.email = [messages.emailTaken];
    await this.checkOwnPassword(session, input.password, "password", clientAddress, errors);
    if (Object.keys(errors).length) throw fieldFailure(errors);
    await this.changeProfile(session, (tx) => queries.updateEmail(tx, session.userId, email, key));
    return { success: true as const };
  }

  /** A change of the profile's row, announced so that every instance forgets the cached profile. */
  private changeProfile(session: Session, update: (tx: Queryable) => Promise<void>): Promise<void> {
    return uniqueFieldsChecked(() =>
      this.changes.transaction(async (tx, announce) => {
        await update(tx);
        await announce(TOPIC_USER_CHANGED, session.userId);
      }),
    );
  }

  /**
   * Checks the signed-in user's password, counted like a login (the attempt is reserved before
   * argon2id runs, and given back when the password is right), and adds `field`'s error to `errors`
   * when it is wrong. A blank password (already in `errors`) is not checked. Returns the hash a right
   * password was checked against.
   */
  private async checkOwnPassword(
    session: Session,
    password: string,
    field: string,
    clientAddress: string,
    errors: FieldErrors,
  ): Promise<string | undefined> {
    if (errors[field]) return undefined;
    const credentials = await queries.findOwnCredentials(this.sql, session.userId);
    // The token outlived its user only if the user was deleted a moment ago.
    if (!credentials) throw invalidToken();
    const attempt = await this.throttles.reserve(this.passwordAttemptLimits(credentials.usernameKey, clientAddress));
    if (!(await this.passwords.verify(password, credentials.passwordHash))) {
      errors[field] = [messages.wrongPassword];
      return undefined;
    }
    await attempt.release();
    return credentials.passwordHash;
  }

  /**
   * The limits a password check counts against (logins, and the wrong passwords of account settings):
   * per username from this address (guesses from one address never lock the owner out elsewhere),
   * per username from everywhere (a higher ceiling on guessing spread over addresses), per address.
   */
  private passwordAttemptLimits(usernameKey: string, clientAddress: string): Limit[] {
    const { throttle } = this.config;
    return [
      { key: `login:user-addr:${clientAddress}:${usernameKey}`, ...throttle.loginFailuresPerUsername },
      { key: `login:user:${usernameKey}`, ...throttle.loginFailuresPerUsernameAnywhere },
      { key: `login:addr:${clientAddress}`, ...throttle.loginFailuresPerAddress },
    ];
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
    if (!profile) throw invalidToken();
    const body = JSON.stringify({ success: true, data: profileData(profile, this.config.defaultPictureUrl) });
    if (trusted && this.changes.trusted && invalidations === this.invalidations) this.profiles.set(session.userId, body);
    return body;
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
      await this.auth.revokeAllWithin(tx, announce, session.userId);
      await queries.deleteUser(tx, session.userId);
      await announce(TOPIC_USER_CHANGED, session.userId);
    });
    return { success: true as const };
  }

  /**
   * Computes the look-alike key of accounts made before it existed. Two existing accounts whose names
   * look alike both keep working: the first keeps the key, the other none, and the clash is logged.
   */
  async fillLookalikeKeys(): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOOKALIKE_BACKFILL_LOCK})`;
      const users = await queries.findUsersWithoutLookalikeKey(tx);
      if (users.length === 0) return;
      const keyed = users.map((user) => ({ id: user.id, key: usernameLookalikeKey(user.username) }));
      const holders = new Map((await queries.findUsersByLookalikeKeys(tx, [...new Set(keyed.map((k) => k.key))])).map((u) => [u.lookalikeKey, u.id]));
      const assigned: { id: number; key: string }[] = [];
      for (const { id, key } of keyed) {
        const holder = holders.get(key);
        if (holder === undefined) {
          holders.set(key, id);
          assigned.push({ id, key });
        } else this.log.warn("usernames that look alike: the later account keeps working without a look-alike key", { user_id: id, looks_like_user_id: holder });
      }
      await queries.setLookalikeKeys(tx, assigned);
      this.log.info("computed look-alike keys of existing usernames", { users: assigned.length, clashes: keyed.length - assigned.length });
    });
  }
}

const LOOKALIKE_BACKFILL_LOCK = 0x6c756d75; // "lumu"

/** Runs a change; a lost race on a unique field (username, email) is that field's error. */
async function uniqueFieldsChecked<T>(change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (error) {
    const field = UNIQUE_CONSTRAINT_FIELDS[violatedUniqueConstraint(error) ?? ""];
    if (field) throw fieldFailure({ [field[0]]: [field[1]] });
    throw error;
  }
}

function asRecord(body: unknown): Record<string, unknown> {
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
}

/** Field errors in the fields' order, the schema's first; then any other field the schema named. */
function mergedErrors(fields: string[], schemaErrors: FieldErrors, rules: FieldErrors): FieldErrors {
  const merged: FieldErrors = {};
  for (const field of fields) {
    const messages = schemaErrors[field] ?? rules[field];
    if (messages) merged[field] = messages;
  }
  return { ...merged, ...schemaErrors };
}
