-- The declined-requests dashboard and the top verbatims, kept as flat from ten thousand
-- responses to a million as the other dashboards: both read the analysts' excerpts,
-- about one response in a hundred, so their time grew with the store.
--
-- The two aggregates below are kept like those of `20261127000003_rollups.sql`: a
-- response with the outcome `declined` adds its contribution when the coder claims it,
-- and any later change to it swaps the old contribution for the new one in the
-- transaction that makes the change, the response row locked first
-- (`analytics::rollups::Change`). Text key columns hold '' for "none".

-- Declined requests answered, by what the buyer did instead (the survey's `instead`
-- question; '' when not answered), and how many of them an analyst has coded.
create table declined_rollup (
    month       text not null,
    segment_key text not null,
    outcome     text not null,
    competitor  text not null,
    instead     text not null,
    answered    bigint not null default 0,
    coded       bigint not null default 0,
    primary key (month, segment_key, outcome, competitor, instead)
);

-- The unmet needs: per driver as coded in the buyers' words (merges applied when read),
-- each request counted once, by request type (product line), requester (persona) and
-- period.
create table unmet_need_rollup (
    month        text not null,
    segment_key  text not null,
    outcome      text not null,
    competitor   text not null,
    driver       text not null,
    product_line text not null,
    persona      text not null,
    period       text not null,
    requests     bigint not null default 0,
    primary key (month, segment_key, outcome, competitor, driver, product_line, persona,
        period)
);

-- What is coded already: responses the coder has claimed.
insert into declined_rollup (month, segment_key, outcome, competitor, instead, answered, coded)
select month, segment_key, outcome, competitor, instead, count(*), sum(worded)
from (select coalesce(r.month, '') as month, coalesce(r.segment_key, '') as segment_key,
             r.outcome, coalesce(r.competitor, '') as competitor,
             coalesce((select min(t.item) from response_items t
                       where t.response_id = r.id and t.question_id = 'instead'), '')
                 as instead,
             case when exists (select 1 from insights n
                               where n.response_id = r.id and n.excerpt is not null)
                  then 1 else 0 end as worded
      from responses r
      where r.coded_at is not null and r.outcome = 'declined') declined
group by month, segment_key, outcome, competitor, instead;

insert into unmet_need_rollup (month, segment_key, outcome, competitor, driver, product_line,
    persona, period, requests)
select month, segment_key, outcome, competitor, driver, product_line, persona, period, count(*)
from (select distinct r.id, coalesce(r.month, '') as month,
             coalesce(r.segment_key, '') as segment_key, r.outcome,
             coalesce(r.competitor, '') as competitor, n.driver,
             coalesce(r.product_line, '') as product_line,
             coalesce(r.persona, '') as persona, coalesce(r.period, '') as period
      from responses r join insights n on n.response_id = r.id and n.excerpt is not null
      where r.coded_at is not null and r.outcome = 'declined') needs
group by month, segment_key, outcome, competitor, driver, product_line, persona, period;

-- The top verbatims per driver, read in this order a few rows per driver, whatever the
-- size of the store (`analytics::drivers::verbatims`).
drop index insights_verbatims;
create index insights_verbatims on insights (driver, abs(influence), coded_at, id)
    where excerpt is not null;
