-- Answers one row per question, so that analytics stays portable SQL on both databases
-- with no JSON dialects; and each response keeps the deal as it stood when the buyer
-- answered, so that analysis by segment stays right after the CRM edits the deal.

create table response_items (
    response_id text not null references responses (id),
    -- The question's id in the survey version answered.
    question_id text not null,
    -- The choice picked or the driver rated (one row each); '' for a single value.
    item        text not null default '',
    -- A score or rating, a driver's influence from -2 to 2, or 1/0 for yes/no.
    number      bigint,
    -- The buyer's words, the text of "Other, please say", or an influence's code.
    text        text,
    primary key (response_id, question_id, item)
);
create index response_items_by_question on response_items (question_id, item);

-- The slice's two questions become the first items.
insert into response_items (response_id, question_id, item, number, text)
select id, 'nps', '', nps, null from responses;
insert into response_items (response_id, question_id, item, number, text)
select id, 'reason', '', null, reason from responses where reason is not null;

-- The deal, frozen at answer time.
alter table responses add column outcome text;
alter table responses add column segment_key text;
alter table responses add column competitor text;
alter table responses add column region text;
alter table responses add column persona text;
alter table responses add column product_line text;
-- `surveys::answers::amount_band`, in the deal's currency.
alter table responses add column amount_band text;
-- The program's period of the decision, e.g. `2026-Q4`.
alter table responses add column period text;

-- Earlier answers take the deal as it is now (the best there is). Their competitor stays
-- unknown: it sits in a JSON list, which the two databases read differently. Their
-- period is the quarter, the only period programs had before this release.
update responses set
    outcome = (select d.outcome from invitations i join deals d on d.id = i.deal_id
               where i.id = responses.invitation_id),
    segment_key = (select i.segment_key from invitations i where i.id = responses.invitation_id),
    region = (select d.region from invitations i join deals d on d.id = i.deal_id
              where i.id = responses.invitation_id),
    persona = (select d.persona from invitations i join deals d on d.id = i.deal_id
               where i.id = responses.invitation_id),
    product_line = (select d.product_line from invitations i join deals d on d.id = i.deal_id
                    where i.id = responses.invitation_id),
    amount_band = (select case when d.amount_minor < 1000000 then 'under_10k'
                               when d.amount_minor < 5000000 then '10k_to_50k'
                               when d.amount_minor < 25000000 then '50k_to_250k'
                               else '250k_and_more' end
                   from invitations i join deals d on d.id = i.deal_id
                   where i.id = responses.invitation_id),
    period = (select substr(d.decided_at, 1, 4) || '-Q'
                     || cast((cast(substr(d.decided_at, 6, 2) as integer) + 2) / 3 as text)
              from invitations i join deals d on d.id = i.deal_id
              where i.id = responses.invitation_id);

alter table responses drop column nps;
alter table responses drop column reason;
