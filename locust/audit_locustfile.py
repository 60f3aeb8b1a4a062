"""The audit harness's rounds, replayed by a Locust cluster (`--driver locust`).

The harness starts a Locust master with this file and, over a control
connection (JSON lines on TCP, address printed on the master's stdout as
`audit-control PORT`), hands it one round at a time: the round's jobs in the
order they run, each job one engine's slice (its URL and its requests:
sequence number, query string, intended start in nanoseconds or -1). The
master gives every worker the whole round and the user slots it owns; a
worker replays, job after job, the requests whose position falls in its
slots: closed loop with its users taking the next request as they finish
one, or open loop at each request's intended start. Every request is sent by
a Locust user and timed by Locust's request event; the worker sends its
records to the master, which returns them to the harness once every worker
has. Nothing here chooses a request: streams, order and seeds are the
harness's, and so are the statistics.

Clocks: a record's times are nanoseconds from its job's start on the
worker's own monotonic clock; no two machines' clocks are compared.
"""

import json
import os
import socket
import time

import gevent
from gevent.event import Event
from gevent.server import StreamServer
from locust import FastHttpUser, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

#: The version of the messages between harness, master and workers.
PROTOCOL = 1

TIMEOUT_S = float(os.environ.get("AUDIT_LOCUST_TIMEOUT_S", "10"))


class Round:
    """One round as one worker replays it."""

    def __init__(self, data, users):
        self.number = data["round"]
        self.jobs = data["jobs"]
        first, last = data["slots"]
        slots = data["concurrency"]
        # Request i of a job belongs to user slot i % concurrency; this worker
        # owns slots first..last, so the split follows the users it runs.
        self.shares = [
            [r for i, r in enumerate(job["requests"]) if first <= i % slots < last]
            for job in self.jobs
        ]
        self.first_slot = first
        self.users = users
        self.arrived = [0] * len(self.jobs)
        self.started = [Event() for _ in self.jobs]
        self.t0 = [0.0] * len(self.jobs)
        self.received = time.perf_counter()
        self.offsets = [0] * len(self.jobs)
        self.next = [0] * len(self.jobs)
        self.records = []
        self.errors = {}
        self.finished = 0

    def meet(self, k):
        """Waits until every user of this worker reached job k; the job's
        clock starts when the last one arrives. Returns the user's slot."""
        slot = self.first_slot + self.arrived[k]
        self.arrived[k] += 1
        if self.arrived[k] == self.users:
            self.t0[k] = time.perf_counter()
            self.offsets[k] = int((self.t0[k] - self.received) * 1e9)
            self.started[k].set()
        else:
            self.started[k].wait()
        return slot

    def take(self, k):
        """The next request of job k's share, or None when it is done."""
        i = self.next[k]
        if i >= len(self.shares[k]):
            return None
        self.next[k] = i + 1
        return self.shares[k][i]


class Worker:
    """A worker's side: the current round, handed over by the master."""

    def __init__(self):
        self.round = None
        self.arrived = Event()
        self.runner = None

    def on_round(self, environment, msg, **_kw):
        users = max(1, environment.runner.user_count)
        self.round = Round(msg.data, users)
        self.arrived.set()

    def wait_round(self, seen):
        while self.round is None or self.round.number == seen:
            self.arrived.clear()
            self.arrived.wait()
        return self.round

    def finish(self, rnd):
        rnd.finished += 1
        if rnd.finished == rnd.users:
            self.runner.send_message(
                "audit_records",
                {
                    "round": rnd.number,
                    "records": rnd.records,
                    "errors": rnd.errors,
                    "offsets": rnd.offsets,
                    "users": rnd.users,
                },
            )


WORKER = Worker()


def count_rows(body, key):
    """Events in an answer body: a JSON array, or one under `key`."""
    value = json.loads(body)
    if key is not None:
        if not isinstance(value, dict) or not isinstance(value.get(key), list):
            raise ValueError(f"no key {key!r} holding the events")
        value = value[key]
    if not isinstance(value, list):
        raise ValueError("expected a JSON array of events")
    return len(value)


@events.request.add_listener
def on_request(response_time, response, context, exception, **_kw):
    audit = context.get("audit")
    if audit is None:
        return
    rnd, k, seq, intended, start_ns, slot, key = audit
    status = getattr(response, "status_code", None) or 0
    rows = -1
    error = None
    if exception is not None and not (200 <= status < 300):
        kind = "timeout" if isinstance(exception, (socket.timeout, gevent.Timeout, TimeoutError)) else "connect"
        if status:
            kind = "status"
        error = f"{kind}: {exception}"
    elif not (200 <= status < 300):
        error = f"status: answered HTTP {status}"
    else:
        try:
            rows = count_rows(response.content, key)
        except (ValueError, TypeError) as e:
            error = f"protocol: answered HTTP {status} with a body not of the contract's shape: {e}"
    if error is not None:
        rnd.errors.setdefault(str(k), error)
    rnd.records.append([k, seq, intended, start_ns, int(response_time * 1e6), status, rows, slot])


class Replay(FastHttpUser):
    """A user that replays its worker's share of each job of each round."""

    host = "http://127.0.0.1"
    wait_time = constant(0)
    network_timeout = TIMEOUT_S
    connection_timeout = TIMEOUT_S
    max_retries = 0

    def on_start(self):
        self.seen = None

    @task
    def replay(self):
        rnd = WORKER.wait_round(self.seen)
        self.seen = rnd.number
        for k, job in enumerate(rnd.jobs):
            slot = rnd.meet(k)
            t0 = rnd.t0[k]
            while True:
                request = rnd.take(k)
                if request is None:
                    break
                seq, query, intended = request
                if intended >= 0:
                    wait = t0 + intended / 1e9 - time.perf_counter()
                    if wait > 0:
                        gevent.sleep(wait)
                start_ns = int((time.perf_counter() - t0) * 1e9)
                self.client.get(
                    job["url"] + "?" + query,
                    name=job["engine"],
                    allow_redirects=False,
                    context={"audit": (rnd, k, seq, intended, start_ns, slot, job.get("key"))},
                )
        WORKER.finish(rnd)


class Master:
    """The master's side: serves the harness's control connection."""

    def __init__(self, environment):
        self.environment = environment
        self.replies = {}
        self.replied = Event()

    def on_records(self, environment, msg, **_kw):
        self.replies[msg.node_id] = msg.data
        self.replied.set()

    def workers(self):
        runner = self.environment.runner
        return sorted(runner.clients.all, key=lambda c: runner.get_worker_index(c.id))

    def ready(self, concurrency):
        runner = self.environment.runner
        running = [c for c in self.workers() if c.state == "running"]
        return runner.state == "running" and sum(c.user_count for c in running) == concurrency

    def serve(self, sock, _address):
        stream = sock.makefile("rwb")
        for line in stream:
            command = json.loads(line)
            if command["cmd"] == "round":
                reply = self.round(command)
            elif command["cmd"] == "status":
                running = [c for c in self.workers() if c.state == "running"]
                users = sum(c.user_count for c in running) if self.environment.runner.state == "running" else 0
                reply = {"workers": len(self.workers()), "users": users}
            elif command["cmd"] == "quit":
                stream.write(b'{"quit": true}\n')
                stream.flush()
                self.environment.runner.quit()
                return
            else:
                reply = {"error": f"unknown command {command['cmd']!r}"}
            stream.write(json.dumps(reply).encode() + b"\n")
            stream.flush()

    def round(self, command):
        concurrency = command["concurrency"]
        while not self.ready(concurrency):
            gevent.sleep(0.02)
        runner = self.environment.runner
        workers = [c for c in self.workers() if c.state == "running" and c.user_count > 0]
        self.replies = {}
        slot = 0
        owners = {}
        for c in workers:
            data = dict(command, slots=[slot, slot + c.user_count])
            slot += c.user_count
            owners[c.id] = runner.get_worker_index(c.id)
            runner.send_message("audit_round", data, client_id=c.id)
        while len(self.replies) < len(owners):
            self.replied.clear()
            self.replied.wait(timeout=0.2)
            present = {c.id for c in self.workers() if c.state not in ("missing",)}
            lost = [owners[i] for i in owners if i not in present and i not in self.replies]
            if lost:
                return {"round": command["round"], "lost": lost}
        records, errors, offsets = [], {}, []
        for cid, reply in self.replies.items():
            records.extend(reply["records"])
            for k, e in reply["errors"].items():
                errors.setdefault(k, e)
            offsets.append(reply["offsets"])
        first = [min(o[k] for o in offsets) for k in range(len(command["jobs"]))]
        return {
            "round": command["round"],
            "records": records,
            "errors": errors,
            "offsets": first,
            "workers": sorted(owners.values()),
        }


@events.init.add_listener
def on_init(environment, **_kw):
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        master = Master(environment)
        runner.register_message("audit_records", master.on_records)
        host, port = os.environ.get("AUDIT_LOCUST_CONTROL", "127.0.0.1:0").rsplit(":", 1)
        server = StreamServer((host, int(port)), master.serve)
        server.start()
        print(f"audit-control {server.server_port} protocol {PROTOCOL}", flush=True)
    elif isinstance(runner, WorkerRunner):
        WORKER.runner = runner
        runner.register_message("audit_round", WORKER.on_round)
