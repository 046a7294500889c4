#!/usr/bin/env python3
"""Wait for cvm-attestd's first token and report the start-up times.

Usage: first_token.py SOCKET DAEMON_LOG READY_FILE START_FILE

Creates READY_FILE once Python has started, so the caller can launch the
daemon only then and the interpreter's own start-up is not measured. The
caller then writes "PID STARTED" to START_FILE: the daemon's pid and its
launch time in seconds since the epoch (bash's $EPOCHREALTIME). Checks
DAEMON_LOG every millisecond and, once it reports the first successful
attestation, sends GET /v1/token to SOCKET until it returns 200. Prints
JSON with the time from STARTED to that response and the attestation and
stage times that the daemon logged in DAEMON_LOG. Exits 1 if the daemon
exits or no token arrives within 120 s.
"""

import json
import os
import re
import socket
import sys
import time

TIMEOUT_SECONDS = 120
REQUEST = b"GET /v1/token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
STAGES = ["tpm", "certificates", "self_check", "service", "decrypt_and_verify"]
STAGES_LINE = re.compile(
    r"Attestation stages \(ms\): tpm ([\d.]+), certificates ([\d.]+), self_check ([\d.]+), "
    r"service ([\d.]+), decrypt_and_verify ([\d.]+)"
)
SUCCEEDED_LINE = re.compile(r"Attestation succeeded \(default token, (\d+) ms\)")


def token_status(path):
    """Return the HTTP status of one GET /v1/token, or None if the socket does not accept it."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
            client.sendall(REQUEST)
            status_line = client.recv(64).split(b"\r\n", 1)[0]
    except OSError:
        return None
    fields = status_line.split(b" ")
    return int(fields[1]) if len(fields) >= 2 and fields[1].isdigit() else None


def read_start_file(path):
    """Return (pid, started) from the caller's START_FILE, or None before it is complete."""
    try:
        with open(path, encoding="ascii") as handle:
            fields = handle.read().split()
    except FileNotFoundError:
        return None
    if len(fields) != 2:
        return None
    return int(fields[0]), float(fields[1])


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    path, log_path, ready_path, start_path = sys.argv[1:]
    with open(ready_path, "w", encoding="ascii"):
        pass
    deadline = time.monotonic() + TIMEOUT_SECONDS
    start = None
    # Watch the log for the first attestation's result before asking the
    # daemon over HTTP: a request every millisecond during the attestation
    # would cost a thread and a log line each and slow the daemon down.
    log_size = -1
    attested = False
    while True:
        if time.monotonic() > deadline:
            sys.exit(f"first_token.py: no token within {TIMEOUT_SECONDS} s; see {log_path}")
        start = start or read_start_file(start_path)
        if start:
            try:
                os.kill(start[0], 0)
            except ProcessLookupError:
                sys.exit(f"first_token.py: cvm-attestd (pid {start[0]}) exited before serving a token; see {log_path}")
        if not attested:
            try:
                size = os.stat(log_path).st_size
            except FileNotFoundError:
                size = -1
            if size != log_size:
                log_size = size
                with open(log_path, encoding="utf-8", errors="replace") as handle:
                    attested = SUCCEEDED_LINE.search(handle.read()) is not None
        # The daemon logs the result just before it stores the token, so the
        # first request may still get 503.
        if attested and token_status(path) == 200:
            break
        time.sleep(0.001)
    first_token = time.time()
    start = start or read_start_file(start_path)
    if not start:
        sys.exit(f"first_token.py: {start_path} does not contain the daemon's pid and start time")
    started = start[1]

    # The daemon logs both lines before the token becomes available, but
    # stderr may reach the file a moment later.
    for _ in range(100):
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            log_text = handle.read()
        stages = STAGES_LINE.search(log_text)
        succeeded = SUCCEEDED_LINE.search(log_text)
        if stages and succeeded:
            break
        time.sleep(0.01)
    else:
        sys.exit(f"first_token.py: {log_path} lacks the 'Attestation stages' or 'Attestation succeeded' line")

    print(json.dumps({
        "first_token_ms": round((first_token - started) * 1000, 1),
        "attestation_ms": int(succeeded.group(1)),
        "stages_ms": {name: float(stages.group(i + 1)) for i, name in enumerate(STAGES)},
    }))


if __name__ == "__main__":
    main()
