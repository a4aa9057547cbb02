-- Core of the platform: enterprises and their login, e-info, the rate library,
-- declarations with their lines, doubts and attachments, and the audit queue.
-- Every statement is idempotent. Money, quantities and rates are TEXT decimals.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS enterprises (
    taxpayer_id          TEXT PRIMARY KEY,
    credit_code          TEXT NOT NULL UNIQUE,
    customs_code         TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('manufacturer', 'trader')),
    management_class     TEXT NOT NULL,
    -- normal | suspended | filing_withdrawn | waived | exempt_choice | tax_choice | not_filed
    state                TEXT NOT NULL DEFAULT 'normal',
    filing_date          TEXT,               -- 出口退(免)税备案 date; NULL = not filed
    filing_is_today      INTEGER NOT NULL DEFAULT 0,  -- demo: the 备案 always dates "today"
    tax_office           TEXT NOT NULL,
    tax_office_phone     TEXT NOT NULL,
    bank_name            TEXT NOT NULL,
    bank_account         TEXT NOT NULL,      -- the initial password is its last 8 characters
    contact_name         TEXT NOT NULL,
    contact_phone        TEXT NOT NULL,
    sections             TEXT NOT NULL,      -- JSON: basic/extended/config/collection/credit
    waived_periods       TEXT NOT NULL DEFAULT '[]',  -- JSON [[from, to|null], ...]
    feedback_key_id      TEXT NOT NULL,
    feedback_key         TEXT NOT NULL,
    password_hash        TEXT NOT NULL,      -- scrypt$n$r$p$salt$hash
    must_change_password INTEGER NOT NULL DEFAULT 1
);

-- Sessions survive a restart (only a hash of the token is stored).
CREATE TABLE IF NOT EXISTS sessions (
    token_hash  TEXT PRIMARY KEY,
    taxpayer_id TEXT NOT NULL REFERENCES enterprises (taxpayer_id),
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_taxpayer ON sessions (taxpayer_id);

-- Failed logins per enterprise ('ent:<taxpayer_id>') or per unknown name ('name:<account>').
CREATE TABLE IF NOT EXISTS login_failures (
    subject      TEXT PRIMARY KEY,
    count        INTEGER NOT NULL,
    first_at     TEXT NOT NULL,
    locked_until TEXT
) WITHOUT ROWID;

-- 出口报关单电子信息
CREATE TABLE IF NOT EXISTS customs (
    taxpayer_id         TEXT NOT NULL,
    entry_no            TEXT NOT NULL,
    item_no             INTEGER NOT NULL,
    export_date         TEXT NOT NULL,
    commodity_code      TEXT NOT NULL,
    commodity_name      TEXT NOT NULL,
    unit                TEXT NOT NULL,
    quantity            TEXT NOT NULL,
    fob_usd             TEXT NOT NULL,
    trade_mode          TEXT NOT NULL,
    transport_mode      TEXT NOT NULL,
    destination_country TEXT NOT NULL,
    PRIMARY KEY (taxpayer_id, entry_no, item_no)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS customs_by_date ON customs (taxpayer_id, export_date);

-- 增值税专用发票 / 数电票 electronic information (invoice_code '' for a 数电票)
CREATE TABLE IF NOT EXISTS invoices (
    taxpayer_id        TEXT NOT NULL,
    invoice_code       TEXT NOT NULL,
    invoice_no         TEXT NOT NULL,
    issue_date         TEXT NOT NULL,
    seller_taxpayer_id TEXT NOT NULL,
    commodity_code     TEXT NOT NULL,
    commodity_name     TEXT NOT NULL,
    unit               TEXT NOT NULL,
    quantity           TEXT NOT NULL,
    amount             TEXT NOT NULL,
    tax_rate           TEXT NOT NULL,
    tax                TEXT NOT NULL,
    PRIMARY KEY (taxpayer_id, invoice_code, invoice_no)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS invoices_by_date ON invoices (taxpayer_id, issue_date);

-- 增值税纳税申报: a row = the period's return is filed
CREATE TABLE IF NOT EXISTS vat_returns (
    taxpayer_id    TEXT NOT NULL,
    period         TEXT NOT NULL,
    closing_credit TEXT NOT NULL,   -- 期末留抵税额
    PRIMARY KEY (taxpayer_id, period)
) WITHOUT ROWID;

-- 外汇人民币折合率, one a month
CREATE TABLE IF NOT EXISTS exchange_rates (
    period  TEXT PRIMARY KEY,
    usd_cny TEXT NOT NULL
) WITHOUT ROWID;

-- 出口退税率文库
CREATE TABLE IF NOT EXISTS rate_rows (
    commodity_code TEXT NOT NULL,
    name           TEXT NOT NULL,
    category       TEXT NOT NULL,
    unit           TEXT NOT NULL,
    vat_rate       TEXT NOT NULL,   -- the 征税率 set, "0.13" or "0.13,0.09"
    refund_rate    TEXT NOT NULL,
    valid_from     TEXT NOT NULL,
    valid_to       TEXT NOT NULL,
    special_flag   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (commodity_code, valid_from)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS rate_meta (
    id                     INTEGER PRIMARY KEY CHECK (id = 1),
    version                TEXT NOT NULL,
    published_at           TEXT NOT NULL,
    commodity_code_version TEXT NOT NULL
);

-- 申报 (one uploaded package). Times are ISO text with offset.
CREATE TABLE IF NOT EXISTS declarations (
    id                TEXT PRIMARY KEY,
    taxpayer_id       TEXT NOT NULL REFERENCES enterprises (taxpayer_id),
    stage             TEXT NOT NULL CHECK (stage IN ('pre', 'formal')),
    business_code     TEXT NOT NULL,
    business_name     TEXT NOT NULL,
    period            TEXT NOT NULL,
    batch             TEXT NOT NULL,
    file_name         TEXT NOT NULL,
    size              INTEGER NOT NULL,
    sha256            TEXT NOT NULL,
    stored_name       TEXT NOT NULL,   -- the package under DATA_DIR/packages
    uploaded_at       TEXT NOT NULL,
    record_count      INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('queued', 'auditing', 'audited',
                        'rejected', 'converted', 'pending_confirm', 'confirmed', 'accepted',
                        'approved', 'refused', 'withdrawn')),
    result            INTEGER,
    doubt_total       INTEGER,
    doubt_blocking    INTEGER,
    amounts           TEXT,            -- JSON (protocol §5.4)
    declared_refund   TEXT,            -- amounts.refund, for sums
    approved_refund   TEXT,
    reject_code       TEXT,
    reject_text       TEXT,
    source_id         TEXT,
    formal_id         TEXT,
    audit_started_at  TEXT,
    audited_at        TEXT,
    audit_seconds     REAL,
    confirmed_at      TEXT,
    accepted_at       TEXT,
    approved_at       TEXT,
    refused_at        TEXT,
    refuse_reason     TEXT,
    withdrawn_at      TEXT,
    feedback_name     TEXT             -- the stored 预审核反馈 zip, made on first request
);
CREATE INDEX IF NOT EXISTS declarations_by_taxpayer
    ON declarations (taxpayer_id, stage, uploaded_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS declarations_by_sha ON declarations (taxpayer_id, sha256);
CREATE INDEX IF NOT EXISTS declarations_by_key
    ON declarations (taxpayer_id, business_code, period, batch);
CREATE INDEX IF NOT EXISTS declarations_by_status ON declarations (status);
CREATE INDEX IF NOT EXISTS declarations_by_audit_time ON declarations (audited_at);

-- One row per declared detail line (the main table's rows), for queries and approval.
CREATE TABLE IF NOT EXISTS declaration_lines (
    declaration_id  TEXT NOT NULL REFERENCES declarations (id) ON DELETE CASCADE,
    taxpayer_id     TEXT NOT NULL,
    period          TEXT NOT NULL,
    batch           TEXT NOT NULL,
    seq             TEXT NOT NULL,   -- 申报序号, 4+ digits
    tbl             TEXT NOT NULL,
    entry_no        TEXT NOT NULL,
    item_no         INTEGER,
    commodity_code  TEXT NOT NULL,
    commodity_name  TEXT NOT NULL,
    unit            TEXT NOT NULL,
    quantity        TEXT NOT NULL,
    fob_usd         TEXT NOT NULL,
    refund_rate     TEXT NOT NULL,
    declared_refund TEXT NOT NULL,
    blocking        INTEGER NOT NULL,
    approved        INTEGER,         -- NULL 未审核, 1 审核通过, 0 审核不通过
    approved_refund TEXT,
    -- 1 = a formal declaration's line (a declaration's stage never changes); only these
    -- can be claims, and pre-declarations are re-uploaded many times
    formal          INTEGER NOT NULL CHECK (formal IN (0, 1)),
    PRIMARY KEY (declaration_id, seq)
) WITHOUT ROWID;
-- Every query across declarations reads formal declarations' lines only (综合查询, the
-- claims of duplicate-declaration checks, reminders); pre-declarations are re-uploaded
-- many times and their lines are read by declaration (the primary key) alone, so the
-- other indexes are partial and an audited pre-declaration writes none of them (the code
-- index is in 02_services.sql). ``formal`` ends a partial index's columns where queries
-- count on it covering them: SQLite does not count the index's WHERE as a column.
DROP INDEX IF EXISTS declaration_lines_by_entry;
DROP INDEX IF EXISTS declaration_lines_by_period;
DROP INDEX IF EXISTS declaration_lines_by_code;
CREATE INDEX IF NOT EXISTS declaration_lines_formal_by_entry
    ON declaration_lines (taxpayer_id, entry_no, item_no) WHERE formal = 1;
CREATE INDEX IF NOT EXISTS declaration_lines_formal_by_period
    ON declaration_lines (taxpayer_id, period DESC, seq, formal) WHERE formal = 1;

-- 进货凭证 amounts a declaration claims (外贸企业 mts_jhmx), for declared_amount_so_far.
CREATE TABLE IF NOT EXISTS declaration_invoices (
    declaration_id TEXT NOT NULL REFERENCES declarations (id) ON DELETE CASCADE,
    taxpayer_id    TEXT NOT NULL,
    voucher_no     TEXT NOT NULL,
    amount         TEXT NOT NULL,
    formal         INTEGER NOT NULL CHECK (formal IN (0, 1))  -- as in declaration_lines
);
DROP INDEX IF EXISTS declaration_invoices_by_voucher;
CREATE INDEX IF NOT EXISTS declaration_invoices_by_declaration
    ON declaration_invoices (declaration_id);
CREATE INDEX IF NOT EXISTS declaration_invoices_formal_by_voucher
    ON declaration_invoices (taxpayer_id, voucher_no) WHERE formal = 1;

-- 疑点, in the audit's order (ord).
CREATE TABLE IF NOT EXISTS doubts (
    declaration_id TEXT NOT NULL REFERENCES declarations (id) ON DELETE CASCADE,
    ord            INTEGER NOT NULL,
    seq            TEXT,
    tbl            TEXT NOT NULL,
    code           TEXT NOT NULL,
    level          TEXT NOT NULL,
    passable       INTEGER NOT NULL,
    object         TEXT NOT NULL,
    field          TEXT NOT NULL,
    message        TEXT NOT NULL,
    hint           TEXT NOT NULL,
    PRIMARY KEY (declaration_id, ord)
) WITHOUT ROWID;

-- 附列资料 (formal declarations)
CREATE TABLE IF NOT EXISTS attachments (
    id             TEXT PRIMARY KEY,
    declaration_id TEXT NOT NULL REFERENCES declarations (id) ON DELETE CASCADE,
    category       TEXT NOT NULL,
    file_name      TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    stored_name    TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attachments_by_declaration ON attachments (declaration_id, created_at);

-- The audit queue across all enterprises (审核排位 = rank by seq among queued rows).
-- worker is set while a worker process holds the row and cleared at start-up, so an
-- interrupted audit (declaration status 'auditing') is taken again, first.
CREATE TABLE IF NOT EXISTS queue (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    declaration_id TEXT NOT NULL UNIQUE REFERENCES declarations (id) ON DELETE CASCADE,
    state          TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'auditing')),
    worker         TEXT
);
CREATE INDEX IF NOT EXISTS queue_by_state ON queue (state, seq);

