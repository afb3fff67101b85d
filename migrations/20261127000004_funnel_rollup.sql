-- The participation funnel, aggregated: how many invitations reached each step, by month
-- of decision, segment, method, outcome and account manager.
--
-- Every change to an invitation marks it dirty (`invitations::Transition` sets
-- `funnel_dirty`, and a new invitation starts dirty). A folder claims dirty invitations,
-- adds the steps each reached since it was last counted (`funnel_counted`, a bit per step)
-- and marks them clean, in one transaction: a step is counted once, and a change that
-- lands meanwhile marks the invitation dirty again for the next fold. Readers fold what
-- is left before they read, so a dashboard counts every change committed before it asked.
-- The deal's outcome, month and the account's manager are frozen on the invitation when
-- it is first folded, so that its steps stay filed under one key.

alter table invitations add column funnel_dirty bigint not null default 1;
-- Bits: 1 sent, 2 opened, 4 started, 8 completed, 16 opted out, 32 bounced, 64 invited.
alter table invitations add column funnel_counted bigint not null default 0;
-- The bits the last fold added: written by the fold's update, read back by its RETURNING.
alter table invitations add column funnel_added bigint not null default 0;
alter table invitations add column frozen_outcome text;
alter table invitations add column frozen_month text;
alter table invitations add column frozen_manager text;
create index invitations_funnel_dirty on invitations (id) where funnel_dirty = 1;

create table funnel_rollup (
    month         text not null,
    segment_key   text not null,
    -- 'survey' or 'interview'.
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
    primary key (month, segment_key, method, outcome, manager_email)
);
