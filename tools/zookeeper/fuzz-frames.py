#!/usr/bin/env python3
"""Feeds random and mutated frames to Cairn's ZooKeeper port while a kazoo client keeps working beside them.

Each round opens a raw connection and sends one kind of bad input: random bytes, a negative or oversized length,
a request before the handshake, a second handshake, a valid request with bytes flipped, cut short, or with a random
opcode. Whatever Cairn answers, it must close or answer only that connection: every 25 rounds, and at the end, the
kazoo client (one session throughout) creates, reads and deletes a node, and its session is never lost.

Usage: fuzz-frames.py ZK_PORT [ROUNDS] [SEED]   (run by CairnServerTests with .venv-compat's python)
Prints the seed, one line per failure, and exits 1 when the server stopped serving."""
import random
import socket
import struct
import sys

from kazoo.client import KazooClient, KazooState

zk_port = int(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
seed = int(sys.argv[3]) if len(sys.argv) > 3 else random.randrange(1 << 32)
rng = random.Random(seed)
print(f"seed {seed}, {rounds} rounds")


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def string(text):
    raw = text.encode()
    return struct.pack(">i", len(raw)) + raw


HANDSHAKE = frame(struct.pack(">iqiqi", 0, 0, 10000, 0, 16) + b"\0" * 16 + b"\0")
OPEN_ACL = struct.pack(">i", 1) + struct.pack(">i", 31) + string("world") + string("anyone")


def requests():
    """Valid request frames (after a handshake) of the ops with the most structure."""
    path = "/fuzz/n" + str(rng.randrange(100))
    create = struct.pack(">ii", 1, 1) + string(path) + string("data") + OPEN_ACL + struct.pack(">i", rng.choice([0, 1, 2, 4]))
    multi = (struct.pack(">ii", 2, 14) + struct.pack(">i?i", 1, False, -1) + string(path + "m") + string("")
             + OPEN_ACL + struct.pack(">i", 0) + struct.pack(">i?i", 2, False, -1) + string(path + "m")
             + struct.pack(">i", -1) + struct.pack(">i?i", -1, True, -1))
    watches = (struct.pack(">ii", -8, 101) + struct.pack(">q", 0) + struct.pack(">i", 1) + string(path)
               + struct.pack(">i", 0) + struct.pack(">i", 1) + string("/fuzz"))
    get = struct.pack(">ii", 3, 4) + string(path) + b"\1"
    acl = struct.pack(">ii", 4, 7) + string(path) + OPEN_ACL + struct.pack(">i", -1)
    auth = struct.pack(">ii", -4, 100) + struct.pack(">i", 0) + string("digest") + string("u:p")
    return [create, multi, watches, get, acl, auth]


def mutated(payload):
    data = bytearray(payload)
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def bad_input():
    """One round's bytes and what kind they are."""
    kind = rng.randrange(9)
    if kind == 0:
        return "random bytes", bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
    if kind == 1:
        return "negative length", struct.pack(">i", -rng.randint(1, 1 << 31)) + b"\0" * 8
    if kind == 2:
        return "oversized length", struct.pack(">i", rng.randint(2 << 20, (1 << 31) - 1)) + b"\0" * 64
    if kind == 3:
        return "request before the handshake", frame(rng.choice(requests()))
    if kind == 4:
        return "second handshake", HANDSHAKE + HANDSHAKE
    body = rng.choice(requests())
    if kind == 5:
        return "flipped bytes", HANDSHAKE + frame(mutated(body))
    if kind == 6:
        return "cut short", HANDSHAKE + frame(body[: rng.randrange(8, len(body))])
    if kind == 7:
        return "random opcode", HANDSHAKE + frame(struct.pack(">ii", 5, rng.randint(-20, 130)) + body[8:])
    return "mutated handshake", mutated(HANDSHAKE) + frame(body)


def send(data):
    """Sends `data` on a new connection and reads until the server closes it or goes quiet."""
    with socket.create_connection(("127.0.0.1", zk_port), timeout=5) as s:
        s.settimeout(0.2)
        try:
            s.sendall(data)
            while s.recv(65536):
                pass
        except (socket.timeout, ConnectionError):
            pass


client = KazooClient(hosts=f"127.0.0.1:{zk_port}", timeout=10)
states = []
client.add_listener(states.append)
client.start(timeout=10)
client.ensure_path("/fuzz")
session = client.client_id[0]


def healthy(label):
    node = client.create("/fuzz/healthy-", b"ok", sequence=True)
    value, _ = client.get(node)
    client.delete(node)
    if value != b"ok" or client.client_id[0] != session or KazooState.LOST in states:
        print(f"FAIL after {label}: the healthy client's session or data changed")
        sys.exit(1)


kinds = {}
for n in range(rounds):
    kind, data = bad_input()
    kinds[kind] = kinds.get(kind, 0) + 1
    try:
        send(data)
    except OSError as error:
        print(f"FAIL round {n} ({kind}): could not connect: {error}")
        sys.exit(1)
    if n % 25 == 24:
        healthy(f"round {n} ({kind})")
healthy("the last round")
client.stop()
print("rounds by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
print("the server kept serving")
