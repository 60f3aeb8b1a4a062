#!/usr/bin/env python3
"""A do-nothing engine in Python: protocol v1, every request answered with an
empty page at once. For comparing the protocol's cost with the harness's own
null engine:

    audit-harness --engine-command 'pynull=python3 examples/python-engine/null.py' protocol-cost --engine pynull
"""

import json
import sys


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    hello = json.loads(stdin.readline())["hello"]
    if hello["protocol"] != 1:
        stdout.write(b'{"ready": false, "error": "this engine speaks protocol 1"}\n')
        stdout.flush()
        return 2
    stdout.write(b'{"ready": true, "name": "python-null"}\n')
    stdout.flush()
    for line in stdin:
        stdout.write(b'{"id":%d,"count":0,"events":[]}\n' % json.loads(line)["id"])
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
