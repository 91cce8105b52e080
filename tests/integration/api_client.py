#!/usr/bin/env python3
"""The tests' stand-ins for outside programs talking to the daemon.

api_client.py request SOCKET METHOD PATH [BODY]
    One HTTP request on the unix socket; prints the status code (or "connect: ERRNO-NAME"
    when the socket refuses the connection) on the first line, the body after it.
api_client.py parse-metrics FILE
    Parses FILE with prometheus_client's text parser (the Prometheus text format 0.0.4) and
    prints {"families": {NAME: {"type": T, "help": H, "samples": [{"name", "labels"}]}}}.
    Exits 1, with the parser's complaint, when the text does not parse.
"""
import errno
import json
import socket
import sys


def request(path, method, target, body=""):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
    except OSError as e:
        print("connect: " + errno.errorcode.get(e.errno, str(e.errno)))
        return 0
    data = body.encode()
    head = f"{method} {target} HTTP/1.1\r\nHost: portway\r\nConnection: close\r\nContent-Length: {len(data)}\r\n\r\n"
    s.sendall(head.encode() + data)
    raw = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        raw += chunk
    status = raw.split(b" ", 2)[1].decode() if raw.startswith(b"HTTP/1.") else "none"
    print(status)
    print(raw.partition(b"\r\n\r\n")[2].decode(errors="replace"))
    return 0


def parse_metrics(path):
    from prometheus_client.parser import text_string_to_metric_families
    text = open(path, encoding="utf-8").read()
    out = {}
    try:
        for family in text_string_to_metric_families(text):
            out[family.name] = {
                "type": family.type,
                "help": family.documentation,
                "samples": [{"name": s.name, "labels": s.labels} for s in family.samples],
            }
    except Exception as e:  # the parser's own words
        print(f"does not parse: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"families": out}))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "request":
        sys.exit(request(*sys.argv[2:]))
    if sys.argv[1] == "parse-metrics":
        sys.exit(parse_metrics(sys.argv[2]))
    sys.exit(2)
