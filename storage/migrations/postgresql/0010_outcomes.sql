-- PostgreSQL's 0010_outcomes.sql: the same schema as ../0010_outcomes.sql (BYTEA for BLOB, BIGINT for
-- INTEGER, identity columns for row ids).
-- A verified tip's outcome: the police case it became, people arrested, seizures (drug and
-- weight in integer milligrams, as JSON [[drug, mg], ...]) and their heroin equivalent in
-- milligrams (computed with the policy of the day it was recorded), and a short note sealed
-- under the tip's data key. One row per tip, replaced on correction; every version is in the
-- tip's history and the audit chain. Tips of one case share its number.
CREATE TABLE outcomes (
    report_id     BIGINT PRIMARY KEY REFERENCES reports (id) ON DELETE CASCADE,
    case_number   TEXT NOT NULL,
    arrested      BIGINT NOT NULL CHECK (arrested >= 0),
    seizures      TEXT NOT NULL,
    heroin_eq_mg  BIGINT NOT NULL CHECK (heroin_eq_mg >= 0),
    sealed_note   BYTEA,
    recorded_by   BIGINT NOT NULL,
    recorded_at   BIGINT NOT NULL
);
CREATE INDEX outcomes_case ON outcomes (case_number);
