-- GET /list reads every sort in an index's order (issue 12's latency targets: a page of 100 from a list of
-- 10,000 in well under a millisecond of PostgreSQL time): each sort has an index in exactly its order,
-- ties by anime_id ascending, so a page reads offset + page size index entries and nothing else. Each
-- also carries status and private, so that the status filter and the public view (and their counts) are
-- read from the index alone; only the page's own rows are fetched.

-- The anime's title, copied onto its entries: sorting a list by title then reads an index of the
-- list's own rows instead of joining and sorting the whole list. Kept by the two triggers below.
alter table list_entries add column title text collate "C";
update list_entries l set title = a.title from anime a where a.id = l.anime_id;
alter table list_entries alter column title set not null;

create function list_entries_copy_title() returns trigger language plpgsql as $$
begin
  -- A writer may give the title itself only as it read it from anime FOR SHARE in the same statement
  -- (src/list/queries.ts does: one lookup fewer per row). FOR SHARE: an import changing this anime's
  -- title is waited for (and its new title read), and one that comes later waits for this transaction,
  -- so its trigger below sees this entry: no entry keeps an old title.
  if new.title is null then
    select a.title into new.title from anime a where a.id = new.anime_id for share;
  end if;
  return new;
end $$;
create trigger list_entries_copy_title before insert or update of anime_id on list_entries
  for each row execute function list_entries_copy_title();

create function anime_title_to_list_entries() returns trigger language plpgsql as $$
begin
  update list_entries set title = new.title where anime_id = new.id;
  return null;
end $$;
create trigger anime_title_to_list_entries after update of title on anime
  for each row when (old.title is distinct from new.title) execute function anime_title_to_list_entries();

-- `updated` reads the -updated index backwards, ties put back in order by an incremental sort (they
-- are few, but one import gives its entries one time); every other sort has its index. Fewer indexes:
-- each costs every write of an entry.
drop index list_entries_by_user_updated;
drop index list_entries_by_user_score;
create index list_entries_by_user_updated_desc on list_entries (user_id, updated_at desc, anime_id) include (status, private);
create index list_entries_by_user_score on list_entries (user_id, score, anime_id) include (status, private);
create index list_entries_by_user_score_desc on list_entries (user_id, score desc nulls last, anime_id) include (status, private);
create index list_entries_by_user_title on list_entries (user_id, title, anime_id) include (status, private);
