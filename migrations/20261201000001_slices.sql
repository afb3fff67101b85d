-- The dashboards filtered by region and product line, as flat as unfiltered.
--
-- The aggregates of `20261127000003_rollups.sql` and `20261127000004_funnel_rollup.sql`
-- were keyed by segment only (and NPS by region): a filter on region or product line
-- would have read every row of the segments. They become cubes over the three
-- dimensions a program slices by (segment, region, product line): each contribution is
-- added to eight rows, one per choice of dimensions kept, the others holding '*' for
-- "every value". A reader then names its slice exactly (`analytics::filter::Filter::
-- sliced`): a dimension it filters on holds the value, one it groups by holds any stored
-- value (listed in `slice_values`), the others '*'. It reads as many rows at a million
-- responses filtered by region and product line as it did unfiltered, and
-- `driver_totals` (the driver sums over every segment) is the all-'*' slice of
-- `driver_rollup`.
--
-- They stay right under concurrent writes as before: the same transactions add the
-- same contributions, to eight keys instead of one, sorted so that concurrent writers
-- lock rows in one order. '' still means "none"; '*' is not a value a filter can name.
-- Rebuilt below from what they count (coded responses, counted invitations), since the
-- old rows have no product line.

drop table nps_rollup;
drop table driver_rollup;
drop table driver_totals;
drop table coded_rollup;
drop table funnel_rollup;

create table nps_rollup (
    month        text not null,
    segment_key  text not null,
    region       text not null,
    product_line text not null,
    outcome      text not null,
    competitor   text not null,
    -- 'survey' or 'interview'.
    method       text not null,
    promoters    bigint not null default 0,
    passives     bigint not null default 0,
    detractors   bigint not null default 0,
    primary key (segment_key, region, product_line, month, outcome, competitor, method)
);

create table driver_rollup (
    month         text not null,
    segment_key   text not null,
    region        text not null,
    product_line  text not null,
    outcome       text not null,
    competitor    text not null,
    driver        text not null,
    mentions      bigint not null default 0,
    positive      bigint not null default 0,
    negative      bigint not null default 0,
    sole_negative bigint not null default 0,
    primary key (segment_key, region, product_line, month, outcome, competitor, driver)
);
-- Covering, a slice first, then in the order the dashboards group by: drivers by outcome,
-- and by competitor and outcome, read in index order with no sort.
create index driver_rollup_by_outcome on driver_rollup (segment_key, region, product_line,
    outcome, driver, month, competitor, mentions, positive, negative, sole_negative);
create index driver_rollup_by_competitor on driver_rollup (segment_key, region,
    product_line, competitor, outcome, driver, month, mentions, positive, negative,
    sole_negative);

create table coded_rollup (
    month        text not null,
    segment_key  text not null,
    region       text not null,
    product_line text not null,
    outcome      text not null,
    competitor   text not null,
    responses    bigint not null default 0,
    primary key (segment_key, region, product_line, month, outcome, competitor)
);

-- Invitations are filed under their deal's region and product line as they were when
-- first counted, as they are under its outcome and month.
alter table invitations add column frozen_region text;
alter table invitations add column frozen_product_line text;
update invitations set
    frozen_region = (select coalesce(d.region, '') from deals d where d.id = invitations.deal_id),
    frozen_product_line = (select coalesce(d.product_line, '') from deals d
                           where d.id = invitations.deal_id)
where frozen_month is not null;

create table funnel_rollup (
    month         text not null,
    segment_key   text not null,
    region        text not null,
    product_line  text not null,
    method        text not null,
    outcome       text not null,
    manager_email text not null,
    invited       bigint not null default 0,
    sent          bigint not null default 0,
    opened        bigint not null default 0,
    started       bigint not null default 0,
    completed     bigint not null default 0,
    opted_out     bigint not null default 0,
    bounced       bigint not null default 0,
    primary key (segment_key, region, product_line, month, method, outcome, manager_email)
);

-- Every value each dimension holds in the aggregates: what a reader grouping by it seeks
-- (one index seek per value, where `<> '*'` would read the whole cube), and the choices
-- the console's filters offer. Values are added as contributions are; never removed.
create table slice_values (
    dimension text not null,
    value     text not null,
    primary key (dimension, value)
);

-- The eight choices of dimensions kept.
create table slice_masks (s bigint not null, r bigint not null, p bigint not null);
insert into slice_masks (s, r, p) values (0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1),
    (1, 0, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1);

-- NPS: each coded response's score (0 to 10), as `analytics::rollups::Deltas` files it.
insert into nps_rollup (month, segment_key, region, product_line, outcome, competitor,
    method, promoters, passives, detractors)
select coalesce(r.month, ''),
       case when m.s = 1 then coalesce(r.segment_key, '') else '*' end,
       case when m.r = 1 then coalesce(r.region, '') else '*' end,
       case when m.p = 1 then coalesce(r.product_line, '') else '*' end,
       coalesce(r.outcome, ''), coalesce(r.competitor, ''),
       case when r.survey_key = 'interview' then 'interview' else 'survey' end,
       cast(sum(case when i.number >= 9 then 1 else 0 end) as bigint),
       cast(sum(case when i.number in (7, 8) then 1 else 0 end) as bigint),
       cast(sum(case when i.number <= 6 then 1 else 0 end) as bigint)
from responses r
join response_items i on i.response_id = r.id and i.question_id = 'nps' and i.item = ''
cross join slice_masks m
where r.coded_at is not null and i.number between 0 and 10
group by 1, 2, 3, 4, 5, 6, 7;

-- Drivers: per response and driver, the sign of the influences coded; "sole negative"
-- when it is the response's only driver against us.
insert into driver_rollup (month, segment_key, region, product_line, outcome, competitor,
    driver, mentions, positive, negative, sole_negative)
select coalesce(r.month, ''),
       case when m.s = 1 then coalesce(r.segment_key, '') else '*' end,
       case when m.r = 1 then coalesce(r.region, '') else '*' end,
       case when m.p = 1 then coalesce(r.product_line, '') else '*' end,
       coalesce(r.outcome, ''), coalesce(r.competitor, ''), d.driver,
       cast(count(*) as bigint),
       cast(sum(case when d.total > 0 then 1 else 0 end) as bigint),
       cast(sum(case when d.total < 0 then 1 else 0 end) as bigint),
       cast(sum(case when d.total < 0 and a.against = 1 then 1 else 0 end) as bigint)
from (select response_id, driver, sum(influence) as total from insights
      group by response_id, driver) d
join responses r on r.id = d.response_id
left join (select response_id, count(*) as against
           from (select response_id, driver from insights group by response_id, driver
                 having sum(influence) < 0) n
           group by response_id) a on a.response_id = d.response_id
cross join slice_masks m
where r.coded_at is not null
group by 1, 2, 3, 4, 5, 6, 7;

-- Responses with a driver coded.
insert into coded_rollup (month, segment_key, region, product_line, outcome, competitor,
    responses)
select coalesce(r.month, ''),
       case when m.s = 1 then coalesce(r.segment_key, '') else '*' end,
       case when m.r = 1 then coalesce(r.region, '') else '*' end,
       case when m.p = 1 then coalesce(r.product_line, '') else '*' end,
       coalesce(r.outcome, ''), coalesce(r.competitor, ''), cast(count(*) as bigint)
from responses r
cross join slice_masks m
where r.coded_at is not null
  and exists (select 1 from insights n where n.response_id = r.id)
group by 1, 2, 3, 4, 5, 6;

-- The funnel: the steps each invitation was counted for (bits of `funnel_counted`: 1
-- sent, 2 opened, 4 started, 8 completed, 16 opted out, 32 bounced, 64 invited). The
-- bits are tested by division, which both databases read alike.
insert into funnel_rollup (month, segment_key, region, product_line, method, outcome,
    manager_email, invited, sent, opened, started, completed, opted_out, bounced)
select coalesce(i.frozen_month, ''),
       case when m.s = 1 then coalesce(i.segment_key, '') else '*' end,
       case when m.r = 1 then coalesce(i.frozen_region, '') else '*' end,
       case when m.p = 1 then coalesce(i.frozen_product_line, '') else '*' end,
       i.kind, coalesce(i.frozen_outcome, ''), coalesce(i.frozen_manager, ''),
       cast(sum((i.funnel_counted / 64) % 2) as bigint),
       cast(sum(i.funnel_counted % 2) as bigint),
       cast(sum((i.funnel_counted / 2) % 2) as bigint),
       cast(sum((i.funnel_counted / 4) % 2) as bigint),
       cast(sum((i.funnel_counted / 8) % 2) as bigint),
       cast(sum((i.funnel_counted / 16) % 2) as bigint),
       cast(sum((i.funnel_counted / 32) % 2) as bigint)
from invitations i
cross join slice_masks m
where i.funnel_counted <> 0
group by 1, 2, 3, 4, 5, 6, 7;

drop table slice_masks;

insert into slice_values (dimension, value)
select 'segment_key', segment_key from nps_rollup where segment_key <> '*'
union select 'segment_key', segment_key from coded_rollup where segment_key <> '*'
union select 'segment_key', segment_key from funnel_rollup where segment_key <> '*'
union select 'region', region from nps_rollup where region <> '*'
union select 'region', region from coded_rollup where region <> '*'
union select 'region', region from funnel_rollup where region <> '*'
union select 'product_line', product_line from nps_rollup where product_line <> '*'
union select 'product_line', product_line from coded_rollup where product_line <> '*'
union select 'product_line', product_line from funnel_rollup where product_line <> '*';
