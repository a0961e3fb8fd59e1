-- name: NotificationPreferenceGet :one
SELECT * FROM notification_preference WHERE tenant_id = @tenant_id AND user_id = @user_id;

-- name: NotificationPreferencePut :one
INSERT INTO notification_preference AS p (user_id, tenant_id, email, case_updates, order_updates, invoice_issued, approvals)
VALUES (@user_id, @tenant_id, @email, @case_updates, @order_updates, @invoice_issued, @approvals)
ON CONFLICT (user_id) DO UPDATE SET
    email = excluded.email, case_updates = excluded.case_updates, order_updates = excluded.order_updates,
    invoice_issued = excluded.invoice_issued, approvals = excluded.approvals, updated_at = now()
WHERE p.tenant_id = excluded.tenant_id
RETURNING *;
