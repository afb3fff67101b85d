-- The interview guide, versioned like surveys: version 0 is the built-in guide, in the code;
-- each edit a program stores is the next version.
create table interview_guides (
    version     bigint primary key,
    definition  text not null,
    created_at  text not null,
    created_by  text not null
);

-- What the interviewer noted, against the guide version they followed.
create table interview_notes (
    invitation_id    text primary key references interviews (invitation_id),
    guide_version    bigint not null,
    duration_minutes bigint not null check (duration_minutes between 1 and 240),
    -- The NPS asked in the conclusion, when the buyer gave one.
    nps              bigint check (nps between 0 and 10),
    noted_by         text not null,
    noted_at         text not null
);

create table interview_stage_notes (
    invitation_id text not null references interviews (invitation_id),
    stage         text not null,
    notes         text not null,
    primary key (invitation_id, stage)
);

-- The buyer's exact words, one row each, in the order noted: the coded store quotes them.
create table interview_verbatims (
    id            text primary key,
    invitation_id text not null references interviews (invitation_id),
    stage         text not null,
    position      bigint not null,
    text          text not null
);
create index interview_verbatims_by_interview on interview_verbatims (invitation_id, stage, position);
