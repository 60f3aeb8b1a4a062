"""The audit-log listing endpoint as the production service writes it: one
module-level function, `handle_request(query)`, with the standard library's
sqlite3 and json. A faithful Python baseline (docs/contract.md): a new SQLite
connection per request, the reference SQL with LIMIT/OFFSET, and each
returned row's payload read from payloads.jsonl at its offset and length, and
decoded, on every request.

Gate it with the shipped adapter (no protocol code here):

    audit-harness --engine-command \
        'svc=python3 adapters/python_module.py examples/python-service/audit_log_service.py:handle_request' \
        equiv --engines svc

The dataset directory: the adapter calls `configure(data_dir)` once before
the first request; run any other way, the module falls back to the
AUDIT_DATA_DIR environment variable (which the harness sets as well).
"""

import json
import os
import sqlite3
from collections import namedtuple

Query = namedtuple("Query", ["from_ts", "to_ts", "actor_id", "action", "page", "page_size"])

DATA_DIR = os.environ.get("AUDIT_DATA_DIR", "data/default")

SQL = """
SELECT id, created_at, actor_id, action, resource_type, resource_id, payload_offset, payload_len
FROM audit_events
WHERE created_at BETWEEN ? AND ? AND (? IS NULL OR actor_id = ?) AND (? IS NULL OR action = ?)
ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?
"""

I64_MIN, I64_MAX = -(2**63), 2**63 - 1


def configure(data_dir):
    """Called once by the adapter with the harness's dataset directory."""
    global DATA_DIR
    if not os.path.isfile(os.path.join(data_dir, "audit.db")):
        raise FileNotFoundError(f"no audit.db in {data_dir}")
    DATA_DIR = data_dir


def saturate(x):
    # SQLite takes 64-bit integers; the baseline's page arithmetic saturates
    # there (only pages far outside the input domain get that far).
    return max(I64_MIN, min(I64_MAX, x))


def read_payload(row_id, offset, length):
    """The row's payload line, opened, read and decoded on every request."""
    with open(os.path.join(DATA_DIR, "payloads.jsonl"), "rb") as f:
        f.seek(offset)
        raw = f.read(length)
    if len(raw) != length:
        raise ValueError(f"corrupt payload for row {row_id}: read {len(raw)} of {length} bytes at offset {offset}")
    return json.loads(raw)


def handle_request(query):
    """One page of the audit log: `query` is a dict (or a Query) of the contract's six fields."""
    if isinstance(query, dict):
        query = Query(**query)
    offset = saturate(saturate(query.page - 1) * query.page_size)
    conn = sqlite3.connect(os.path.join(DATA_DIR, "audit.db"))
    try:
        rows = conn.execute(
            SQL,
            (
                query.from_ts,
                query.to_ts,
                query.actor_id,
                query.actor_id,
                query.action,
                query.action,
                query.page_size,
                offset,
            ),
        ).fetchall()
    finally:
        conn.close()
    events = []
    for row_id, created_at, actor_id, action, resource_type, resource_id, payload_offset, payload_len in rows:
        events.append(
            {
                "id": row_id,
                "created_at": created_at,
                "actor_id": actor_id,
                "action": action,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "payload": read_payload(row_id, payload_offset, payload_len),
            }
        )
    return {"count": len(events), "events": events}
