-- The outbox becomes a generic job queue: any kind of work, a JSON payload, and a dedupe
-- key instead of `unique (kind, subject_id)` (which allowed one job per subject, ever, and
-- so no second reminder).

-- Job kinds keep growing with features, and SQLite cannot alter a CHECK constraint: they
-- are rows of a reference table. A migration that adds a kind inserts its row.
create table job_kinds (
    kind text primary key
);
insert into job_kinds (kind) values ('survey_invitation');

create table jobs (
    id           text primary key,
    kind         text not null references job_kinds (kind),
    -- What makes two jobs the same work, e.g. 'survey_invitation:<invitation id>'.
    -- Queueing a job whose key exists is a no-op, whatever that job's status.
    dedupe_key   text not null unique,
    payload      text not null,
    status       text not null check (status in ('pending', 'done', 'dead')),
    -- Attempts so far, the current one included.
    attempts     bigint not null default 0,
    -- When the job is due: first run, or the next retry.
    run_at       text not null,
    -- A runner's claim. Several instances share the table; an expired lease is free.
    lease_owner  text,
    lease_until  text,
    last_error   text,
    created_at   text not null,
    done_at      text
);
create index jobs_due on jobs (status, run_at);

-- Every queued, sent or dead invitation email carries over, with its attempts and error.
insert into jobs (id, kind, dedupe_key, payload, status, attempts, run_at, lease_owner,
                  lease_until, last_error, created_at, done_at)
select id, kind, kind || ':' || subject_id, '{"invitation_id":"' || subject_id || '"}',
       status, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at,
       done_at
from outbox;

drop table outbox;
