-- tipline schema v1. Tip content is stored only sealed (AES-GCM under the report's data key);
-- nothing here holds a Telegram user id, chat id, name or username of a tipster in plaintext.

-- A tip being written. `owner` is a keyed hash of the tipster's user id (never the id).
CREATE TABLE drafts (
    owner        BLOB PRIMARY KEY,
    uid          TEXT NOT NULL UNIQUE,
    key_id       TEXT NOT NULL,
    wrapped_key  BLOB NOT NULL,
    step         TEXT NOT NULL,
    language     TEXT NOT NULL,
    sealed_state BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

-- Content pieces of a draft or a report (they share the uid): sealed JSON, maybe a sealed blob.
CREATE TABLE items (
    uid        TEXT NOT NULL,
    position   INTEGER NOT NULL,
    sealed     BLOB NOT NULL,
    blob_name  TEXT,
    PRIMARY KEY (uid, position)
) STRICT;

CREATE TABLE reports (
    id                 INTEGER PRIMARY KEY,
    uid                TEXT NOT NULL UNIQUE,
    reference          TEXT NOT NULL UNIQUE,
    year               INTEGER NOT NULL,
    seq                INTEGER NOT NULL,
    receipt_hash       BLOB NOT NULL UNIQUE,
    category           TEXT NOT NULL,
    alias              TEXT NOT NULL,
    language           TEXT NOT NULL,
    status             TEXT NOT NULL,
    key_id             TEXT,
    wrapped_key        BLOB,
    sealed_area        BLOB,
    sealed_contact     BLOB,
    review_chat_id     INTEGER NOT NULL,
    review_message_id  INTEGER,
    submitted_at       INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (year, seq)
) STRICT;

-- Messages to send, written in the same transaction as the change that causes them.
-- Staff chats are addressed by chat id; a tipster only through the report's sealed contact.
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    report_id          INTEGER REFERENCES reports (id) ON DELETE CASCADE,
    target             TEXT NOT NULL CHECK (target IN ('staff', 'tipster')),
    chat_id            INTEGER,
    kind               TEXT NOT NULL,
    sealed_payload     BLOB,
    not_before         INTEGER NOT NULL,
    status             TEXT NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'sent', 'failed', 'dropped')),
    parts_sent         INTEGER NOT NULL DEFAULT 0,
    anchor_message_id  INTEGER,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    created_at         INTEGER NOT NULL,
    finished_at        INTEGER,
    CHECK (target = 'tipster' OR chat_id IS NOT NULL)
) STRICT;
CREATE INDEX outbox_pending ON outbox (status, not_before) WHERE status = 'pending';

-- Counters for abuse control, keyed by a rotating pseudonym and a time window.
CREATE TABLE rate_counters (
    bucket   TEXT NOT NULL,
    subject  BLOB NOT NULL,
    window   TEXT NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (bucket, subject, window)
) STRICT;
