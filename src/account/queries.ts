// SQL for accounts. Usernames are matched through their keys (usernames.ts), emails through their
// lower-cased key, so uniqueness does not depend on the database's collation.
import type { Queryable as Sql } from "../db/connect.ts";
import type { ProfileRecord } from "../shared/profile.ts";

export interface NewUser {
  username: string;
  usernameKey: string;
  usernameLookalikeKey: string;
  email: string;
  emailKey: string;
  passwordHash: string;
}

export type Profile = ProfileRecord;

export interface Credentials {
  id: number;
  passwordHash: string;
}

/** What checking a signed-in user's password needs: the hash, and the username's key (its throttle). */
export interface OwnCredentials {
  usernameKey: string;
  passwordHash: string;
}

export interface UsernameKeys {
  key: string;
  lookalikeKey: string;
}

export async function insertUser(sql: Sql, user: NewUser): Promise<{ id: number }> {
  const [row] = await sql<[{ id: number }]>`
    insert into users (username, username_key, username_skeleton, email, email_key, password_hash)
    values (${user.username}, ${user.usernameKey}, ${user.usernameLookalikeKey}, ${user.email}, ${user.emailKey}, ${user.passwordHash})
    returning id`;
  return row;
}

/** Which of the two are already taken by someone (a username by its key or by a look-alike). */
export async function findTakenUsernameOrEmail(
  sql: Sql,
  username: { key: string; lookalikeKey: string },
  emailKey: string,
): Promise<{ username: boolean; email: boolean }> {
  const rows = await sql<{ username: boolean; email: boolean }[]>`
    select (username_key = ${username.key} or username_skeleton = ${username.lookalikeKey}) as username,
           email_key = ${emailKey} as email
    from users
    where username_key = ${username.key} or username_skeleton = ${username.lookalikeKey} or email_key = ${emailKey}`;
  return { username: rows.some((r) => r.username), email: rows.some((r) => r.email) };
}

export async function findCredentialsByUsername(sql: Sql, usernameKey: string): Promise<Credentials | undefined> {
  const [row] = await sql<[{ id: number; password_hash: string }?]>`
    select id, password_hash from users where username_key = ${usernameKey}`;
  return row && { id: row.id, passwordHash: row.password_hash };
}

export async function findProfileById(sql: Sql, id: number): Promise<Profile | undefined> {
  const [row] = await sql<[{ id: number; username: string; email: string; created_at: Date; picture_id: number | null }?]>`
    select id, username, email, created_at, picture_id from users where id = ${id}`;
  return row && { id: row.id, username: row.username, email: row.email, created: row.created_at, pictureId: row.picture_id };
}

export async function updatePicture(sql: Sql, userId: number, pictureId: number): Promise<void> {
  await sql`update users set picture_id = ${pictureId} where id = ${userId}`;
}

/** Deletes the user; their tokens go with them (on delete cascade). */
export async function deleteUser(sql: Sql, userId: number): Promise<void> {
  await sql`delete from users where id = ${userId}`;
}

/** Users whose look-alike key has not been computed yet (accounts made before it existed). */
export async function findUsersWithoutLookalikeKey(sql: Sql): Promise<{ id: number; username: string }[]> {
  return sql<{ id: number; username: string }[]>`select id, username from users where username_skeleton is null order by id`;
}

export async function findUsersByLookalikeKeys(sql: Sql, keys: string[]): Promise<{ id: number; lookalikeKey: string }[]> {
  if (keys.length === 0) return [];
  const rows = await sql<{ id: number; username_skeleton: string }[]>`
    select id, username_skeleton from users where username_skeleton in ${sql(keys)}`;
  return rows.map((row) => ({ id: row.id, lookalikeKey: row.username_skeleton }));
}

export async function setLookalikeKeys(sql: Sql, keys: { id: number; key: string }[]): Promise<void> {
  if (keys.length === 0) return;
  await sql`
    update users u set username_skeleton = k.key
    from json_to_recordset(${JSON.stringify(keys)}::text::json) as k(id int, key text)
    where u.id = k.id`;
}

export async function findOwnCredentials(sql: Sql, userId: number): Promise<OwnCredentials | undefined> {
  const [row] = await sql<[{ username_key: string; password_hash: string }?]>`
    select username_key, password_hash from users where id = ${userId}`;
  return row && { usernameKey: row.username_key, passwordHash: row.password_hash };
}

/** Whether someone other than `userId` holds the username (by its key or a look-alike). */
export async function isUsernameTakenByOther(sql: Sql, username: UsernameKeys, userId: number): Promise<boolean> {
  const [row] = await sql<[{ taken: boolean }]>`
    select exists (
      select 1 from users
      where (username_key = ${username.key} or username_skeleton = ${username.lookalikeKey}) and id <> ${userId}) as taken`;
  return row.taken;
}

export async function isEmailTakenByOther(sql: Sql, emailKey: string, userId: number): Promise<boolean> {
  const [row] = await sql<[{ taken: boolean }]>`
    select exists (select 1 from users where email_key = ${emailKey} and id <> ${userId}) as taken`;
  return row.taken;
}

/** Replaces the hash only if it is still `checkedHash` (the one the current password was checked against). */
export async function replacePasswordHash(sql: Sql, userId: number, checkedHash: string, passwordHash: string): Promise<boolean> {
  const result = await sql`update users set password_hash = ${passwordHash} where id = ${userId} and password_hash = ${checkedHash}`;
  return result.count === 1;
}

export async function updateUsername(sql: Sql, userId: number, username: string, keys: UsernameKeys): Promise<void> {
  await sql`
    update users set username = ${username}, username_key = ${keys.key}, username_skeleton = ${keys.lookalikeKey}
    where id = ${userId}`;
}

export async function updateEmail(sql: Sql, userId: number, email: string, emailKey: string): Promise<void> {
  await sql`update users set email = ${email}, email_key = ${emailKey} where id = ${userId}`;
}
