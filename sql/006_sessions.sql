-- Sessions: each token gets an opaque id (random, unrelated to the token), the user agent it was
-- issued to and when it was last used (kept to the minute, written in batches by each instance).
-- The application generates the id of a new token (16 random bytes, base64url); the default gives
-- existing tokens, and any row inserted without one, an id from gen_random_uuid() (PostgreSQL 13+
-- core, no extension needed; a CSPRNG), in the same 22-character base64url form.
-- last_used_at is written in batches: room left in each page lets those updates stay HOT (no index
-- entry is rewritten). Set before the columns are added, whose volatile default rewrites the table.
alter table tokens set (fillfactor = 85);
alter table tokens
  add column session_id text not null
    default rtrim(translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), '='),
  add column user_agent text check (char_length(user_agent) <= 256),
  add column last_used_at timestamptz;
alter table tokens add constraint tokens_session_id_unique unique (session_id);
