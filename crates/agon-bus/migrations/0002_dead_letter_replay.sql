alter table dead_letters add column replay_requested_at text;
