-- Scores clicked in the email. Mail gateways open every link of an email, so a click is
-- only a provisional score: it never becomes, and never changes, a confirmed answer (an
-- answer the buyer sends from the page). An invitation whose clicks disagree (a scanner
-- opening all eleven links) has no provisional score at all.
create table score_clicks (
    invitation_id text not null references invitations (id),
    score         bigint not null check (score between 0 and 10),
    clicked_at    text not null
);
create index score_clicks_by_invitation on score_clicks (invitation_id);
