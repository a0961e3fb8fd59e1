-- One pull of an object at a time across the fleet: a pull leases its
-- object's cursor and renews the lease with every page; a pull asked for
-- meanwhile (a poll beside the first-sync job every worker enqueues at
-- start) finds it taken and leaves the object to it. A lease whose
-- process died runs out.
ALTER TABLE sync_cursor ADD COLUMN pull_owner text, ADD COLUMN pull_until timestamptz;
