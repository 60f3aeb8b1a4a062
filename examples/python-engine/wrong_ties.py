#!/usr/bin/env python3
"""engine.py with one deliberate bug: rows tied on created_at come out in
ascending id order (the contract says `created_at DESC, id DESC`). Pages agree
with the baseline except where a tie falls on them, which the equivalence
suite must find and shrink:

    audit-harness --engine-command 'bad=python3 examples/python-engine/wrong_ties.py' equiv --engines bad
"""

import sys

import engine

if __name__ == "__main__":
    sys.exit(engine.main(order_by="created_at DESC, id ASC", name="python-wrong-ties"))
