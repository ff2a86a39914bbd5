-- Look-alike usernames, and throttling that every instance shares.

-- A confusable-aware key (NFKC, lower case, the Unicode TS #39 skeleton, no combining marks), computed
-- by the application (src/account/usernames.ts): `admin` and `аdmin` (Cyrillic а) share it, so the
-- second is refused as taken. Existing rows are filled in at start; two existing accounts whose names
-- clash keep working (the later one keeps a null key, and the clash is logged, never merged).
alter table users add column username_skeleton text;
alter table users add constraint users_username_skeleton_unique unique (username_skeleton);

-- Fixed-window attempt counters (failed logins, wrong passwords, registrations) by key. An attempt is
-- reserved here before the expensive check runs, under the row's lock, so that requests in flight at
-- once, on any instance, can never pass a limit; a successful login gives its reservation back.
create table throttle_windows (
  key       text primary key,
  attempts  integer not null check (attempts >= 0),
  resets_at timestamptz not null
);
create index throttle_windows_by_reset on throttle_windows (resets_at);
