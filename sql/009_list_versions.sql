-- A number that changes with every change to a user's list, in the statement that makes it: a server
-- keeps a copy of a list in memory (src/list/list-cache.ts) and answers from it only while the number
-- it read with the copy is still the one in this row, which it reads again for every request. Bumped by
-- statement-level triggers: an import of thousands of entries bumps it once.
alter table users add column list_version bigint not null default 0;

create or replace function list_entries_count_inserted() returns trigger language plpgsql as $$
begin
  update users u set list_size = u.list_size + n.added, list_version = u.list_version + 1
  from (select user_id, count(*)::int as added from inserted group by user_id) n
  where u.id = n.user_id;
  return null;
end $$;

create or replace function list_entries_count_deleted() returns trigger language plpgsql as $$
begin
  update users u set list_size = u.list_size - n.removed, list_version = u.list_version + 1
  from (select user_id, count(*)::int as removed from deleted group by user_id) n
  where u.id = n.user_id;
  return null;
end $$;

-- Only rows whose entry changed count: the anime's title copied onto its entries (migration 008) is
-- not part of the list's version (the catalogue's version covers what the catalogue changes), so a
-- catalogue import never locks a user's row, which a list write locks first (src/list/queries.ts).
-- Every column of list_entries but title is compared: a new column belongs here too.
create function list_entries_versions_updated() returns trigger language plpgsql as $$
begin
  update users u set list_version = u.list_version + 1
  where u.id in (
    select n.user_id from updated n
    where not exists (
      select 1 from previous o
      where o.user_id = n.user_id and o.anime_id = n.anime_id
        and (o.status, o.episodes_watched, o.score, o.rewatches, o.private, o.started_on, o.finished_on, o.notes, o.created_at, o.updated_at)
          is not distinct from (n.status, n.episodes_watched, n.score, n.rewatches, n.private, n.started_on, n.finished_on, n.notes, n.created_at, n.updated_at))
    union
    select o.user_id from previous o
    where not exists (select 1 from updated n where n.user_id = o.user_id and n.anime_id = o.anime_id));
  return null;
end $$;
create trigger list_entries_updated after update on list_entries
  referencing old table as previous new table as updated for each statement execute function list_entries_versions_updated();

create or replace function list_entries_count_truncated() returns trigger language plpgsql as $$
begin
  update users set list_size = 0, list_version = list_version + 1 where list_size <> 0;
  return null;
end $$;
