"""The service's own seeding, as docs/contract.md ("The default dataset") describes it, for the
byte-identity test: CPython's random and json write the reference dataset.

usage: service_seed.py OUT_DIR ROWS NOW [SEED]
"""
import json
import os
import random
import sqlite3
import sys

ACTIONS = ["LOGIN", "LOGOUT", "UPDATE", "DELETE", "CREATE", "EXPORT"]
TYPES = ["ORDER", "USER", "PRODUCT", "INVOICE", "WAREHOUSE"]


def seed(out, rows, now, seed=1337):
    rng = random.Random(seed)
    conn = sqlite3.connect(os.path.join(out, "audit.db"))
    conn.execute(
        "CREATE TABLE audit_events (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL, "
        "actor_id INTEGER NOT NULL, action TEXT NOT NULL, resource_type TEXT NOT NULL, "
        "resource_id TEXT NOT NULL, payload_offset INTEGER NOT NULL, payload_len INTEGER NOT NULL)"
    )
    conn.execute("CREATE INDEX idx_created_at ON audit_events(created_at)")
    offset = 0
    with open(os.path.join(out, "payloads.jsonl"), "wb") as f:
        for _ in range(rows):
            created_at = now - rng.randint(0, 2592000)
            actor_id = rng.randint(1, 2000)
            action = rng.choice(ACTIONS)
            resource_type = rng.choice(TYPES)
            resource_id = f"{resource_type}-{rng.randint(1, 5000000)}"
            payload = {
                "diff": {f"field_{i}": [rng.randint(0, 1000), rng.randint(0, 1000)] for i in range(20)},
                "meta": {"ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"},
                "tags": [rng.choice(["a", "b", "c", "d", "e"]) for _ in range(10)],
                "note": "x" * rng.randint(256, 1024),
            }
            line = (json.dumps(payload) + "\n").encode()
            f.write(line)
            conn.execute(
                "INSERT INTO audit_events (created_at, actor_id, action, resource_type, resource_id, "
                "payload_offset, payload_len) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (created_at, actor_id, action, resource_type, resource_id, offset, len(line)),
            )
            offset += len(line)
    conn.commit()
    conn.close()


if __name__ == "__main__":
    seed(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1337)
