-- Everything a buyer told us is a response: a survey's answers, and now an interview's
-- notes too. The coded store, NPS by segment and the exports then read one table, with
-- the deal frozen the same way for both. An interview's response answers the guide
-- (`survey_key` 'interview', `survey_version` the guide version); its items are the NPS
-- asked in the conclusion (`nps`), each stage's notes (`stage.<key>`, item '') and the
-- buyer's exact words (`stage.<key>`, item `quote.<n>`, `number` n, from 1, for their order).

-- The month the deal was decided, frozen like the period: trends by month and quarter
-- read it whatever period the program reports by.
alter table responses add column month text;
update responses set month = (
    select substr(d.decided_at, 1, 7)
    from invitations i join deals d on d.id = i.deal_id
    where i.id = responses.invitation_id);

insert into responses (id, invitation_id, locale, submitted_at, outcome, segment_key,
    region, persona, product_line, amount_band, period, month, survey_key, survey_version,
    status, updated_at)
select 'interview-' || n.invitation_id, n.invitation_id, c.locale, n.noted_at, d.outcome,
    i.segment_key, d.region, d.persona, d.product_line,
    case when d.amount_minor < 1000000 then 'under_10k'
         when d.amount_minor < 5000000 then '10k_to_50k'
         when d.amount_minor < 25000000 then '50k_to_250k'
         else '250k_and_more' end,
    substr(d.decided_at, 1, 4) || '-Q'
        || cast((cast(substr(d.decided_at, 6, 2) as integer) + 2) / 3 as text),
    substr(d.decided_at, 1, 7), 'interview', n.guide_version, 'complete', n.noted_at
from interview_notes n
join invitations i on i.id = n.invitation_id
join contacts c on c.id = i.contact_id
join deals d on d.id = i.deal_id;

insert into response_items (response_id, question_id, item, number, text)
select 'interview-' || invitation_id, 'nps', '', nps, null
from interview_notes where nps is not null;

insert into response_items (response_id, question_id, item, number, text)
select 'interview-' || invitation_id, 'stage.' || stage, '', null, notes
from interview_stage_notes;

insert into response_items (response_id, question_id, item, number, text)
select 'interview-' || invitation_id, 'stage.' || stage,
    'quote.' || cast(position + 1 as text), position + 1, text
from interview_verbatims;

drop table interview_verbatims;
drop table interview_stage_notes;
alter table interview_notes drop column nps;
