#!/usr/bin/env python3
"""A tiny TCP proxy on 127.0.0.1 that adds latency to every chunk it
forwards, to simulate a remote registry (this kernel has no netem).

    delay-proxy.py LISTEN_PORT TARGET_PORT DELAY_MS [CONNECTION_LOG]

Each chunk waits DELAY_MS in each direction, so a request and its answer
take about 2 × DELAY_MS more. With CONNECTION_LOG, a line is appended per
accepted connection (for counting them).

Loopback only; it stops when killed.
"""
import queue
import socket
import sys
import threading
import time

listen_port, target_port, delay = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000
connection_log = sys.argv[4] if len(sys.argv) > 4 else None


def pipe(src, dst):
    """Forward src to dst, each chunk DELAY later than it arrived: latency
    without a bandwidth limit (a chunk does not wait for the one before it
    to be delayed first), as a long link behaves."""
    chunks = queue.Queue()

    def writer():
        try:
            while True:
                due, data = chunks.get()
                if data is None:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    threading.Thread(target=writer, daemon=True).start()
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            chunks.put((time.monotonic() + delay, data))
    except OSError:
        pass
    chunks.put((0, None))


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port))
server.listen(256)
while True:
    client, _ = server.accept()
    if connection_log:
        with open(connection_log, "a") as log:
            log.write("connection\n")
    upstream = socket.create_connection(("127.0.0.1", target_port))
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
