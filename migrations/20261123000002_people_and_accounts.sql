-- People and accounts become entities, and the invitation gets room for the program.
--
-- * A person is one buyer address, across deals: contact caps, cooldowns, suppressions and
--   bounces hang off the person, not a deal's copy of the address.
-- * An account is one buying company (the CRM's account id, or its name when the CRM
--   sends none): caps per buying committee hang off it.
-- * Suppressions keep their history: source, when, by whom, and when lifted.
-- * Invitations record the program version and segment that chose them, and their
--   statuses grow (held, bounced, expired, cancelled).
--
-- SQLite cannot alter a CHECK constraint or add a NOT NULL reference, so the changed
-- tables are rebuilt: create `*_new`, copy, drop the old ones children first, rename. Both
-- engines carry foreign keys across the rename (SQLite rewrites them by name, PostgreSQL
-- tracks tables by identity). Open-ended sets become reference tables.

create table invitation_kinds (
    kind text primary key
);
insert into invitation_kinds (kind) values ('survey'), ('interview');

create table suppression_sources (
    source text primary key
);
insert into suppression_sources (source) values ('buyer_link'), ('hard_bounce'), ('staff');

create table persons (
    id          text primary key,
    -- Lower-cased: one buyer however the CRM spells the address.
    email       text not null unique,
    -- The name the CRM last used.
    name        text not null,
    created_at  text not null,
    updated_at  text not null
);

create table accounts (
    id          text primary key,
    -- 'crm:' and the CRM's account id, or 'name:' and the lower-cased name when it sends none.
    key         text not null unique,
    name        text not null,
    created_at  text not null,
    updated_at  text not null
);

-- One person per address already known, keeping the first contact's id and name.
insert into persons (id, email, name, created_at, updated_at)
select min(id), email, min(name), min(created_at), max(updated_at)
from contacts group by email;

insert into accounts (id, key, name, created_at, updated_at)
select min(id), 'name:' || lower(account_name), min(account_name), min(created_at), max(updated_at)
from deals group by lower(account_name);

create table deals_new (
    id                    text primary key,
    crm_id                text not null unique,
    account_id            text not null references accounts (id),
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
    -- Our own no-go: why we declined, in a word and in free text, and what was asked.
    declined_reason       text check (declined_reason in ('price', 'technical', 'regulatory', 'logistical', 'out_of_scope', 'capacity', 'other')),
    declined_detail       text,
    request_kind          text,
    account_name          text not null,
    account_manager_name  text not null,
    account_manager_email text not null,
    -- What the program made of the deal: the rule version and segment that took it, or
    -- why it is outside the program. Null until planned.
    program_version       bigint,
    segment_key           text,
    outside_reason        text,
    created_at            text not null,
    updated_at            text not null
);
insert into deals_new (id, crm_id, account_id, outcome, decided_at, amount_minor, currency,
    sales_cycle_days, competitors, region, persona, product_line, company_type, icp_fit,
    renewal_date, strategic, account_name, account_manager_name, account_manager_email,
    created_at, updated_at)
select d.id, d.crm_id, a.id, d.outcome, d.decided_at, d.amount_minor, d.currency,
    d.sales_cycle_days, d.competitors, d.region, d.persona, d.product_line, d.company_type,
    d.icp_fit, d.renewal_date, d.strategic, d.account_name, d.account_manager_name,
    d.account_manager_email, d.created_at, d.updated_at
from deals d join accounts a on a.key = 'name:' || lower(d.account_name);

-- A buyer-side person on one deal, with what the CRM said of them there.
create table contacts_new (
    id          text primary key,
    deal_id     text not null references deals_new (id),
    person_id   text not null references persons (id),
    name        text not null,
    role        text,
    locale      text not null check (locale in ('en', 'fr')),
    time_zone   text not null,
    created_at  text not null,
    updated_at  text not null,
    unique (deal_id, person_id)
);
insert into contacts_new (id, deal_id, person_id, name, role, locale, time_zone, created_at, updated_at)
select c.id, c.deal_id, p.id, c.name, c.role, c.locale, c.time_zone, c.created_at, c.updated_at
from contacts c join persons p on p.email = c.email;

-- Who was asked, under which program rules, and how it ended. Statuses move forward only
-- (see invitations/mod.rs for the transition table); the *_at columns keep when each
-- funnel step first happened.
create table invitations_new (
    id              text primary key,
    deal_id         text not null references deals_new (id),
    contact_id      text not null references contacts_new (id),
    person_id       text not null references persons (id),
    account_id      text not null references accounts (id),
    kind            text not null references invitation_kinds (kind),
    status          text not null check (status in ('scheduled', 'held', 'sent', 'opened', 'started', 'completed', 'failed', 'bounced', 'opted_out', 'expired', 'cancelled')),
    -- Why it is held or cancelled (e.g. 'budget_spent', 'cooldown').
    status_reason   text,
    program_version bigint,
    segment_key     text,
    scheduled_for   text not null,
    sent_at         text,
    opened_at       text,
    started_at      text,
    completed_at    text,
    expires_at      text,
    created_at      text not null,
    unique (contact_id, kind)
);
insert into invitations_new (id, deal_id, contact_id, person_id, account_id, kind, status,
    scheduled_for, sent_at, opened_at, started_at, completed_at, created_at)
select i.id, i.deal_id, i.contact_id, c.person_id, d.account_id, i.kind, i.status,
    i.scheduled_for, i.sent_at, i.opened_at, i.started_at, i.completed_at, i.created_at
from invitations i
join contacts_new c on c.id = i.contact_id
join deals_new d on d.id = i.deal_id;

create table invitation_tokens_new (
    token_hash    text primary key,
    invitation_id text not null references invitations_new (id),
    created_at    text not null,
    expires_at    text not null
);
insert into invitation_tokens_new select token_hash, invitation_id, created_at, expires_at
from invitation_tokens;

create table responses_new (
    id            text primary key,
    invitation_id text not null unique references invitations_new (id),
    nps           bigint not null check (nps between 0 and 10),
    reason        text,
    locale        text not null check (locale in ('en', 'fr')),
    submitted_at  text not null
);
insert into responses_new select id, invitation_id, nps, reason, locale, submitted_at
from responses;

-- Addresses not to contact, with their history: an entry is active until lifted.
create table suppressions_new (
    id          text primary key,
    email       text not null,
    source      text not null references suppression_sources (source),
    -- Staff's note, or the SMTP server's answer for a bounce.
    note        text,
    created_at  text not null,
    -- The staff key's name for 'staff' entries.
    created_by  text,
    lifted_at   text,
    lifted_by   text,
    lift_reason text
);
insert into suppressions_new (id, email, source, created_at)
select 'opt-out:' || email, email, source, created_at from suppressions;

drop table responses;
drop table invitation_tokens;
drop table invitations;
drop table contacts;
drop table deals;
drop table suppressions;

alter table deals_new rename to deals;
alter table contacts_new rename to contacts;
alter table invitations_new rename to invitations;
alter table invitation_tokens_new rename to invitation_tokens;
alter table responses_new rename to responses;
alter table suppressions_new rename to suppressions;

create index deals_outcome on deals (outcome);
create index deals_account on deals (account_id);
create index contacts_person on contacts (person_id);
create index invitations_deal on invitations (deal_id);
-- Contact policy: the last invitations of a person, and of an account.
create index invitations_person on invitations (person_id, created_at);
create index invitations_account on invitations (account_id, created_at);
create index invitation_tokens_invitation on invitation_tokens (invitation_id);
-- At most one active suppression per address; lifted ones stay as history.
create unique index suppressions_active on suppressions (email) where lifted_at is null;
