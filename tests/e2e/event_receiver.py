#!/usr/bin/env python3
"""A webhook receiver on 127.0.0.1 for tests/e2e/test_events.sh.

  event_receiver.py --log FILE --port-file FILE [--secret-env NAME] [--mode MODE]

Listens on a free port of 127.0.0.1 and writes the port to --port-file once
ready. Modes:
  ok     verify each POST's X-Envflow-Signature-256 (HMAC-SHA256 of the exact
         body, key from the variable --secret-env names) and answer 204;
  flaky  the same, but the first POST is answered 503 (retries are tested);
  hang   accept connections and never answer.
Every POST becomes one JSON line in --log: its headers, whether the signature
is valid, the body as received.
"""
import argparse
import hashlib
import hmac
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--secret-env", default="")
    parser.add_argument("--mode", default="ok", choices=["ok", "flaky", "hang"])
    args = parser.parse_args()

    if args.mode == "hang":
        # The kernel completes the handshakes; nothing ever reads or answers.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        write_port(args.port_file, sock.getsockname()[1])
        while True:
            time.sleep(3600)

    key = os.environ.get(args.secret_env, "").encode()
    lock = threading.Lock()
    seen = {"count": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            given = self.headers.get("X-Envflow-Signature-256", "")
            with lock:
                seen["count"] += 1
                first = seen["count"] == 1
                record = {
                    "valid": bool(key) and hmac.compare_digest(expected, given),
                    "event": self.headers.get("X-Envflow-Event"),
                    "delivery": self.headers.get("X-Envflow-Delivery"),
                    "user_agent": self.headers.get("User-Agent"),
                    "content_type": self.headers.get("Content-Type"),
                    "path": self.path,
                    "body": body.decode("utf-8", "replace"),
                }
                with open(args.log, "a") as log:
                    log.write(json.dumps(record) + "\n")
            status = 503 if args.mode == "flaky" and first else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    write_port(args.port_file, server.server_address[1])
    server.serve_forever()


def write_port(path, port):
    with open(path + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(path + ".tmp", path)


if __name__ == "__main__":
    main()
