-- The review desk: who holds a tip, its history, questions to the tipster, the audit chain.
-- Staff are accountable, so their Telegram ids are stored; never their names or usernames.

ALTER TABLE reports ADD COLUMN holder_id INTEGER;
ALTER TABLE reports ADD COLUMN duplicate_of INTEGER REFERENCES reports (id);
CREATE INDEX reports_open ON reports (status, submitted_at);
CREATE INDEX reports_chat ON reports (review_chat_id, status);

-- Every transition and internal note. The reason or note text is sealed with the tip's key.
CREATE TABLE report_events (
    id            INTEGER PRIMARY KEY,
    report_id     INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    actor_id      INTEGER NOT NULL,
    action        TEXT NOT NULL,
    from_status   TEXT,
    to_status     TEXT,
    sealed_text   BLOB
) STRICT;
CREATE INDEX report_events_report ON report_events (report_id, id);

-- A question relayed to a tipster. The token in the tipster's Reply button is stored hashed.
CREATE TABLE questions (
    id           INTEGER PRIMARY KEY,
    report_id    INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL UNIQUE,
    asked_by     INTEGER NOT NULL,
    asked_at     INTEGER NOT NULL,
    answered_at  INTEGER
) STRICT;

-- A tipster answering a question: their messages go to the answer until it ends.
-- `owner` is the same keyed hash of the user id that finds drafts.
CREATE TABLE answer_sessions (
    owner        BLOB PRIMARY KEY,
    question_id  INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    expires_at   INTEGER NOT NULL
) STRICT;

-- Prompts the bot sent in a staff chat that wait for a reply (a question, a duplicate's original).
CREATE TABLE staff_prompts (
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    report_id    INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    actor_id     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id)
) STRICT;

-- Append-only audit chain: each row's MAC covers its content and the previous row's MAC.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER NOT NULL,
    action      TEXT NOT NULL,
    report_ref  TEXT,
    details     TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    prev_mac    BLOB NOT NULL,
    mac         BLOB NOT NULL
) STRICT;
