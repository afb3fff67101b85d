-- Staff members: the people behind the keys. An account manager is matched to the accounts
-- they manage by address, and an interviewer publishes availability in their calendar's
-- time zone. A key names its holder; keys made before this stay without one (what they
-- may do still comes from their role, and none of them can be an account manager's, whose
-- scope needs an address).
create table staff (
    id          text primary key,
    -- Lower-cased, as persons' addresses.
    email       text not null unique,
    name        text not null,
    -- IANA name (Europe/Paris), for interviewers; null for the others.
    time_zone   text,
    created_at  text not null,
    updated_at  text not null
);

alter table api_keys add column staff_id text references staff (id);

-- Who manages the account: the address of the account manager on its last decided deal, as
-- the CRM sent it (lower-cased). An account manager sees and acts on these accounts only.
alter table accounts add column manager_email text;
create index accounts_by_manager on accounts (manager_email);

update accounts set manager_email = (
    select lower(d.account_manager_email) from deals d
    where d.account_id = accounts.id and d.account_manager_email is not null
    order by d.decided_at desc, d.id desc
    limit 1
);
