ALTER TABLE sync_cursor DROP COLUMN pull_owner, DROP COLUMN pull_until;
