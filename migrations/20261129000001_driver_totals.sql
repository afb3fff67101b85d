-- The driver shares over every segment, kept apart from `driver_rollup`.
--
-- `driver_rollup` has a row per month, segment, outcome, competitor and driver: 74,000
-- rows once a program has a few thousand answers, which PostgreSQL summed in 30 to 50 ms
-- on this machine for the unfiltered "wins vs losses" and competitor views. Those views,
-- and every dashboard without a segment, read this one instead: the same sums without
-- the segment, five times fewer rows, whatever the store holds.
--
-- Kept as `driver_rollup` is, by the same deltas in the same transactions (see
-- `20261127000003_rollups.sql` and `analytics::rollups`): every contribution to a row of
-- `driver_rollup` adds the same amounts to the row of this one that has its month,
-- outcome, competitor and driver, so this table always equals `driver_rollup` summed
-- over segments. The recount test checks both against a full recount.
create table driver_totals (
    month         text not null,
    outcome       text not null,
    competitor    text not null,
    driver        text not null,
    mentions      bigint not null default 0,
    positive      bigint not null default 0,
    negative      bigint not null default 0,
    sole_negative bigint not null default 0,
    primary key (month, outcome, competitor, driver)
);
-- Covering, in the order the dashboards group by, as `driver_rollup`'s.
create index driver_totals_by_outcome on driver_totals (outcome, driver, month, competitor,
    mentions, positive, negative, sole_negative);
create index driver_totals_by_competitor on driver_totals (competitor, outcome, driver, month,
    mentions, positive, negative, sole_negative);

insert into driver_totals (month, outcome, competitor, driver, mentions, positive, negative,
    sole_negative)
select month, outcome, competitor, driver, cast(sum(mentions) as bigint),
       cast(sum(positive) as bigint), cast(sum(negative) as bigint),
       cast(sum(sole_negative) as bigint)
from driver_rollup
group by month, outcome, competitor, driver;
