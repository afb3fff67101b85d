-- The coded store: every mention of a decision driver in what a buyer said, with its
-- influence on the decision and, from free text, the buyer's exact words.

-- The driver taxonomy, versioned like the interview guide: version 0 is the built-in one,
-- in the code; each set of changes a program makes is the next version.
create table driver_taxonomies (
    version     bigint primary key,
    definition  text not null,
    created_at  text not null,
    created_by  text not null
);

create table insight_sources (
    source text primary key
);
insert into insight_sources (source) values ('matrix'), ('analyst');

create table insights (
    id               text primary key,
    response_id      text not null references responses (id),
    -- Where in the response: the question, and the item ('' for a free-text answer; the
    -- driver for a driver-matrix rating; `quote.<n>` for an interview quote).
    question_id      text not null,
    item             text not null default '',
    -- As coded, against `taxonomy_version`; analytics count it under the driver it has
    -- become since (a merge), see `insights::taxonomy`.
    driver           text not null,
    taxonomy_version bigint not null,
    influence        bigint not null check (influence between -2 and 2),
    -- The buyer's exact words, found in the source text; none for a rating.
    excerpt          text,
    -- The competitor the excerpt speaks of, if any.
    competitor       text,
    source           text not null references insight_sources (source),
    -- The analyst took the lexicon's suggestion as it stood.
    suggested        bigint not null default 0 check (suggested in (0, 1)),
    coded_by         text not null,
    coded_at         text not null,
    -- The response's frozen deal, copied so that analytics read one table.
    outcome          text,
    segment_key      text,
    deal_competitor  text,
    region           text,
    persona          text,
    product_line     text,
    amount_band      text,
    period           text,
    month            text,
    -- 'survey' or 'interview'.
    method           text not null
);
-- A rating is coded once, whoever codes it.
create unique index insights_one_per_rating on insights (response_id, question_id, item, driver)
    where source = 'matrix';
create index insights_by_response on insights (response_id, question_id, item);
create index insights_by_driver on insights (driver, month);
create index insights_by_month on insights (month, outcome);

create table insight_tags (
    insight_id text not null references insights (id),
    tag        text not null,
    primary key (insight_id, tag)
);
create index insight_tags_by_tag on insight_tags (tag);

-- A text an analyst has finished with, whether they coded anything in it or not: it
-- leaves the queue.
create table coding_reviews (
    response_id text not null references responses (id),
    question_id text not null,
    item        text not null,
    reviewed_by text not null,
    reviewed_at text not null,
    primary key (response_id, question_id, item)
);

-- The keyword and phrase lexicon per locale that suggests drivers for uncoded text; the
-- built-in one (in the code) until a program stores its own.
create table lexicons (
    locale     text primary key,
    entries    text not null,
    updated_at text not null,
    updated_by text not null
);

-- When a complete response's ratings were coded; null until then. The coder claims
-- responses by this column (see `insights::coding`).
alter table responses add column coded_at text;
create index responses_to_code on responses (status) where coded_at is null;
