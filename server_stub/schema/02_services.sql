-- Services half of the platform: the sync feed, notices, feedback jobs, documents, downloads.
-- Applied after 01_core.sql; every statement is idempotent.

-- The sync feed (protocol §8): id is the server-wide cursor. taxpayer_id '*' = every
-- enterprise (a broadcast notice), so one indexed IN (?, '*') finds an enterprise's changes.
CREATE TABLE IF NOT EXISTS changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    taxpayer_id TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('declaration', 'notice', 'progress',
                                              'feedback_job', 'document', 'enterprise')),
    obj_id      TEXT NOT NULL,
    op          TEXT NOT NULL DEFAULT 'upsert' CHECK (op IN ('upsert', 'deleted')),
    at          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_taxpayer ON changes (taxpayer_id, id);

-- 退税提醒. taxpayer_id NULL = for every enterprise; read marks are per enterprise.
CREATE TABLE IF NOT EXISTS notices (
    id           TEXT PRIMARY KEY,
    taxpayer_id  TEXT,
    category     TEXT NOT NULL CHECK (category IN ('announcement', 'daily', 'annual',
                                                   'progress', 'policy')),
    subcategory  TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    published_at TEXT NOT NULL,
    -- computed 年度提醒 carry a key so that recomputing them does not duplicate them
    dedup_key    TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS notices_by_taxpayer ON notices (taxpayer_id, published_at DESC, id);
CREATE INDEX IF NOT EXISTS notices_by_time ON notices (published_at DESC, id);

CREATE TABLE IF NOT EXISTS notice_reads (
    notice_id   TEXT NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    taxpayer_id TEXT NOT NULL,
    read_at     TEXT NOT NULL,
    PRIMARY KEY (taxpayer_id, notice_id)
) WITHOUT ROWID;

-- 反馈下载 jobs (protocol §6).
CREATE TABLE IF NOT EXISTS feedback_jobs (
    id           TEXT PRIMARY KEY,
    taxpayer_id  TEXT NOT NULL,
    category     TEXT NOT NULL,
    type         TEXT NOT NULL,
    period       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('assembling', 'ready', 'failed', 'expired')),
    reason       TEXT,
    size         INTEGER,
    record_count INTEGER,
    sha256       TEXT,
    file_name    TEXT,
    created_at   TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    ready_at     TEXT,
    expires_at   TEXT
);
CREATE INDEX IF NOT EXISTS feedback_jobs_by_taxpayer
    ON feedback_jobs (taxpayer_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS feedback_jobs_by_status ON feedback_jobs (status);

-- 文书开具 (protocol §7): the rendered PDF is kept as a file under the data dir.
CREATE TABLE IF NOT EXISTS documents (
    id          TEXT PRIMARY KEY,
    taxpayer_id TEXT NOT NULL,
    type        TEXT NOT NULL,
    name        TEXT NOT NULL,
    period      TEXT,
    created_at  TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    file_name   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_taxpayer
    ON documents (taxpayer_id, created_at DESC, id DESC);

-- 下载专区. file_name is under DATA_DIR/downloads; NULL until generated on first request.
CREATE TABLE IF NOT EXISTS downloads (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    size         INTEGER,
    sha256       TEXT,
    file_name    TEXT,
    published_at TEXT NOT NULL,
    recipe       TEXT  -- JSON parameters of a file made on first request (sample packages)
);
CREATE INDEX IF NOT EXISTS downloads_by_time ON downloads (published_at DESC, id);

-- 已申报过商品 and the name search of the queries: one pass over this index answers the
-- grouped query (count, last period) and finds the codes whose name matches; formal
-- declarations' lines only, like the other indexes of declaration_lines (01_core.sql).
DROP INDEX IF EXISTS declaration_lines_by_code_name;
CREATE INDEX IF NOT EXISTS declaration_lines_formal_by_code_name
    ON declaration_lines (taxpayer_id, commodity_code, period, commodity_name, formal)
    WHERE formal = 1;
