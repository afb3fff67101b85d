-- The staff console: people sign in, machines keep their API keys.
--
-- A staff member now has a role of their own (what they may do in the console, by the
-- same rules as a key of that role), the language of their pages and emails, and,
-- optionally, a password (argon2id, PHC string). A member without a role cannot sign in:
-- the key holders stored before this take the role of their oldest live key.
alter table staff add column role text
    check (role in ('admin', 'program_owner', 'account_manager', 'analyst'));
alter table staff add column locale text not null default 'en' check (locale in ('en', 'fr'));
alter table staff add column password_hash text;
-- Set when an admin takes someone's access away: their sessions end and no link or
-- password signs them in again.
alter table staff add column disabled_at text;
-- Wrong passwords in a row, since the first of them: five within fifteen minutes stop
-- password sign-ins to the account for the rest of those minutes (a link still works).
alter table staff add column failed_passwords bigint not null default 0;
alter table staff add column failed_since text;

update staff set role = (
    select k.role from api_keys k
    where k.staff_id = staff.id and k.revoked_at is null and k.role <> 'integration'
    order by k.created_at, k.id
    limit 1
);

-- One-time sign-in links. The token itself is made when the email is sent (so that it is
-- never stored in clear, not even in the outbox's payload); only its SHA-256 is kept.
-- A link works once, for fifteen minutes.
create table staff_sign_in_links (
    id          text primary key,
    staff_id    text not null references staff (id),
    token_hash  text unique,
    created_at  text not null,
    expires_at  text not null,
    used_at     text
);
create index staff_sign_in_links_by_staff on staff_sign_in_links (staff_id, created_at);

-- Console sessions. The cookie holds the token; the table its SHA-256. A session ends at
-- `expires_at` (idle time, pushed back as it is used, within an absolute limit from
-- `created_at`) or when its holder signs out. `csrf_token` is the secret each form of the
-- session carries back: a page from another site cannot read it.
create table staff_sessions (
    id            text primary key,
    token_hash    text not null unique,
    staff_id      text not null references staff (id),
    csrf_token    text not null,
    created_at    text not null,
    last_seen_at  text not null,
    expires_at    text not null,
    ended_at      text
);
create index staff_sessions_by_staff on staff_sessions (staff_id);

insert into job_kinds (kind) values ('sign_in_email');
