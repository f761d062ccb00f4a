-- A verified tip's outcome: the police case it became, people arrested, seizures (drug and
-- weight in integer milligrams, as JSON [[drug, mg], ...]) and their heroin equivalent in
-- milligrams (computed with the policy of the day it was recorded), and a short note sealed
-- under the tip's data key. One row per tip, replaced on correction; every version is in the
-- tip's history and the audit chain. Tips of one case share its number.
CREATE TABLE outcomes (
    report_id     INTEGER PRIMARY KEY REFERENCES reports (id) ON DELETE CASCADE,
    case_number   TEXT NOT NULL,
    arrested      INTEGER NOT NULL CHECK (arrested >= 0),
    seizures      TEXT NOT NULL,
    heroin_eq_mg  INTEGER NOT NULL CHECK (heroin_eq_mg >= 0),
    sealed_note   BLOB,
    recorded_by   INTEGER NOT NULL,
    recorded_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX outcomes_case ON outcomes (case_number);
