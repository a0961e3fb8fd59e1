-- The source paths the mapping read when the object's stored payloads were
-- last pulled in full. A mapping that reads a path not in this list needs a
-- full re-pull: the stored payloads lack the new field, and a re-map
-- cannot add it. NULL: not known yet (set at the next successful run).
ALTER TABLE sync_cursor ADD COLUMN source_paths text[];
