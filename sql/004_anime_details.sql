-- Issue 11: the rest of each dataset entry, for GET /anime/entry/{id}/details and the filters.
-- `details` is the importer's serialization of these fields (the columns are read out of it, so they
-- always agree); a re-import compares it like `body`, so rows imported before this migration (null)
-- are filled in by the next import.
alter table anime
  add column details          text,
  add column season           text,
  add column synonyms         text[] not null default '{}',
  add column thumbnail        text,
  add column duration_seconds integer,
  add column score            double precision,
  add column studios          text[] not null default '{}',
  add column producers        text[] not null default '{}',
  -- relatedAnime as URLs: resolved through anime_sources when served, so an entry imported before
  -- its relative still finds it.
  add column related_urls     text[] not null default '{}';
