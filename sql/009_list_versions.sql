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

create function list_entries_versions_updated() returns trigger language plpgsql as $$
begin
  update users u set list_version = u.list_version + 1
  where u.id in (select user_id from updated union select user_id from previous);
  return null;
end $$;
create trigger list_entries_updated after update on list_entries
  referencing old table as previous new table as updated for each statement execute function list_entries_versions_updated();

create or replace function list_entries_count_truncated() returns trigger language plpgsql as $$
begin
  update users set list_size = 0, list_version = list_version + 1 where list_size <> 0;
  return null;
end $$;
