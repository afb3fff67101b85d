-- Alert rules and their firings, and the jobs that evaluate and tell them.
insert into job_kinds (kind) values ('alert_evaluation'), ('alert_delivery');

create table alert_rules (
    id          text primary key,
    -- `alerts::rules::Rule`, as JSON (webhook secrets included: they sign what is sent).
    definition  text not null,
    created_at  text not null,
    updated_at  text not null,
    created_by  text not null
);

create table alert_firings (
    id              text primary key,
    rule_id         text not null references alert_rules (id),
    -- The group that moved ('' for the rule's whole slice) and the window it moved in:
    -- a rule fires once per group and window.
    group_key       text not null,
    window_key      text not null,
    value           double precision not null,
    baseline        double precision,
    sample          bigint not null,
    message         text not null,
    status          text not null check (status in ('open', 'acknowledged', 'snoozed', 'resolved')),
    snoozed_until   text,
    acknowledged_by text,
    acknowledged_at text,
    fired_at        text not null,
    unique (rule_id, group_key, window_key)
);
create index alert_firings_by_status on alert_firings (status, fired_at);

-- The three rules every program starts with; they tell no one until given owners or
-- receivers, and their firings are listed meanwhile.
insert into alert_rules (id, definition, created_at, updated_at, created_by) values
('default-1-nps-drop',
 '{"name":"NPS down 10 points","metric":"nps","per":"segment","window_months":1,"comparison":{"against":"previous_window","change":-10.0,"unit":"points"},"min_sample":30,"action":"Run a deeper satisfaction survey, find the points of dissatisfaction, and act on them.","owners":[],"receivers":[],"enabled":true}',
 '2026-11-27T00:00:00.000000Z', '2026-11-27T00:00:00.000000Z', 'built-in'),
('default-2-participation-drop',
 '{"name":"Participation down 10%","metric":"participation","per":"segment","window_months":1,"comparison":{"against":"previous_window","change":-10.0,"unit":"percent"},"min_sample":50,"action":"Check the invitations: when they go out, who signs them, the incentive and the reminders; ask account managers to invite their strategic buyers personally.","owners":[],"receivers":[],"enabled":true}',
 '2026-11-27T00:00:00.000000Z', '2026-11-27T00:00:00.000000Z', 'built-in'),
('default-3-losing-to-a-competitor',
 '{"name":"Losing more to a competitor","metric":"win_rate","per":"competitor","window_months":3,"comparison":{"against":"previous_window","change":-10.0,"unit":"points"},"min_sample":20,"action":"Review the recent losses to this competitor with sales and product: why buyers chose them, and what we answer.","owners":[],"receivers":[],"enabled":true}',
 '2026-11-27T00:00:00.000000Z', '2026-11-27T00:00:00.000000Z', 'built-in');
