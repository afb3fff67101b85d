-- What the console's pages read, found without a scan at a million deals and responses.

-- Deals by decision: the segment editor replays the latest of last quarter, and the
-- deals pages list the newest first.
create index deals_decided on deals (decided_at, id);

-- The buyers' words coded so far, newest first: the analyst's search of the coded store
-- walks them in order, about one insight in a hundred.
create index insights_worded on insights (id) where excerpt is not null;
-- The same for one driver (and those merged into it): without it, SQLite walked every
-- rating of the driver (a third of a million at a million responses) for its words.
create index insights_worded_driver on insights (driver, id) where excerpt is not null;

-- Invitations newest first: the invitations page lists them so, an account manager's
-- among everyone's.
create index invitations_scheduled on invitations (scheduled_for, id);
