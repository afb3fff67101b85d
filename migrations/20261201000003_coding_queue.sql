-- The analysts' queue, kept rather than searched: the buyers' free text of coded
-- responses that holds no analyst insight yet and was not set aside.
--
-- The queue was a query over every response item (nine million at a million responses)
-- on each view of the coding page; it took 57 ms at 100k responses. The texts now enter
-- this table when the coder claims their response, and each change to a response
-- (`analytics::rollups::Change`: an analyst's coding, an insight removed, interview notes
-- written again) or a review refreshes that response's rows in the same transaction
-- (`insights::queue::refresh`). The page then reads the newest waiting texts and counts
-- only what waits.
create table coding_queue (
    response_id  text not null references responses (id),
    question_id  text not null,
    item         text not null,
    -- The response's, for newest first.
    submitted_at text not null,
    primary key (response_id, question_id, item)
);
create index coding_queue_newest on coding_queue (submitted_at desc, response_id, question_id,
    item);

insert into coding_queue (response_id, question_id, item, submitted_at)
select t.response_id, t.question_id, t.item, r.submitted_at
from response_items t join responses r on r.id = t.response_id
where r.status = 'complete' and r.coded_at is not null
  and t.number is null and t.text is not null and t.text <> ''
  and (t.item = '' or t.item = 'other' or t.item like 'quote.%')
  and not exists (select 1 from insights n where n.response_id = t.response_id
                  and n.question_id = t.question_id and n.item = t.item
                  and n.source = 'analyst')
  and not exists (select 1 from coding_reviews v where v.response_id = t.response_id
                  and v.question_id = t.question_id and v.item = t.item);
