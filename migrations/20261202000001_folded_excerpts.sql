-- The coded store's text search matches an excerpt whatever its case and accents:
-- "equipe" finds "Équipe". SQLite's lower() folds ASCII only, so the folded text is made
-- in Rust (`insights::coding::fold`) as each insight is written; rows written before this
-- migration are folded when the service starts (`coding::fold_excerpts`).
alter table insights add column excerpt_folded text;
