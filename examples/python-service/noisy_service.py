"""The audit-log endpoint as a deployed service answers it: the production
module (`audit_log_service.py`) behind a standard-library HTTP server that
adds fields of its own, as real services do. Every answer is an object

    {"request_id": "<random>", "served_at": <ns>, "count": N, "events": [...]}

and every event carries a `served_at` of its own besides the contract's
fields. Those fields differ on every call: the harness learns them as noise
from two instances of this service (`[equivalence] noise_reference`,
docs/http.md) and leaves them out of the comparisons.

    python3 noisy_service.py --port PORT [--data DIR] [--corrupt] [--field NAME=VALUE]

--data defaults to AUDIT_DATA_DIR (which the harness sets for a server it
launches). Two flags make it wrong on purpose, for the harness's tests:
--corrupt appends "x" to the resource_id of every event whose id is a
multiple of 7 (a contract field: always caught), and --field adds a constant
field of its own to every answer (not noise: two instances agree on it, so a
reference without it tells them apart).
"""

import json
import os
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audit_log_service  # noqa: E402 (found beside this file)

FIELDS = ("from_ts", "to_ts", "actor_id", "action", "page", "page_size")


def usage(why):
    print(f"noisy_service.py: {why}; usage: noisy_service.py --port PORT [--data DIR] [--corrupt] [--field NAME=VALUE]", file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    port, data, corrupt, extra = None, os.environ.get("AUDIT_DATA_DIR"), False, {}
    args = iter(argv)
    for arg in args:
        if arg == "--port":
            value = next(args, "")
            if not value.isdigit() or int(value) > 65535:
                usage(f"--port {value!r} is not a port number")
            port = int(value)
        elif arg == "--data":
            data = next(args, None)
        elif arg == "--corrupt":
            corrupt = True
        elif arg == "--field":
            name, sep, value = next(args, "").partition("=")
            if not sep or not name:
                usage("--field expects NAME=VALUE")
            extra[name] = value
        else:
            usage(f"unknown argument {arg!r}")
    if port is None:
        usage("--port is required")
    if not data:
        usage("no dataset: give --data DIR or set AUDIT_DATA_DIR")
    return port, data, corrupt, extra


def parse_query(text):
    params = parse_qs(text, keep_blank_values=True)
    q = {}
    for k in FIELDS:
        v = params.get(k, [None])[0]
        if v is None and k in ("actor_id", "action"):
            q[k] = None
        elif v is None:
            raise ValueError(f"missing {k}")
        else:
            q[k] = v if k == "action" else int(v)
    return q


def main(argv):
    port, data, corrupt, extra = parse_args(argv)
    audit_log_service.configure(data)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def reply(self, status, obj):
            body = json.dumps(obj, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 (the standard library's name)
            path, _, query = self.path.partition("?")
            if path != "/audit-events":
                return self.reply(404, {"error": f"no such path {path!r}"})
            try:
                page = audit_log_service.handle_request(parse_query(query))
            except Exception as e:  # the module's exception is a 500 answer
                return self.reply(500, {"error": f"{type(e).__name__}: {e}"})
            for event in page["events"]:
                event["served_at"] = time.time_ns()
                if corrupt and event["id"] % 7 == 0:
                    event["resource_id"] += "x"
            answer = {"request_id": uuid.uuid4().hex, "served_at": time.time_ns(), **extra}
            answer.update(page)
            self.reply(200, answer)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"noisy_service: serving http://127.0.0.1:{port}/audit-events on {data}", file=sys.stderr, flush=True)
    httpd.serve_forever(poll_interval=0.1)
    httpd.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
