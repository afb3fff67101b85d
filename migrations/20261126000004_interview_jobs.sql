-- The interviews' own emails: calendar messages on each change of a booking, and reminders
-- before it.
insert into job_kinds (kind) values ('interview_calendar'), ('interview_reminder');
