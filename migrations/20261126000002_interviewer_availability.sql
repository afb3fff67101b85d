-- What each interviewer publishes: weekly hours and exceptions, as JSON
-- (`interviews::availability::Availability`), as wall-clock times in the time zone of their
-- calendar (`staff.time_zone`). Read whole to compute the free slots.
create table interviewer_availability (
    staff_id    text primary key references staff (id),
    definition  text not null,
    updated_at  text not null,
    updated_by  text not null
);
