-- name: TenantBySlug :one
SELECT * FROM tenant WHERE slug = $1;

-- name: TenantCreate :one
INSERT INTO tenant (slug, name) VALUES ($1, $2) RETURNING *;
