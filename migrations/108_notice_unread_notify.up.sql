-- A change to a user's inbox (a notice added, read, or moved out of the
-- inbox) is announced at commit on portico_notice as "<tenant>:<user>",
-- so that every serve process drops its cached unread count of that user
-- (internal/notify, unread.go). Ids only, never data.
CREATE FUNCTION notice_unread_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('portico_notice', r.tenant_id || ':' || r.user_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER notice_unread_notify AFTER INSERT OR DELETE OR UPDATE OF read_at, inbox ON notice
    FOR EACH ROW EXECUTE FUNCTION notice_unread_notify();
