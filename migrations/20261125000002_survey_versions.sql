-- Survey definitions, versioned. A stored version never changes: responses point at the
-- version they answer, and an edit is a new version. The built-in surveys are stored as
-- version 1 of their key on first start (`surveys::definitions::ensure_builtin`).
create table survey_versions (
    survey_key  text not null,
    version     bigint not null,
    -- `debrief_common::survey::Definition`, as JSON.
    definition  text not null,
    created_at  text not null,
    -- The staff key's name, or `built-in`.
    created_by  text not null,
    primary key (survey_key, version)
);

-- A response is saved page by page before it is complete, and keeps the survey version
-- it answers. The slice's responses answered its two fixed questions: no version, and
-- complete.
alter table responses add column survey_key text;
alter table responses add column survey_version bigint;
alter table responses add column status text not null default 'complete'
    check (status in ('partial', 'complete'));
alter table responses add column updated_at text;
