-- Debrief's schema. One file for SQLite and PostgreSQL alike, so only portable SQL:
--   * ids are text (UUIDv7 made by the server), never an engine-specific serial;
--   * instants are text in RFC 3339 UTC with fixed width ('2026-11-22T09:00:00.000000Z'),
--     so they sort and compare as strings on both engines and read well in a console;
--   * statuses and kinds are text with CHECK constraints: the Rust enums are the source,
--     these lists mirror them;
--   * money is an integer count of minor units beside an ISO 4217 code;
--   * booleans are 0/1 integers, which both engines and sqlx's Any driver agree on.

-- Staff API keys. Only a SHA-256 of the key is kept; the key itself is shown once.
create table api_keys (
    id          text primary key,
    name        text not null,
    role        text not null check (role in ('admin', 'program_owner', 'account_manager', 'analyst', 'integration')),
    key_hash    text not null unique,
    created_at  text not null,
    revoked_at  text
);

-- A decided deal, as the CRM last described it. crm_id is the CRM's own key: posting the
-- same deal again updates this row.
create table deals (
    id                    text primary key,
    crm_id                text not null unique,
    outcome               text not null check (outcome in ('won', 'lost', 'no_decision', 'declined')),
    decided_at            text not null,
    amount_minor          bigint not null check (amount_minor >= 0),
    currency              text not null check (length(currency) = 3),
    sales_cycle_days      bigint not null check (sales_cycle_days >= 0),
    -- JSON array of competitor names, in the CRM's order.
    competitors           text not null default '[]',
    region                text,
    persona               text,
    product_line          text,
    company_type          text,
    icp_fit               text check (icp_fit in ('high', 'medium', 'low')),
    renewal_date          text,
    strategic             bigint not null default 0 check (strategic in (0, 1)),
    account_name          text not null,
    account_manager_name  text not null,
    account_manager_email text not null,
    created_at            text not null,
    updated_at            text not null
);
create index deals_outcome on deals (outcome);

-- The buyer-side people on a deal.
create table contacts (
    id          text primary key,
    deal_id     text not null references deals (id),
    name        text not null,
    email       text not null,
    role        text,
    locale      text not null check (locale in ('en', 'fr')),
    time_zone   text not null,
    created_at  text not null,
    updated_at  text not null,
    unique (deal_id, email)
);

-- One invitation per contact and kind. The status moves forward only:
-- scheduled -> sent -> opened -> started -> completed; failed when delivery gave up;
-- opted_out when the buyer asked for no more surveys before this one was answered.
-- The *_at columns keep when each step first happened, for the participation funnel.
create table invitations (
    id            text primary key,
    deal_id       text not null references deals (id),
    contact_id    text not null references contacts (id),
    kind          text not null check (kind in ('survey')),
    status        text not null check (status in ('scheduled', 'sent', 'opened', 'started', 'completed', 'failed', 'opted_out')),
    scheduled_for text not null,
    sent_at       text,
    opened_at     text,
    started_at    text,
    completed_at  text,
    created_at    text not null,
    unique (contact_id, kind)
);
create index invitations_deal on invitations (deal_id);

-- Links sent to a buyer. Only the SHA-256 of the token is stored; every email attempt mints
-- its own token, so a retried send never invalidates a link that did arrive.
create table invitation_tokens (
    token_hash    text primary key,
    invitation_id text not null references invitations (id),
    created_at    text not null,
    expires_at    text not null
);
create index invitation_tokens_invitation on invitation_tokens (invitation_id);

-- A completed survey. One per invitation: the unique key is what stops a double answer
-- even when two submits race.
create table responses (
    id            text primary key,
    invitation_id text not null unique references invitations (id),
    nps           bigint not null check (nps between 0 and 10),
    reason        text,
    locale        text not null check (locale in ('en', 'fr')),
    submitted_at  text not null
);

-- Durable outbox: every side effect that leaves the process is a row here first, written in
-- the same transaction as the change that caused it, then performed by the worker with
-- retries. lease_until lets several instances share the table without sending twice.
create table outbox (
    id              text primary key,
    kind            text not null check (kind in ('survey_invitation')),
    -- The job's subject (for survey_invitation: the invitation id); with kind, unique, so an
    -- update of a deal can never queue the same email twice.
    subject_id      text not null,
    status          text not null check (status in ('pending', 'done', 'dead')),
    attempts        bigint not null default 0,
    next_attempt_at text not null,
    lease_owner     text,
    lease_until     text,
    last_error      text,
    created_at      text not null,
    done_at         text,
    unique (kind, subject_id)
);
create index outbox_due on outbox (status, next_attempt_at);

-- Addresses that asked for no more surveys. Checked when an invitation is created and
-- again just before each email, so an opt-out wins over anything already queued.
create table suppressions (
    email       text primary key,
    source      text not null check (source in ('buyer_link')),
    created_at  text not null
);
