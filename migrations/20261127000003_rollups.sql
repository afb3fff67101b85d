-- Dashboard aggregates, kept up to date as responses are coded, so that a dashboard query
-- reads a few thousand rows whether the program holds ten thousand responses or a million.
--
-- A response adds its contribution (its NPS category; per driver, its stance) once the
-- coder claims it (`responses.coded_at` set), in the claiming transaction. Any later change
-- to what it holds (an analyst's coding, an interview noted again) retracts the old
-- contribution and adds the new in the transaction that makes the change, after locking
-- the response row: the sums always equal what a full recount of committed data gives.
-- Text columns of the keys hold '' for "none" (a key column cannot be null portably).

create table nps_rollup (
    month       text not null,
    segment_key text not null,
    outcome     text not null,
    competitor  text not null,
    region      text not null,
    -- 'survey' or 'interview'.
    method      text not null,
    promoters   bigint not null default 0,
    passives    bigint not null default 0,
    detractors  bigint not null default 0,
    primary key (month, segment_key, outcome, competitor, region, method)
);

-- Per driver as coded (merges are applied when read), each response counted once: its
-- stance on the driver is the sign of the influences coded for it.
create table driver_rollup (
    month         text not null,
    segment_key   text not null,
    outcome       text not null,
    competitor    text not null,
    driver        text not null,
    mentions      bigint not null default 0,
    positive      bigint not null default 0,
    negative      bigint not null default 0,
    -- Responses where this was the only driver that weighed against us: "price" given
    -- alone, against price with other reasons.
    sole_negative bigint not null default 0,
    primary key (month, segment_key, outcome, competitor, driver)
);
-- Covering, in the order the dashboards group by: drivers by outcome, and by competitor
-- and outcome, read in index order with no sort (about 4 times faster at 74,000 rows).
create index driver_rollup_by_outcome on driver_rollup (outcome, driver, month, segment_key,
    competitor, mentions, positive, negative, sole_negative);
create index driver_rollup_by_competitor on driver_rollup (competitor, outcome, driver, month,
    segment_key, mentions, positive, negative, sole_negative);

-- Responses with at least one driver coded: the sample size of driver shares.
create table coded_rollup (
    month       text not null,
    segment_key text not null,
    outcome     text not null,
    competitor  text not null,
    responses   bigint not null default 0,
    primary key (month, segment_key, outcome, competitor)
);

-- The top verbatims per driver and the unmet needs read analysts' excerpts only: a small
-- share of the coded store, found without reading the ratings.
create index insights_verbatims on insights (driver, influence) where excerpt is not null;
create index insights_words on insights (outcome, month) where excerpt is not null;
-- The scores of answers under way, which participation counts as they stand.
create index responses_partial on responses (outcome) where status = 'partial';
-- What buyers did instead of the requests we declined.
create index responses_declined on responses (month) where survey_key = 'declined_request';
