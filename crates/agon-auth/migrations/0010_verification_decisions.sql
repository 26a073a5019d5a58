-- The face service's decisions: why a request was rejected, and when its photo was last sent to be decided (a
-- request still pending long after is sent again; requests from before the face service have none yet). A decided
-- request's photo is dropped: the decision is what is kept.
alter table verification_requests add column reason text;
alter table verification_requests add column announced_at text;
