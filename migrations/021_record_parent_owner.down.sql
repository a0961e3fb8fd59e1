ALTER TABLE record DROP COLUMN owner_parent_object, DROP COLUMN owner_parent_id;
