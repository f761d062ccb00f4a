-- Rewards: proposals, four-eyes approvals, claim codes, payouts; durable schedules.
-- Money is integer minor units (fen for CNY). Claim codes exist only as a keyed hash and,
-- for the tipster, sealed to a public key derived from their receipt (which is never stored).

ALTER TABLE reports ADD COLUMN receipt_box BLOB;
ALTER TABLE reports ADD COLUMN verified_at INTEGER;
ALTER TABLE staff_prompts ADD COLUMN payload TEXT;

CREATE TABLE rewards (
    id                    INTEGER PRIMARY KEY,
    report_id             INTEGER NOT NULL REFERENCES reports (id),
    status                TEXT NOT NULL
                          CHECK (status IN ('proposed', 'refused', 'offered', 'paid', 'expired')),
    tier                  TEXT NOT NULL,
    amount_minor          INTEGER NOT NULL CHECK (amount_minor > 0),
    currency              TEXT NOT NULL,
    proposer_id           INTEGER NOT NULL,
    proposed_at           INTEGER NOT NULL,
    sealed_justification  BLOB,
    finance_chat_id       INTEGER NOT NULL,
    finance_message_id    INTEGER,
    refused_by            INTEGER,
    refused_at            INTEGER,
    sealed_refusal        BLOB,
    approved_at           INTEGER,
    code_hash             BLOB UNIQUE,
    code_for_receipt      BLOB,
    offered_at            INTEGER,
    expires_at            INTEGER,
    paid_by               INTEGER,
    paid_at               INTEGER,
    payout_reference      TEXT,
    id_checked            INTEGER,
    expired_at            INTEGER
) STRICT;
-- One reward per case: a refused proposal may be followed by another, nothing else may.
CREATE UNIQUE INDEX rewards_one_per_report ON rewards (report_id) WHERE status != 'refused';
CREATE INDEX rewards_month ON rewards (proposed_at);

CREATE TABLE reward_approvals (
    reward_id    INTEGER NOT NULL REFERENCES rewards (id),
    approver_id  INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (reward_id, approver_id)
) STRICT;

-- Due times of scheduled work. A sweeper claims due rows with a compare-and-set update, so a
-- restart loses none and two sweepers never run one twice.
CREATE TABLE schedules (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    report_id   INTEGER REFERENCES reports (id) ON DELETE CASCADE,
    reward_id   INTEGER REFERENCES rewards (id),
    due_at      INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'cancelled')),
    done_at     INTEGER
) STRICT;
CREATE INDEX schedules_due ON schedules (due_at) WHERE status = 'pending';
