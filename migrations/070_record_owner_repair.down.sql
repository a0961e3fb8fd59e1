-- The repair only set owners the records derive; there is nothing to undo.
SELECT 1;
