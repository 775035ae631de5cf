-- Job leases: the runner that holds a job renews `heartbeat_at`; only a job whose lease has
-- lapsed (its runner is gone) is recovered by another process.
ALTER TABLE provisioner_jobs ADD COLUMN heartbeat_at TEXT;
UPDATE provisioner_jobs SET heartbeat_at = updated_at WHERE status IN ('running', 'canceling');
