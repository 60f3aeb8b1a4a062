#!/usr/bin/env python3
"""An audit-log listing engine in Python (standard library only) that speaks
the harness's process protocol v1 (docs/protocol.md):

    audit-harness --engine-command 'py=python3 examples/python-engine/engine.py' equiv --engines py

It answers exactly as the baseline does (DESIGN.md sections 2 and 3): the
reference SQL with bound parameters, SQLite's LIMIT/OFFSET rules for pages and
page sizes outside the domain included, then every returned payload read from
payloads.jsonl by offset and length and decoded, on every request.

Requests are served by a pool of MAX_IN_FLIGHT threads (4, or the
AUDIT_PY_MAX_IN_FLIGHT environment variable), each with its own read-only
SQLite connection, so answers may leave in another order than the requests
came; the harness matches them by id.
"""

import json
import math
import os
import queue
import sqlite3
import sys
import threading
from urllib.parse import quote

PROTOCOL = 1
MAX_IN_FLIGHT = int(os.environ.get("AUDIT_PY_MAX_IN_FLIGHT", "4"))
# The contract's order. wrong_ties.py passes another one on purpose.
ORDER_BY = "created_at DESC, id DESC"
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


def reference_sql(order_by):
    """The service's query (DESIGN.md section 2), with `order_by` as its ORDER BY."""
    return (
        "SELECT id, created_at, actor_id, action, resource_type, resource_id, payload_offset, payload_len\n"
        "FROM audit_events\n"
        "WHERE created_at BETWEEN ? AND ? AND (? IS NULL OR actor_id = ?) AND (? IS NULL OR action = ?)\n"
        f"ORDER BY {order_by} LIMIT ? OFFSET ?"
    )


def saturate(x):
    """Clamps to a 64-bit signed integer, as the service's saturating arithmetic does."""
    return max(I64_MIN, min(I64_MAX, x))


def finite_float(text):
    """JSON numbers too large for a double are an error, as they are for the baseline."""
    x = float(text)
    if math.isinf(x):
        raise ValueError(f"number out of range: {text}")
    return x


def no_constants(name):
    raise ValueError(f"not JSON: {name}")


class Engine:
    """The dataset in one directory: audit.db and payloads.jsonl."""

    def __init__(self, data_dir, order_by=ORDER_BY):
        self.db = os.path.join(data_dir, "audit.db")
        self.payloads = os.path.join(data_dir, "payloads.jsonl")
        if not os.path.isfile(self.db):
            raise FileNotFoundError(f"{self.db}: no such file")
        self.sql = reference_sql(order_by)
        self.local = threading.local()

    def connection(self):
        """This thread's read-only connection (each statement sees the latest commit)."""
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{quote(self.db)}?mode=ro", uri=True)
            self.local.conn = conn
        return conn

    def query(self, q):
        """The page for query `q` (a dict with the protocol's request fields)."""
        from_ts, to_ts = integer(q, "from_ts"), integer(q, "to_ts")
        page, page_size = integer(q, "page"), integer(q, "page_size")
        actor = q.get("actor_id")
        if actor is not None:
            actor = integer(q, "actor_id")
        action = q.get("action")
        if action is not None and not isinstance(action, str):
            raise ValueError(f"action is {action!r}; expected a string or null")
        offset = saturate(saturate(page - 1) * page_size)
        rows = self.connection().execute(
            self.sql, (from_ts, to_ts, actor, actor, action, action, page_size, offset)
        ).fetchall()
        events = []
        if not rows:
            return events
        with open(self.payloads, "rb") as f:
            fd = f.fileno()
            for row_id, created_at, actor_id, act, rtype, rid, off, length in rows:
                if off < 0 or length < 0:
                    raise ValueError(f"corrupt payload for row {row_id}: negative payload range {off}+{length}")
                raw = os.pread(fd, length, off)
                if len(raw) != length:
                    raise ValueError(
                        f"corrupt payload for row {row_id}: read {len(raw)} of {length} bytes at offset {off}"
                    )
                try:
                    payload = json.loads(raw, parse_float=finite_float, parse_constant=no_constants)
                except ValueError as e:
                    raise ValueError(f"corrupt payload for row {row_id}: payload is not JSON: {e}") from None
                events.append(
                    {
                        "id": row_id,
                        "created_at": created_at,
                        "actor_id": actor_id,
                        "action": act,
                        "resource_type": rtype,
                        "resource_id": rid,
                        "payload": payload,
                    }
                )
        return events


def integer(q, key):
    v = q.get(key)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{key} is {v!r}; expected an integer")
    return v


def dumps(obj):
    return (json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n").encode()


def answer(engine, line):
    """The answer line for one request line."""
    request = json.loads(line)
    rid = request["id"]
    try:
        events = engine.query(request)
        return dumps({"id": rid, "count": len(events), "events": events})
    except Exception as e:  # any failure is this request's error, not the process's
        return dumps({"id": rid, "error": f"{type(e).__name__}: {e}"})


def main(order_by=ORDER_BY, name="python-sqlite"):
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def send(obj):
        stdout.write(dumps(obj))
        stdout.flush()

    try:
        hello = json.loads(stdin.readline())["hello"]
        version, data_dir = hello["protocol"], hello["data_dir"]
    except (ValueError, KeyError, TypeError) as e:
        print(f"{name}: expected a hello line: {e}", file=sys.stderr)
        return 2
    if version != PROTOCOL:
        send({"ready": False, "error": f"protocol {version} is not spoken here; this engine speaks {PROTOCOL}"})
        return 2
    try:
        engine = Engine(data_dir, order_by)
    except Exception as e:
        send({"ready": False, "error": f"{type(e).__name__}: {e}"})
        return 2
    send({"ready": True, "name": name, "version": "1", "max_in_flight": MAX_IN_FLIGHT})

    jobs = queue.Queue()
    out = threading.Lock()

    def serve():
        while True:
            line = jobs.get()
            if line is None:
                return
            try:
                text = answer(engine, line)
            except (ValueError, KeyError, TypeError) as e:
                # Not a request at all: the harness never sends one, so stop loudly.
                print(f"{name}: not a request line ({e}): {line[:200]!r}", file=sys.stderr)
                os._exit(3)
            with out:
                stdout.write(text)
                stdout.flush()

    pool = [threading.Thread(target=serve, daemon=True) for _ in range(MAX_IN_FLIGHT)]
    for t in pool:
        t.start()
    for line in stdin:  # end of input means shut down
        jobs.put(line)
    for _ in pool:
        jobs.put(None)
    for t in pool:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
