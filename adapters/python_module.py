#!/usr/bin/env python3
"""Serves one Python function as an audit-harness process engine, or as an
HTTP service.

    python3 adapters/python_module.py path/to/module.py:function \\
        [--named-tuple] [--max-in-flight N] [--threads N] [--http HOST:PORT]

Loads the module from its file (its directory goes first on sys.path, so its
own imports work), finds `function` and speaks the harness's process protocol
v1 (docs/protocol.md) on stdin/stdout: it answers the hello, then calls
`function(query)` once per request line, on a pool of threads, and writes the
answer back with the request's id. Standard library only, Python 3.9+.

The function's side of the bargain:

- `query` is a dict {from_ts, to_ts, actor_id, action, page, page_size}
  (actor_id and action are None when not filtered), or with --named-tuple a
  Query(from_ts, to_ts, actor_id, action, page, page_size) namedtuple: the
  module's own `Query` if it defines one with exactly those fields, else the
  adapter's.
- It returns the contract's answer (docs/contract.md) as a dict:
  {"count": n, "events": [{"id", "created_at", "actor_id", "action",
  "resource_type", "resource_id", "payload"}, ...]}. The answer is passed on
  as given, so a wrong answer reaches the harness and fails its check; only an
  answer the protocol cannot carry (wrong type, missing or extra key, count not
  the number of events, a value JSON cannot encode) becomes an error answer
  saying what was returned and what is expected.
- An exception becomes this request's error answer, "Type: message (at
  file.py:line in function)"; the traceback goes to stderr.
- The dataset directory: the adapter sets AUDIT_DATA_DIR to the hello's
  data_dir before it imports the module, and if the module defines
  `configure(data_dir)`, calls it once, before the first request.
- stdout belongs to the protocol: anything the module prints (print(), C
  libraries) goes to stderr instead, and the module's stdin is empty.

Anything that stops it from starting (no such file, not a .py file, the import
raises, no such function, configure raises) is answered to the hello as
{"ready": false, "error": "..."} and the adapter exits 2; the harness then
reports an engine that cannot start (exit 2). Bad command-line usage is one
line on stderr and exit 2. End of stdin: outstanding requests are finished,
the threads joined, exit 0.

With --http HOST:PORT it is an HTTP service instead (docs/http.md), for a
launched HTTP engine: `command = ["python3", "adapters/python_module.py",
"mod.py:fn", "--http", "127.0.0.1:{port}"]`. The dataset directory comes from
AUDIT_DATA_DIR (configure(data_dir) is called as above); GET /audit-events
with the query's fields as parameters answers 200 with the JSON array of
events; an exception in the function, or an answer of the wrong shape, is a
500 with {"error": "..."}; a query string that does not parse is a 400,
another path a 404. A thread per connection, HTTP/1.1 keep-alive. SIGTERM or
SIGINT ends it. A module that cannot be served is one line on stderr, exit 2.
"""

import collections
import inspect
import json
import os
import queue
import sys
import threading
import traceback
import importlib.util

PROTOCOL = 1
USAGE = (
    "usage: python3 adapters/python_module.py PATH/TO/MODULE.py:FUNCTION "
    "[--named-tuple] [--max-in-flight N (1..1024, default 4)] [--threads N (1..1024, default max-in-flight)] "
    "[--http HOST:PORT]"
)
FIELDS = ("from_ts", "to_ts", "actor_id", "action", "page", "page_size")
EVENT_KEYS = ("id", "created_at", "actor_id", "action", "resource_type", "resource_id", "payload")
INT_KEYS = ("id", "created_at", "actor_id")
STR_KEYS = ("action", "resource_type", "resource_id")
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
EXPECTED = '{"count": n, "events": [{' + ", ".join(f'"{k}"' for k in EVENT_KEYS) + "}, ...]}"
# Tracebacks written to stderr at most (a function failing on every request
# would otherwise flood it); every failure still gets its error answer.
MAX_TRACEBACKS = 20

Query = collections.namedtuple("Query", FIELDS)


class Usage(Exception):
    """Bad command line."""


class CannotStart(Exception):
    """The module or function cannot be served: the hello is answered ready: false."""


def parse_args(argv):
    """(path, function, named_tuple, max_in_flight, threads, http) from the arguments."""
    target, named_tuple, max_in_flight, threads, http = None, False, 4, None, None
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            print(__doc__.strip() + "\n\n" + USAGE)
            sys.exit(0)
        if arg == "--named-tuple":
            named_tuple = True
        elif arg.split("=", 1)[0] == "--http":
            value = arg.split("=", 1)[1] if "=" in arg else (args.pop(0) if args else None)
            host, sep, port = (value or "").rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
                raise Usage(f"--http {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8000")
            http = (host, int(port))
        elif arg.split("=", 1)[0] in ("--max-in-flight", "--threads"):
            flag, value = arg.split("=", 1) if "=" in arg else (arg, args.pop(0) if args else None)
            n = bounded(flag, value)
            if flag == "--max-in-flight":
                max_in_flight = n
            else:
                threads = n
        elif arg.startswith("-"):
            raise Usage(f"unknown option {arg!r}")
        elif target is not None:
            raise Usage(f"one MODULE.py:FUNCTION only, got {target!r} and {arg!r}")
        else:
            target = arg
    if target is None:
        raise Usage("no MODULE.py:FUNCTION given")
    path, sep, function = target.rpartition(":")
    if not sep or not path or not function:
        raise Usage(f"{target!r} is not PATH/TO/MODULE.py:FUNCTION (a file path, a colon, a function name)")
    return path, function, named_tuple, max_in_flight, threads or max_in_flight, http


def bounded(flag, value):
    if value is None:
        raise Usage(f"{flag} needs a value: an integer in 1..1024")
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise Usage(f"{flag} {value!r}: expected an integer in 1..1024") from None
    if not 1 <= n <= 1024:
        raise Usage(f"{flag} {n}: expected an integer in 1..1024")
    return n


def one_line(text, limit=2000):
    """`text` on one line (the protocol's error strings are read as one line)."""
    text = " | ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return text if len(text) <= limit else text[:limit] + "..."


def exception_name(e):
    t = type(e)
    return t.__qualname__ if t.__module__ in ("builtins", "__main__") else f"{t.__module__}.{t.__qualname__}"


def describe_exception(e):
    """'Type: message (at file.py:line in function)', the innermost frame outside the adapter."""
    where = ""
    frames = [
        f for f in traceback.extract_tb(e.__traceback__) if f.filename != __file__ and not f.filename.startswith("<frozen")
    ]
    if frames:
        f = frames[-1]
        where = f" (at {os.path.basename(f.filename)}:{f.lineno} in {f.name})"
    message = str(e)
    return one_line(f"{exception_name(e)}: {message}{where}" if message else f"{exception_name(e)}{where}")


def load(path, function, named_tuple):
    """The function to serve and the query maker, or CannotStart saying why."""
    shown = path
    if not os.path.exists(path):
        raise CannotStart(f"{shown}: no such file; expected PATH/TO/MODULE.py:FUNCTION naming a Python source file")
    if not os.path.isfile(path) or not path.endswith(".py"):
        kind = "a directory" if os.path.isdir(path) else "not a .py file"
        raise CannotStart(f"{shown}: {kind}; expected a Python source file ending in .py")
    path = os.path.abspath(path)
    name = os.path.splitext(os.path.basename(path))[0]
    sys.path.insert(0, os.path.dirname(path))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        fresh = name not in sys.modules
        if fresh:  # so the module's own `import name` and pickling find it
            sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            if fresh:
                del sys.modules[name]
            raise
    except BaseException as e:  # SystemExit and SyntaxError included
        if isinstance(e, KeyboardInterrupt):
            raise
        traceback.print_exc()
        raise CannotStart(f"importing {shown} raised {describe_exception(e)}") from None

    fn = module
    for part in function.split("."):
        if not hasattr(fn, part):
            own = sorted(
                k
                for k, v in vars(module).items()
                if callable(v) and not k.startswith("_") and getattr(v, "__module__", None) == module.__name__
            )
            missing = repr(function) if part == function else f"{part!r} (of {function!r})"
            raise CannotStart(
                f"{shown} has no {missing}; expected the name of a function defined in it "
                f"(it defines: {', '.join(own) or 'no functions'})"
            )
        fn = getattr(fn, part)
    if not callable(fn):
        raise CannotStart(f"{shown}:{function} is a {type(fn).__name__}, not callable; expected a function(query)")
    try:
        inspect.signature(fn).bind(None)
    except TypeError as e:
        raise CannotStart(
            f"{shown}:{function} cannot be called with one argument ({e}); the adapter calls function(query)"
        ) from None
    except ValueError:
        pass  # no signature to check (some builtins)

    make_query = dict
    if named_tuple:
        own = getattr(module, "Query", None)
        fits = isinstance(own, type) and issubclass(own, tuple) and sorted(getattr(own, "_fields", ())) == sorted(FIELDS)
        cls = own if fits else Query
        make_query = lambda q: cls(**q)  # noqa: E731

    configure = getattr(module, "configure", None)
    return module, fn, make_query, configure


def check_answer(answer, function):
    """None if `answer` is a page the protocol can carry as given, else why not."""
    got = f"{function} returned"
    if not isinstance(answer, dict):
        hint = " (a JSON string? return the dict itself)" if isinstance(answer, (str, bytes)) else ""
        return f"{got} {type(answer).__name__} {short(answer)}{hint}; expected a dict {EXPECTED}"
    keys = set(answer)
    if keys != {"count", "events"}:
        missing = [k for k in ("count", "events") if k not in keys]
        extra = sorted(str(k) for k in keys - {"count", "events"})
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unexpected {', '.join(extra)}"] if extra else [])
        return f"{got} a dict with keys {sorted(map(str, keys))} ({'; '.join(parts)}); expected exactly {EXPECTED}"
    count, events = answer["count"], answer["events"]
    if not isinstance(events, (list, tuple)):
        return f"{got} events as {type(events).__name__} {short(events)}; expected a list of event dicts"
    if isinstance(count, bool) or not isinstance(count, int):
        return f"{got} count {short(count)} ({type(count).__name__}); expected the integer len(events) = {len(events)}"
    if count != len(events):
        return f"{got} count {count} with {len(events)} events; expected count == len(events)"
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            return f"{got} events[{i}] as {type(ev).__name__} {short(ev)}; expected a dict with keys {', '.join(EVENT_KEYS)}"
        if set(ev) != set(EVENT_KEYS):
            missing = [k for k in EVENT_KEYS if k not in ev]
            extra = sorted(str(k) for k in ev if k not in EVENT_KEYS)
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unexpected {', '.join(extra)}"] if extra else [])
            return f"{got} events[{i}] with keys {sorted(map(str, ev))} ({'; '.join(parts)}); expected exactly {', '.join(EVENT_KEYS)}"
        for k in INT_KEYS:
            v = ev[k]
            if isinstance(v, bool) or not isinstance(v, int) or not I64_MIN <= v <= I64_MAX:
                return f"{got} events[{i}].{k} = {short(v)} ({type(v).__name__}); expected a 64-bit integer"
        for k in STR_KEYS:
            v = ev[k]
            if not isinstance(v, str):
                return f"{got} events[{i}].{k} = {short(v)} ({type(v).__name__}); expected a string"
    return None


def short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def dumps(obj):
    return (json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n").encode()


class Server:
    """Calls the function for each request on a pool of threads and writes the answers."""

    def __init__(self, fn, name, make_query, out):
        self.fn, self.name, self.make_query, self.out = fn, name, make_query, out
        self.lock = threading.Lock()
        self.tracebacks = 0

    def send(self, data):
        with self.lock:
            try:
                self.out.write(data)
                self.out.flush()
            except OSError:  # the harness is gone: nobody to answer
                os._exit(1)

    def call(self, rid, q):
        """(events, None) when the function answered a page, else (None, why)."""
        try:
            result = self.fn(self.make_query(q))
        except BaseException as e:  # SystemExit too: it would end the thread with the request unanswered
            self.log_traceback(rid, e)
            return None, describe_exception(e)
        why = check_answer(result, self.name)
        return (result["events"], None) if why is None else (None, one_line(why))

    def answer(self, rid, request):
        missing = [k for k in FIELDS if k not in request and k not in ("actor_id", "action")]
        if missing:
            return dumps({"id": rid, "error": f"request {rid} has no {', '.join(missing)}"})
        events, why = self.call(rid, {k: request.get(k) for k in FIELDS})
        if why is None:
            try:
                return dumps({"id": rid, "count": len(events), "events": events})
            except (TypeError, ValueError) as e:  # a payload JSON cannot encode
                why = f"{self.name} returned an answer JSON cannot encode ({one_line(e)}); expected JSON values only"
        return dumps({"id": rid, "error": one_line(why)})

    def log_traceback(self, rid, e):
        with self.lock:
            self.tracebacks += 1
            n = self.tracebacks
        if n <= MAX_TRACEBACKS:
            text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
            sys.stderr.write(f"{self.name}: request {rid} raised:\n{text}")
            if n == MAX_TRACEBACKS:
                sys.stderr.write(f"{self.name}: further tracebacks are not shown\n")
            sys.stderr.flush()

    def serve(self, lines, threads):
        jobs = queue.Queue()

        def work():
            while True:
                job = jobs.get()
                if job is None:
                    return
                rid, request = job
                try:
                    line = self.answer(rid, request)
                except BaseException as e:  # never leave a request unanswered
                    line = dumps({"id": rid, "error": f"adapter: checking the answer raised {describe_exception(e)}"})
                self.send(line)

        pool = [threading.Thread(target=work, name=f"worker-{i}", daemon=True) for i in range(threads)]
        for t in pool:
            t.start()
        for line in lines:  # end of input means shut down
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                rid = request["id"]
                if isinstance(rid, bool) or not isinstance(rid, int):
                    raise TypeError(f"id is {rid!r}")
            except (ValueError, KeyError, TypeError) as e:
                # Without an id there is nobody to answer: the harness never sends such a line.
                sys.stderr.write(f"{self.name}: not a request line ({one_line(e)}): {line[:200]!r}\n")
                sys.stderr.flush()
                os._exit(3)
            jobs.put((rid, request))
        for _ in pool:
            jobs.put(None)
        for t in pool:
            t.join()


def load_configured(path, function, named_tuple, data_dir):
    """`load`, then the module's configure(data_dir) when it defines one; CannotStart saying why."""
    module, fn, make_query, configure = load(path, function, named_tuple)
    if configure is not None:
        if not callable(configure):
            raise CannotStart(f"{path}: configure is a {type(configure).__name__}; expected a function configure(data_dir)")
        try:
            configure(data_dir)
        except Exception as e:
            raise CannotStart(f"{path}: configure({data_dir!r}) raised {describe_exception(e)}") from None
    return fn, make_query


def parse_query(text):
    """The query dict from a query string, or raises ValueError saying what is wrong."""
    from urllib.parse import parse_qs

    params = parse_qs(text, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(params) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}")
    q = {}
    for k in FIELDS:
        values = params.get(k)
        if values is None:
            if k in ("actor_id", "action"):
                q[k] = None
                continue
            raise ValueError(f"missing {k}")
        if len(values) > 1:
            raise ValueError(f"{k} given {len(values)} times")
        v = values[0]
        if k == "action":
            q[k] = v
            continue
        try:
            q[k] = int(v)
        except ValueError:
            raise ValueError(f"{k}={v!r} is not an integer") from None
    return q


def serve_http(server, address, threads_note):
    """Answers GET /audit-events until SIGTERM or SIGINT."""
    import signal
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    counter = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def reply(self, status, obj):
            try:
                body = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()
            except (TypeError, ValueError) as e:  # a payload JSON cannot encode
                status = 500
                body = json.dumps({"error": f"{server.name} returned an answer JSON cannot encode ({one_line(e)})"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 (the standard library's name)
            path, _, query = self.path.partition("?")
            if path != "/audit-events":
                return self.reply(404, {"error": f"no such path {path!r}: the endpoint is GET /audit-events"})
            try:
                q = parse_query(query)
            except ValueError as e:
                return self.reply(400, {"error": f"{e}; expected {', '.join(FIELDS)} (actor_id and action optional)"})
            with lock:
                counter[0] += 1
                rid = counter[0]
            events, why = server.call(rid, q)
            if why is None:
                self.reply(200, events)
            else:
                self.reply(500, {"error": why})

        def log_message(self, *args):  # one line per request would flood stderr
            pass

    httpd = ThreadingHTTPServer(address, Handler)
    httpd.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = httpd.server_address[:2]
    print(f"{server.name}: serving http://{host}:{port}/audit-events{threads_note}", file=sys.stderr, flush=True)
    httpd.serve_forever(poll_interval=0.1)
    httpd.server_close()


def main_http(path, function, named_tuple, address):
    name = f"{os.path.splitext(os.path.basename(path))[0]}:{function}"
    data_dir = os.environ.get("AUDIT_DATA_DIR")
    if not data_dir:
        print(f"{name}: --http needs AUDIT_DATA_DIR, the dataset directory (the harness sets it)", file=sys.stderr)
        return 2
    try:
        fn, make_query = load_configured(path, function, named_tuple, data_dir)
    except CannotStart as e:
        print(f"{name}: cannot start: {one_line(e)}", file=sys.stderr)
        return 2
    try:
        serve_http(Server(fn, function, make_query, None), address, "")
    except OSError as e:
        print(f"{name}: cannot listen on {address[0]}:{address[1]}: {e}", file=sys.stderr)
        return 2
    return 0


def take_stdio():
    """The protocol's stdin and stdout; the module gets an empty stdin and stderr as stdout."""
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)
    sys.stdout = sys.stderr
    return proto_in, proto_out


def main(argv):
    try:
        path, function, named_tuple, max_in_flight, threads, http = parse_args(argv)
    except Usage as e:
        print(f"python_module.py: {e}; {USAGE}", file=sys.stderr)
        return 2
    if http is not None:
        return main_http(path, function, named_tuple, http)
    name = f"{os.path.splitext(os.path.basename(path))[0]}:{function}"
    proto_in, proto_out = take_stdio()

    def send(obj):
        proto_out.write(dumps(obj))
        proto_out.flush()

    line = proto_in.readline()
    try:
        hello = json.loads(line)["hello"]
        version, data_dir = hello["protocol"], hello["data_dir"]
    except (ValueError, KeyError, TypeError) as e:
        print(f"{name}: expected a hello line from the harness ({one_line(e)}), got {line[:200]!r}", file=sys.stderr)
        return 2
    if version != PROTOCOL:
        send({"ready": False, "error": f"protocol {version} is not spoken here; this adapter speaks {PROTOCOL}"})
        return 2
    os.environ["AUDIT_DATA_DIR"] = data_dir
    try:
        fn, make_query = load_configured(path, function, named_tuple, data_dir)
    except CannotStart as e:
        send({"ready": False, "error": one_line(e)})
        return 2
    send({"ready": True, "protocol": PROTOCOL, "name": name, "max_in_flight": max_in_flight})
    Server(fn, function, make_query, proto_out).serve(proto_in, threads)
    return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
