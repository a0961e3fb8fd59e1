-- An action's created_at came from clock_timestamp() and its updated_at
-- from now(), the start of the transaction, so a fresh action looked
-- updated before it was created. statement_timestamp() is one value for
-- the whole INSERT, so both columns start equal; the transitions
-- (internal/store/queries/action.sql) use clock_timestamp(), which is
-- read after the row they change was committed and so is never earlier.
ALTER TABLE action
    ALTER COLUMN created_at SET DEFAULT statement_timestamp(),
    ALTER COLUMN updated_at SET DEFAULT statement_timestamp();
