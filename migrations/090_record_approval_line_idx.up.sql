-- An approval request's lines (GET /api/v1/approvals/{id}, the approval page).
CREATE INDEX record_approval_line_idx ON record (tenant_id, (data->'fields'->>'approval_id'))
    WHERE object = 'approval_line' AND deleted_at IS NULL AND NOT hidden;
