"""An HTTP proxy between the AWS SDK and the emulator that misbehaves the way AWS does.

Every request is forwarded to --target unless its answer is scripted (--answer, --fail) or a
fault is drawn for it. Faults, each with its own rate (0..1), drawn independently per request:

  --throttle R      answer with the service's throttling error (RequestLimitExceeded,
                    Throttling, TooManyRequestsException, ThrottlingException, S3's XML
                    SlowDown) without forwarding
  --server-error R  answer 500 or 503 without forwarding
  --reset R         close the connection without an answer, without forwarding
  --slow R          forward, but hold the answer for --slow-ms milliseconds
  --lost R          mutating calls only: forward (AWS does the work), then lose the answer
                    (503 or a dropped connection); the SDK retries a call that already worked
  --fail ACTION=CODE  always answer ACTION with the permanent error CODE (HTTP 400)
  --answer 'ACTION=STATUS:BODY'  answer ACTION with HTTP STATUS and the JSON BODY (JSON text,
                    or the name of a file holding it) without forwarding: calls the emulator
                    lacks or answers differently from AWS ("GET /clusters/*/updates/*=200:
                    {"update": {...}}" is DescribeUpdate). Given several times for one ACTION,
                    the answers are given in turn, the last one to every later request
  --latency FILE    JSON {"ACTION": ms, "*": ms}: a fixed delay per action before forwarding
                    (AWS-like latencies for benchmarks). REST actions are METHOD ROUTE:
                    "POST /clusters" (CreateCluster), "POST /clusters/*/node-groups",
                    "GET /clusters/*" (DescribeCluster)
  --spread          inject each fault at evenly spaced requests instead of at random, so a
                    run of N requests sees exactly N x RATE of them (for tests that must
                    see the faults happen)
  --eventual N      AWS's eventual consistency with a window of N seconds (see eventual.py):
                    fresh IAM roles / OIDC providers not yet usable by EKS and IAM, reads of
                    fresh ids answering NotFound, DependencyViolation on deletes after a
                    dependent went away, FinalizingOrganizationException after
                    CreateOrganization, AccessDenied on AssumeRole into a new account
  --eventual-only LIST  only these of them: iam,reads,deletes,org,assume

GET /__proxy/stats answers JSON counts: requests per action, faults per kind and action
(scripted answers as "answer ACTION", eventual consistency as "eventual_BEHAVIOUR ACTION"), and the milliseconds the emulator spent answering each
action (forwarded calls, summed).
Prints `listening http://HOST:PORT` once the socket accepts requests; with
--until-stdin-closes it exits when its stdin reaches EOF (the test binary went away).
"""

import argparse
import http.client
import json
import random
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from eventual import Eventual

READ_PREFIXES = ("Describe", "Get", "List")


class Faults:
    def __init__(self, args):
        self.rates = {
            "throttle": args.throttle,
            "server_error": args.server_error,
            "reset": args.reset,
            "slow": args.slow,
            "lost": args.lost,
        }
        self.slow_ms = args.slow_ms
        self.fail = dict(item.split("=", 1) for item in args.fail)
        self.latency = json.load(open(args.latency)) if args.latency else {}
        self.answers = scripted_answers(args.answer)
        self.random = random.Random(args.seed)
        self.spread = args.spread
        # Error diffusion: a fault falls due each time the accumulated rate passes 1; the
        # start at one half puts the first one mid-way into its interval.
        self.due = {kind: 0.5 for kind in self.rates}
        self.lock = threading.Lock()
        self.requests = Counter()
        self.injected = Counter()
        self.upstream_ms = Counter()
        self.eventual = Eventual(args.eventual, args.eventual_only) if args.eventual else None

    def draw(self, kind, action, mutating):
        if kind == "lost" and not mutating:
            return False
        with self.lock:
            if self.spread:
                self.due[kind] += self.rates[kind]
                hit = self.due[kind] >= 1.0
                self.due[kind] -= 1.0 if hit else 0.0
            else:
                hit = self.random.random() < self.rates[kind]
            if hit:
                self.injected[f"{kind} {action}"] += 1
        return hit

    def scripted(self, action):
        """The (status, body) to answer `action` with instead of forwarding, if scripted."""
        with self.lock:
            queue = self.answers.get(action)
            if not queue:
                return None
            self.injected[f"answer {action}"] += 1
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def consistent_yet(self, protocol, action, path, body):
        """AWS's answer while it is not yet consistent, counted, or None (forward it)."""
        if not self.eventual:
            return None
        answer = self.eventual.intercept(protocol, action, path, body)
        if answer:
            with self.lock:
                self.injected[f"eventual_{answer[0]} {action}"] += 1
            return answer[1:]
        return None

    def count(self, action):
        with self.lock:
            self.requests[action] += 1

    def upstream(self, action, seconds):
        with self.lock:
            self.upstream_ms[action] += seconds * 1000

    def stats(self):
        with self.lock:
            return {
                "requests": dict(self.requests),
                "faults": dict(self.injected),
                "upstream_ms": dict(self.upstream_ms),
            }


def scripted_answers(items):
    """--answer ACTION=STATUS:BODY items -> {ACTION: [(status, body), ...]} in their order."""
    answers = {}
    for item in items:
        action, answer = item.split("=", 1)
        status, body = answer.split(":", 1)
        if not body.lstrip().startswith(("{", "[")):
            with open(body) as file:
                body = file.read()
        json.loads(body)  # a malformed answer fails at start, not in the middle of a test
        answers.setdefault(action, []).append((int(status), body))
    return answers


def classify(method, path, headers, body):
    """(service protocol, action, mutating) of one SDK request."""
    target = headers.get("X-Amz-Target")
    if target:  # awsJson (Organizations): "AWSOrganizationsV20161128.CreateAccount"
        action = target.rsplit(".", 1)[-1]
        return "json", action, not action.startswith(READ_PREFIXES)
    form = headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
    if method == "POST" and form:  # awsQuery / ec2Query: Action=CreateVpc&...
        params = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action = params.get("Action", ["?"])[0]
        protocol = "ec2" if params.get("Version", [""])[0] == "2016-11-15" else "query"
        return protocol, action, not action.startswith(READ_PREFIXES)
    # restJson (EKS) and restXml (S3): the method and the collections of the path tell what
    # it does; the signature's credential scope (".../REGION/s3/aws4_request") tells S3 apart.
    protocol = "s3" if "/s3/aws4_request" in headers.get("Authorization", "") else "rest"
    return protocol, f"{method} {rest_route(path)}", method not in ("GET", "HEAD")


def rest_route(path):
    """The route of a REST path, names starred: /clusters/dev/node-groups/system ->
    /clusters/*/node-groups/*, so CreateCluster (POST /clusters) and CreateNodegroup
    (POST /clusters/*/node-groups) are told apart. S3's /bucket/key -> /bucket/*."""
    parts = path.split("?", 1)[0].strip("/").split("/")[:4]
    if parts == [""]:
        return "/"
    return "/" + "/".join(p if n % 2 == 0 else "*" for n, p in enumerate(parts))


def throttling_error(protocol):
    """(status, headers, body) of the throttling answer each protocol's AWS service gives."""
    if protocol == "ec2":
        body = (
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
            "<Message>Request limit exceeded.</Message></Error></Errors>"
            "<RequestID>fault-proxy</RequestID></Response>"
        )
        return 503, {"Content-Type": "text/xml"}, body
    if protocol == "query":
        return 400, {"Content-Type": "text/xml"}, query_error("Throttling", "Rate exceeded")
    if protocol == "json":
        body = json.dumps({"__type": "TooManyRequestsException", "Message": "Rate exceeded"})
        return 400, {"Content-Type": "application/x-amz-json-1.1"}, body
    if protocol == "s3":  # S3 answers XML with its own code for a request rate too high
        body = (
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
            "<RequestId>fault-proxy</RequestId></Error>"
        )
        return 503, {"Content-Type": "application/xml"}, body
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": "ThrottlingException"}
    return 429, headers, json.dumps({"message": "Rate exceeded"})


def query_error(code, message):
    return (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
    )


def permanent_error(protocol, code):
    message = f"injected permanent error {code}"
    if protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
            "</Error></Errors><RequestID>fault-proxy</RequestID></Response>"
        )
        return 400, {"Content-Type": "text/xml"}, body
    if protocol == "query":
        return 400, {"Content-Type": "text/xml"}, query_error(code, message)
    if protocol == "json":
        return 400, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(
            {"__type": code, "Message": message}
        )
    if protocol == "s3":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
        return 400, {"Content-Type": "application/xml"}, body
    return 400, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, json.dumps(
        {"message": message}
    )


def make_handler(target, faults):
    upstream = urllib.parse.urlsplit(target)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle's algorithm on, the body
        # waits for the client's delayed ACK of the headers: ~40 ms on every answer.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/__proxy/stats":
                self.answer(200, {"Content-Type": "application/json"}, json.dumps(faults.stats()))
                return
            self.handle_one()

        def handle_one(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            protocol, action, mutating = classify(self.command, self.path, self.headers, body)
            faults.count(action)
            scripted = faults.scripted(action)
            if scripted:
                self.answer(scripted[0], {"Content-Type": "application/json"}, scripted[1])
                return
            if action in faults.fail:
                self.answer(*permanent_error(protocol, faults.fail[action]))
                return
            not_yet = faults.consistent_yet(protocol, action, self.path, body)
            if not_yet:
                self.answer(*not_yet)
                return
            if faults.draw("reset", action, mutating):
                self.drop()
                return
            if faults.draw("throttle", action, mutating):
                self.answer(*throttling_error(protocol))
                return
            if faults.draw("server_error", action, mutating):
                self.answer(random.choice([500, 503]), {"Content-Type": "text/plain"}, "")
                return
            delay = faults.latency.get(action, faults.latency.get("*", 0))
            if delay:
                time.sleep(delay / 1000)
            started = time.monotonic()
            status, headers, payload = self.forward(body)
            faults.upstream(action, time.monotonic() - started)
            if faults.eventual:
                faults.eventual.observe(protocol, action, self.path, status, payload)
            if faults.draw("lost", action, mutating):
                if faults.random.random() < 0.5:
                    self.drop()
                else:
                    self.answer(503, {"Content-Type": "text/plain"}, "")
                return
            if faults.draw("slow", action, mutating):
                time.sleep(faults.slow_ms / 1000)
            self.answer(status, headers, payload)

        def forward(self, body):
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=300)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            skip = {"connection", "transfer-encoding", "content-length"}
            headers = {k: v for k, v in response.getheaders() if k.lower() not in skip}
            connection.close()
            return response.status, headers, payload

        def answer(self, status, headers, payload):
            data = payload.encode() if isinstance(payload, str) else payload
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def drop(self):
            """A connection reset: no status line, the socket just goes away."""
            self.close_connection = True
            try:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            except OSError:
                pass

        do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_one

    return Handler


class Server(ThreadingHTTPServer):
    # Python's default listen backlog is 5: an apply at --parallelism 10 and more opens
    # connections in bursts, and the kernel drops SYNs beyond the backlog (the SDK then
    # waits a second to retry the connect): latency no AWS endpoint has.
    request_queue_size = 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--target", required=True, help="the emulator, e.g. http://127.0.0.1:4566")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    for name in ("throttle", "server-error", "reset", "slow", "lost"):
        parser.add_argument(f"--{name}", type=float, default=0.0)
    parser.add_argument("--slow-ms", type=int, default=2000)
    parser.add_argument("--fail", action="append", default=[], metavar="ACTION=CODE")
    parser.add_argument("--answer", action="append", default=[], metavar="ACTION=STATUS:BODY")
    parser.add_argument("--latency", metavar="FILE")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--spread", action="store_true")
    parser.add_argument("--eventual", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--eventual-only", default="", metavar="LIST")
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args()

    faults = Faults(args)
    server = Server((args.host, args.port), make_handler(args.target, faults))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening http://{host}:{port}", flush=True)
    if args.until_stdin_closes:
        sys.stdin.read()
    else:
        threading.Event().wait()


if __name__ == "__main__":
    main()
