-- Each user's anime list (issue 12). The contract's rules are enforced here as well as by validation.
alter table users add column list_public boolean not null default false;
-- How many entries the user's list holds, kept by the triggers below. The check is the cap: a write
-- that would pass it fails as a whole, whatever other writes run at the same time (the counter's
-- update locks the user's row and re-reads it, so concurrent inserts of one user queue).
alter table users add column list_size integer not null default 0
  constraint users_list_size_limit check (list_size between 0 and 10000);

create table list_entries (
  user_id          integer not null references users (id) on delete cascade,
  -- No cascade: pruning the catalogue keeps every anime on a list (the importer leaves them out).
  anime_id         integer not null references anime (id),
  status           text not null
    constraint list_entries_status_valid check (status in ('watching', 'completed', 'on_hold', 'dropped', 'plan_to_watch')),
  episodes_watched integer not null default 0 constraint list_entries_episodes_valid check (episodes_watched >= 0),
  score            smallint constraint list_entries_score_valid check (score between 1 and 10),
  rewatches        integer not null default 0 constraint list_entries_rewatches_valid check (rewatches between 0 and 1000),
  private          boolean not null default false,
  started_on       date,
  finished_on      date,
  notes            text not null default '' constraint list_entries_notes_valid check (char_length(notes) <= 2000),
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  primary key (user_id, anime_id),
  constraint list_entries_dates_order check (finished_on >= started_on)
);
create index list_entries_by_anime on list_entries (anime_id);
-- The orders of GET /list: by update, by score (no score last), by title (a long list is read in
-- the title index's order, probing each anime on the list, instead of sorting the whole list).
create index list_entries_by_user_updated on list_entries (user_id, updated_at, anime_id);
create index list_entries_by_user_score on list_entries (user_id, score, anime_id);
create index anime_by_title_code_point on anime (title collate "C", id);

create function list_entries_count_inserted() returns trigger language plpgsql as $$
begin
  update users u set list_size = u.list_size + n.added
  from (select user_id, count(*)::int as added from inserted group by user_id) n
  where u.id = n.user_id;
  return null;
end $$;

create function list_entries_count_deleted() returns trigger language plpgsql as $$
begin
  update users u set list_size = u.list_size - n.removed
  from (select user_id, count(*)::int as removed from deleted group by user_id) n
  where u.id = n.user_id;
  return null;
end $$;

create trigger list_entries_inserted after insert on list_entries
  referencing new table as inserted for each statement execute function list_entries_count_inserted();
create trigger list_entries_deleted after delete on list_entries
  referencing old table as deleted for each statement execute function list_entries_count_deleted();

-- TRUNCATE fires no delete trigger: it empties every list, so every count goes back to 0.
create function list_entries_count_truncated() returns trigger language plpgsql as $$
begin
  update users set list_size = 0 where list_size <> 0;
  return null;
end $$;
create trigger list_entries_truncated after truncate on list_entries
  for each statement execute function list_entries_count_truncated();
