"""Runs the AWS emulator (moto server) on loopback.

Prints one line, `listening http://HOST:PORT`, once the socket accepts requests, so callers
synchronise on that line instead of polling. Port 0 picks a free port (used by the tests: one
emulator per test binary, no port races).

With --until-stdin-closes the server exits when its stdin reaches EOF: a test binary that dies
for any reason takes its emulator with it.
"""

import argparse
import os
import signal
import sys
import threading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args()

    # Attaching AWS-managed policies (AmazonEKSClusterPolicy, ...) needs them loaded.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    # Operations moto lacks or gets wrong, served as AWS documents them: extensions/README.md
    from extensions import ec2_gaps, ecr_scanning, eks_addons, eks_encryption
    from extensions import eks_oidc, eks_vpc_config, iam_rds_gaps, s3_versioning

    ec2_gaps.install()
    eks_addons.install()
    eks_encryption.install()
    eks_oidc.install()
    eks_vpc_config.install()
    iam_rds_gaps.install()
    ecr_scanning.install()
    s3_versioning.install()
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import WSGIRequestHandler

    # werkzeug writes an answer's headers and body separately; with Nagle's algorithm on,
    # the body waits for the client's delayed ACK: ~15-40 ms added to every call.
    WSGIRequestHandler.disable_nagle_algorithm = True

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"listening http://{host}:{port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.until_stdin_closes:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
