-- The program: versioned rules that decide who is asked, how, and with what incentive.
--
-- * Each change is a new row of `program_versions`; none is ever edited. A deal is planned
--   under the version in force when it was decided, and every invitation records it.
-- * Invitations learn which survey they carry, how many reminders went out, and when a
--   reminder or the expiry is due (the jobs hold the schedule; these columns are for reading).
-- * Incentives get a ledger: one row per invitation that offers one.
-- * Server secrets (the key buyer links are derived from) live in the database, so every
--   instance on it derives the same links.

create table program_versions (
    version     bigint primary key,
    -- The definition as accepted, normalised (JSON).
    definition  text not null,
    -- Deals decided from this instant on are planned under this version.
    effective_from text not null,
    created_at  text not null,
    -- The staff key's name.
    created_by  text not null
);

alter table invitations add column survey_key text;
alter table invitations add column incentive_key text;
alter table invitations add column reminders_sent bigint not null default 0;
alter table invitations add column last_reminded_at text;

insert into job_kinds (kind) values ('invitation_reminder'), ('invitation_expiry'), ('interview_invitation');

create table incentive_statuses (
    status text primary key
);
insert into incentive_statuses (status) values ('offered'), ('earned'), ('fulfilled'), ('cancelled');

create table incentive_kinds (
    kind text primary key
);
insert into incentive_kinds (kind) values ('money'), ('credits'), ('module'), ('early_access'), ('donation');

create table incentives (
    id              text primary key,
    invitation_id   text not null unique references invitations (id),
    account_id      text not null references accounts (id),
    -- The catalogue entry, as it was when offered.
    incentive_key   text not null,
    kind            text not null references incentive_kinds (kind),
    -- Money and donations: the amount. Others: null.
    amount_minor    bigint check (amount_minor is null or amount_minor >= 0),
    currency        text,
    -- Credits: how many. Modules and early access: what.
    quantity        bigint,
    label           text,
    -- The budget period the offer counts against, e.g. '2026-Q4'.
    period          text not null,
    status          text not null references incentive_statuses (status),
    offered_at      text not null,
    earned_at       text,
    fulfilled_at    text,
    fulfilled_by    text,
    -- Set when a payout export took it, so a second export does not pay twice.
    payout_reference text,
    cancelled_at    text,
    cancel_reason   text
);
create index incentives_status on incentives (status, period);
create index incentives_account on incentives (account_id, period);

create table server_secrets (
    name        text primary key,
    value       text not null,
    created_at  text not null
);

-- Planning reads, per segment and period, what was already invited and completed.
create index invitations_segment on invitations (segment_key, created_at);
create index deals_segment on deals (segment_key, decided_at);
