-- The circuit breaker's shared signal, one row per connection. Each process
-- keeps its own breaker (gobreaker); when one opens, the process records
-- the trip here and every other process stops calling the source until
-- open_until. Then one process at a time, across the fleet, holds the
-- probe (probe_by until probe_until) and sends the one trial call: its
-- success closes the row, its failure trips it again. The trigger tells
-- every process at commit, on channel portico_breaker, which connection's
-- row changed state; a process also reads the row again at least once per
-- breaker.open_timeout, so a missed notification delays it by at most that.
CREATE TABLE source_breaker (
    connection  text PRIMARY KEY,
    state       text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open')),
    tripped_by  text,
    tripped_at  timestamptz,
    open_until  timestamptz,
    probe_by    text,
    probe_until timestamptz,
    closed_by   text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION source_breaker_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('portico_breaker', NEW.connection);
    RETURN NULL;
END
$$;

CREATE TRIGGER source_breaker_insert AFTER INSERT ON source_breaker
    FOR EACH ROW EXECUTE FUNCTION source_breaker_notify();
-- Taking or releasing the probe tells nobody anything.
CREATE TRIGGER source_breaker_update AFTER UPDATE ON source_breaker
    FOR EACH ROW
    WHEN ((OLD.state, OLD.open_until, OLD.tripped_by) IS DISTINCT FROM (NEW.state, NEW.open_until, NEW.tripped_by))
    EXECUTE FUNCTION source_breaker_notify();

-- Idle polling (sync.interval 0: from each object's freshness): how many
-- polls in a row found nothing, and when the object is next due. A poll
-- that finds a change, and any webhook or refresh of the object, set
-- idle_polls back to 0 and next_poll_at to NULL (due at once).
ALTER TABLE sync_cursor ADD COLUMN idle_polls integer NOT NULL DEFAULT 0,
                        ADD COLUMN next_poll_at timestamptz;
