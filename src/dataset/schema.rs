//! The contract's SQLite schema: how it is created and how it is checked.

use rusqlite::Connection;

/// The contract's table, without its index.
macro_rules! create_table_sql {
    () => {
        "CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    actor_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    payload_offset INTEGER NOT NULL,
    payload_len INTEGER NOT NULL
);"
    };
}

/// The contract's index.
macro_rules! create_index_sql {
    () => {
        "CREATE INDEX idx_created_at ON audit_events(created_at);"
    };
}

/// The service's DDL (docs/contract.md, "Storage"): the table and its index.
pub const CREATE_SQL: &str = concat!(create_table_sql!(), "\n", create_index_sql!());

/// The table alone: the generator creates the index after the rows, one
/// sort instead of a random-order B-tree insert per row (which outgrows the
/// page cache and goes to disk at millions of rows). The stored DDL is the same.
pub const CREATE_TABLE_SQL: &str = create_table_sql!();

/// The index alone (see [`CREATE_TABLE_SQL`]).
pub const CREATE_INDEX_SQL: &str = create_index_sql!();

/// Inserts one row with an explicit id.
pub const INSERT_SQL: &str = "INSERT INTO audit_events
    (id, created_at, actor_id, action, resource_type, resource_id, payload_offset, payload_len)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

/// Every row in id order, in `RowMeta` column order.
pub const SELECT_ALL_SQL: &str =
    "SELECT id, created_at, actor_id, action, resource_type, resource_id, payload_offset, payload_len
    FROM audit_events ORDER BY id";

/// The contract's columns of `audit_events`, in order.
pub const COLUMN_NAMES: [&str; 8] = [
    "id",
    "created_at",
    "actor_id",
    "action",
    "resource_type",
    "resource_id",
    "payload_offset",
    "payload_len",
];

/// (name, declared type, not null, primary key position) of each contract column.
const COLUMNS: [(&str, &str, bool, i64); 8] = [
    ("id", "INTEGER", false, 1),
    ("created_at", "INTEGER", true, 0),
    ("actor_id", "INTEGER", true, 0),
    ("action", "TEXT", true, 0),
    ("resource_type", "TEXT", true, 0),
    ("resource_id", "TEXT", true, 0),
    ("payload_offset", "INTEGER", true, 0),
    ("payload_len", "INTEGER", true, 0),
];

/// Every way the database's schema differs from the contract (empty when it matches).
pub fn check(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut stmt = conn.prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info('audit_events')")?;
    let cols: Vec<(String, String, bool, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    if cols.is_empty() {
        problems.push("table audit_events is missing".to_string());
        return Ok(problems);
    }
    let want: Vec<(String, String, bool, i64)> = COLUMNS
        .iter()
        .map(|(n, t, nn, pk)| (n.to_string(), t.to_string(), *nn, *pk))
        .collect();
    if cols != want {
        let show = |v: &[(String, String, bool, i64)]| {
            v.iter()
                .map(|(n, t, nn, pk)| {
                    format!(
                        "{n} {t}{}{}",
                        if *nn { " NOT NULL" } else { "" },
                        if *pk > 0 { " PK" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        problems.push(format!(
            "table audit_events has columns ({}); the contract's are ({})",
            show(&cols),
            show(&want)
        ));
    }
    let autoinc: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_events' AND sql LIKE '%AUTOINCREMENT%'",
        [],
        |r| r.get(0),
    )?;
    if autoinc == 0 {
        problems.push("audit_events.id is not declared AUTOINCREMENT".to_string());
    }
    let index_cols: Vec<String> = conn
        .prepare("SELECT name FROM pragma_index_info('idx_created_at')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let on_table: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'idx_created_at' AND tbl_name = 'audit_events'",
        [],
        |r| r.get(0),
    )?;
    if on_table == 0 {
        problems.push("index idx_created_at on audit_events(created_at) is missing".to_string());
    } else if index_cols != ["created_at"] {
        problems.push(format!(
            "index idx_created_at covers ({}); the contract's covers (created_at)",
            index_cols.join(", ")
        ));
    }
    Ok(problems)
}
