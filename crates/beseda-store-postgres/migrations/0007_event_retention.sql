-- The event log is pruned beyond its retention; replay from before the pruned mark must resync.
INSERT INTO counters (name, value) VALUES ('events_pruned_through', 0);
CREATE INDEX events_created ON events (created_at);
