// SQL for accounts. Usernames and emails are matched through their case-folded *_key columns.
import type { Queryable as Sql } from "../db/connect.ts";

export interface NewUser {
  username: string;
  usernameKey: string;
  email: string;
  emailKey: string;
  passwordHash: string;
}

export interface Profile {
  id: number;
  username: string;
  email: string;
  created_at: Date;
  picture_id: number | null;
}

export interface Credentials {
  id: number;
  password_hash: string;
}

export async function insertUser(sql: Sql, user: NewUser): Promise<{ id: number }> {
  const [row] = await sql<{ id: number }[]>`
    insert into users (username, username_key, email, email_key, password_hash)
    values (${user.username}, ${user.usernameKey}, ${user.email}, ${user.emailKey}, ${user.passwordHash})
    returning id`;
  return row;
}

/** Which of the two are already taken by someone. */
export async function findTakenUsernameOrEmail(
  sql: Sql,
  usernameKey: string,
  emailKey: string,
): Promise<{ username: boolean; email: boolean }> {
  const rows = await sql<{ username: boolean; email: boolean }[]>`
    select username_key = ${usernameKey} as username, email_key = ${emailKey} as email
    from users where username_key = ${usernameKey} or email_key = ${emailKey}`;
  return { username: rows.some((r) => r.username), email: rows.some((r) => r.email) };
}

export async function findCredentialsByUsername(sql: Sql, usernameKey: string): Promise<Credentials | undefined> {
  const [row] = await sql<Credentials[]>`select id, password_hash from users where username_key = ${usernameKey}`;
  return row;
}

export async function findProfileById(sql: Sql, id: number): Promise<Profile | undefined> {
  const [row] = await sql<Profile[]>`
    select id, username, email, created_at, picture_id from users where id = ${id}`;
  return row;
}

export async function updatePicture(sql: Sql, userId: number, pictureId: number): Promise<void> {
  await sql`update users set picture_id = ${pictureId} where id = ${userId}`;
}

/** Deletes the user; their tokens go with them (on delete cascade). */
export async function deleteUser(sql: Sql, userId: number): Promise<void> {
  await sql`delete from users where id = ${userId}`;
}
