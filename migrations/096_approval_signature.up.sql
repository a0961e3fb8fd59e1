-- Approvals and e-signature (internal/approval).
--
-- approval_state is where a request stands in its life: requested ->
-- viewed -> approved | rejected | expired, or withdrawn by staff at the
-- source (the quote went back to draft). The source's status is the
-- truth for decisions; this row adds what the source does not know (that
-- the customer opened it, who decided, when) and is what each audited
-- transition moves. One row per request.
CREATE TABLE approval_state (
    tenant_id  bigint      NOT NULL REFERENCES tenant (id),
    connection text        NOT NULL,
    object     text        NOT NULL,
    record_id  text        NOT NULL,
    state      text        NOT NULL
               CHECK (state IN ('requested', 'viewed', 'approved', 'rejected', 'expired', 'withdrawn')),
    viewed_at  timestamptz,
    viewed_by  text,       -- portal user id, the first to open it
    decided_at timestamptz,
    decided_by text,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, connection, object, record_id)
);

-- A signature: the sealed PDF (a file) and the evidence it carries, kept
-- beside it so staff can find it without opening the PDF. The evidence
-- holds personal data (name, email, IP, user agent) and so lives here,
-- never in the audit log, which names the signature by id and hash only.
CREATE TABLE signature (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint      NOT NULL REFERENCES tenant (id),
    connection      text        NOT NULL,
    object          text        NOT NULL,
    record_id       text        NOT NULL,
    file_id         bigint      NOT NULL REFERENCES file (id),
    signer_user_id  text        NOT NULL,
    document_sha256 bytea       NOT NULL, -- the PDF the signer was shown
    sealed_sha256   bytea       NOT NULL, -- the sealed PDF as stored
    consent_version text        NOT NULL,
    evidence        jsonb       NOT NULL,
    signed_at       timestamptz NOT NULL
);

CREATE INDEX signature_record_idx ON signature (tenant_id, connection, object, record_id, id);
