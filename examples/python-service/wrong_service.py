"""audit_log_service.py with one deliberate bug, of the kind an "enhanced"
service ships: pages after the first forget the action filter (say, a
cursor cache keyed without it). Page 1 is right, so a quick manual check
passes; the equivalence suite must catch it:

    audit-harness --engine-command \
        'bad=python3 adapters/python_module.py examples/python-service/wrong_service.py:handle_request' \
        equiv --engines bad

exits 1 with `not equivalent: bad ...` and a shrunk counterexample. It
imports its neighbour as a service module would (the adapter puts this
directory on sys.path), and the adapter finds `configure` here too.
"""

import audit_log_service
from audit_log_service import configure  # noqa: F401  (the adapter calls it)


def handle_request(query):
    query = dict(query)
    if query["page"] >= 2:
        query["action"] = None  # the bug
    return audit_log_service.handle_request(query)
