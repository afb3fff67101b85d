-- The coded store's text search matches an excerpt whatever its case and accents:
-- "equipe" finds "Équipe". SQLite's lower() folds ASCII only, so the folded text is made
-- in Rust (`insights::coding::fold`) as each insight is written; rows written before this
-- migration (or by an older instance during a rolling upgrade) are folded in the
-- background when an instance starts (`coding::fold_excerpts`), and searched by their
-- lower() until then.
alter table insights add column excerpt_folded text;
create index insights_unfolded on insights (id) where excerpt is not null and excerpt_folded is null;

-- The survey editor says how many responses answer each version: counted from an index,
-- not the whole table.
create index responses_by_survey_version on responses (survey_key, survey_version);
