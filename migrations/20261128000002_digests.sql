-- The monthly digest's readers: an address per department, in a language. A reader's
-- digest for a month is a job keyed by both (`digest:<month>:<id>`), so it goes out once.
create table digest_subscribers (
    id         text primary key,
    email      text not null,
    name       text,
    department text not null check (department in ('sales', 'product', 'marketing',
                   'customer_success', 'leadership')),
    locale     text not null check (locale in ('en', 'fr')),
    created_at text not null,
    created_by text not null
);
create unique index digest_subscribers_one on digest_subscribers (email, department);

insert into job_kinds (kind) values ('digest_schedule'), ('digest_email');
