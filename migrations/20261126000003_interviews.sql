-- An interview's own lifecycle, beside its invitation (which says who was asked, under
-- which program and segment, and how the email went): invited, then booked, then
-- completed, no_show, cancelled, declined or expired. A closed set, checked here.
create table interviews (
    invitation_id   text primary key references invitations (id),
    status          text not null check (status in ('invited', 'booked', 'completed', 'no_show', 'cancelled', 'declined', 'expired')),
    -- The account manager who invited the buyer personally, with their note; null when the
    -- program invited them.
    invited_by      text references staff (id),
    note            text,
    -- The interviewer the manager asked for; any interviewer when null.
    interviewer_id  text references staff (id),
    -- The calendar event's SEQUENCE: one more at each change sent to the buyer's calendar.
    sequence        bigint not null default 0,
    booked_at       text,
    completed_at    text,
    closed_at       text,
    created_at      text not null,
    updated_at      text not null
);
create index interviews_by_status on interviews (status);

-- Each slot booked. A reschedule books anew and releases the slot it leaves. Two buyers can
-- never hold one interviewer's slot: the unique index below refuses the second booking,
-- whichever instance or connection it comes from.
create table interview_bookings (
    id              text primary key,
    invitation_id   text not null references interviews (invitation_id),
    interviewer_id  text not null references staff (id),
    starts_at       text not null,
    ends_at         text not null,
    status          text not null check (status in ('booked', 'released')),
    -- The buyer's own zone, as they chose it on the booking page.
    buyer_time_zone text not null,
    phone           text,
    prefers         text check (prefers in ('video', 'phone')),
    created_at      text not null,
    released_at     text
);
create unique index interview_bookings_one_per_slot on interview_bookings (interviewer_id, starts_at) where status = 'booked';
create unique index interview_bookings_one_per_interview on interview_bookings (invitation_id) where status = 'booked';
create index interview_bookings_by_interviewer on interview_bookings (interviewer_id, starts_at);

-- Interview invitations made before this: still invited, unless their invitation closed.
insert into interviews (invitation_id, status, created_at, updated_at, closed_at)
select i.id,
       case i.status
           when 'completed' then 'completed'
           when 'expired' then 'expired'
           when 'cancelled' then 'cancelled'
           when 'opted_out' then 'declined'
           when 'bounced' then 'cancelled'
           else 'invited'
       end,
       i.created_at, i.created_at,
       case when i.status in ('completed', 'expired', 'cancelled', 'opted_out', 'bounced') then i.created_at end
from invitations i where i.kind = 'interview';
