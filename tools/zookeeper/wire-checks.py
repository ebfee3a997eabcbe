#!/usr/bin/env python3
"""Checks Cairn's ZooKeeper port the way ZooKeeper clients see it: raw frames for the handshake's edge cases
(ZOOKEEPER-WIRE.md 1.3, 1.6, 1.12) and kazoo, a real client, for the ops; with the JSON-lines port beside it, that
both protocols share one tree and one watch hub.

Usage: wire-checks.py ZK_PORT JSON_PORT   (run by CairnServerTests with .venv-compat's python)
Prints one line per check and exits 1 at the first that fails."""
import json
import re
import socket
import struct
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import (BadArgumentsError, BadVersionError, NoAuthError, NoNodeError, NodeExistsError,
                              NotEmptyError, RolledBackError)
from kazoo.security import make_digest_acl

zk_port, json_port = int(sys.argv[1]), int(sys.argv[2])


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + (f": {detail}" if detail and not condition else ""))
    if not condition:
        sys.exit(1)


class Frames:
    """A raw ZooKeeper connection: 4-byte length frames."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)

    def send(self, payload):
        self.s.sendall(struct.pack(">i", len(payload)) + payload)

    def recv(self):
        header = self._exactly(4)
        if header is None:
            return None
        return self._exactly(struct.unpack(">i", header)[0])

    def _exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self.s.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def connect(self, session=0, password=b"\0" * 16, last_zxid=0, read_only=True):
        body = struct.pack(">iqiq", 0, last_zxid, 10000, session) + struct.pack(">i", len(password)) + password
        self.send(body + (b"\0" if read_only else b""))
        return self.recv()


def connect_response(raw):
    protocol, timeout, session, length = struct.unpack(">iiqi", raw[:20])
    return timeout, session, raw[20:20 + length], raw[20 + length:]


# The handshake: 45 bytes in, 37 out (with readOnly); 44 in, 36 out.
c = Frames(zk_port)
raw = c.connect()
check("a 45-byte ConnectRequest gets a 37-byte ConnectResponse", raw is not None and len(raw) == 37, raw)
timeout, session, password, rest = connect_response(raw)
check("a new session: its id, a 16-byte password, the timeout", session != 0 and len(password) == 16 and timeout > 0)
c.send(struct.pack(">ii", -2, 11))
reply = c.recv()
check("ping is answered with xid -2", reply is not None and struct.unpack(">i", reply[:4])[0] == -2, reply)
raw = Frames(zk_port).connect(read_only=False)
check("a 44-byte ConnectRequest gets a 36-byte ConnectResponse", raw is not None and len(raw) == 36, raw)

resumed = Frames(zk_port)
raw = resumed.connect(session=session, password=password)
check("resuming with id and password keeps the session", connect_response(raw)[1] == session)
check("... and closes the session's older connection", c.recv() is None)
bad = Frames(zk_port)
raw = bad.connect(session=session, password=b"\1" * 16)
check("a wrong password gets timeOut 0 and session 0", raw is not None and connect_response(raw)[:2] == (0, 0), raw)
check("... and the connection closes", bad.recv() is None)
ahead = Frames(zk_port)
check("a client that saw a later zxid is closed without an answer", ahead.connect(last_zxid=1 << 40) is None)

unknown = Frames(zk_port)
unknown.connect()
unknown.send(struct.pack(">ii", 7, 999))
reply = unknown.recv()
check("an unknown opcode is answered -6", reply is not None and struct.unpack(">iqi", reply[:16])[2] == -6, reply)
check("... and the connection closes", unknown.recv() is None)

for word, expected in [(b"ruok", b"imok"), (b"isro", b"rw")]:
    s = socket.create_connection(("127.0.0.1", zk_port), timeout=5)
    s.sendall(word)
    answer = s.recv(100)
    check(f"four-letter word {word.decode()}", answer == expected, answer)
s = socket.create_connection(("127.0.0.1", zk_port), timeout=5)
s.sendall(b"cons")
answer = s.recv(200)
check("a word off the whitelist says so", answer == b"cons is not executed because it is not in the whitelist.\n", answer)
s = socket.create_connection(("127.0.0.1", zk_port), timeout=5)
s.sendall(b"envi")
answer = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    answer += chunk
check("envi carries zookeeper.version=3.9", b"zookeeper.version=3.9." in answer, answer)

# kazoo, a real client.
zk = KazooClient(hosts=f"127.0.0.1:{zk_port}", timeout=10)
zk.start(timeout=10)
check("kazoo connects", zk.connected)
check("kazoo's server_version parses envi", zk.server_version()[:2] == (3, 9), zk.server_version())
check("create returns the path", zk.create("/app", b"v0") == "/app")
try:
    zk.create("/app")
    check("create of an existing node fails", False)
except NodeExistsError:
    check("create of an existing node is NodeExists", True)
data, stat = zk.get("/app")
check("get returns data and stat", data == b"v0" and stat.version == 0 and stat.dataLength == 2, stat)
check("exists of a missing node is None", zk.exists("/nope") is None)
check("set bumps the version", zk.set("/app", b"v1", version=0).version == 1)
try:
    zk.set("/app", b"x", version=9)
    check("a stale set fails", False)
except BadVersionError:
    check("a stale set is BadVersion", True)
first = zk.create("/app/job-", sequence=True)
second = zk.create("/app/job-", ephemeral=True, sequence=True)
check("sequential creates number from the parent", (first, second) == ("/app/job-0000000000", "/app/job-0000000001"))
check("an ephemeral's owner is the session", zk.exists(second).ephemeralOwner == zk.client_id[0])
children, stat = zk.get_children("/app", include_data=True)
check("getChildren2 lists children with the stat", sorted(children) == ["job-0000000000", "job-0000000001"]
      and stat.numChildren == 2, (children, stat))
try:
    zk.delete("/app")
    check("deleting a node with children fails", False)
except NotEmptyError:
    check("deleting a node with children is NotEmpty", True)
path = b"/app/"
resumed.send(struct.pack(">ii", 3, 1) + struct.pack(">i", len(path)) + path + struct.pack(">iii", -1, 0, 0))
reply = resumed.recv()
check("a path ending in / is BadArguments (-8)", struct.unpack(">iqi", reply[:16])[2] == -8, reply)

t = zk.transaction()
t.create("/app/t1")
t.delete("/app/missing")
results = t.commit()
check("a failed multi: rolled back, then the op's error", isinstance(results[0], RolledBackError)
      and isinstance(results[1], NoNodeError), results)
check("... and nothing of it stays", zk.exists("/app/t1") is None)
t = zk.transaction()
t.create("/app/t2", b"x")
t.check("/app", 1)
t.set_data("/app/t2", b"y")
check("a multi that succeeds", zk.transaction is not None and t.commit()[0] == "/app/t2")

events = []
fired = threading.Event()


def on_change(event):
    events.append(event)
    fired.set()


zk.get("/app", watch=on_change)

# The JSON-lines port: the same tree, the same watches.
j = socket.create_connection(("127.0.0.1", json_port), timeout=5)
j_file = j.makefile("rwb")


def call(request):
    j_file.write(json.dumps(request).encode() + b"\n")
    j_file.flush()
    while True:
        line = json.loads(j_file.readline())
        if "event" not in line:
            return line


call({"id": 1, "op": "connect"})
node = call({"id": 2, "op": "get", "path": "/app"})
check("a node made over ZooKeeper is read over JSON lines, same stat", node.get("data") == "v1"
      and node["stat"]["version"] == 1 and node["stat"]["czxid"] == stat.czxid, node)
check("a JSON-lines set fires the ZooKeeper client's watch", call({"id": 3, "op": "set", "path": "/app", "data": "v2"})["ok"]
      and fired.wait(5) and events[0].type == "CHANGED" and events[0].path == "/app", events)

# setWatches (101) on a new connection, as Java and C clients send it after a reconnect: relativeZxid 0, a data watch
# on /app (changed since: fires at once), an exist watch on a missing node (set), a child watch on a missing node
# (deleted: fires at once); then the reply.
def strings(paths):
    return struct.pack(">i", len(paths)) + b"".join(struct.pack(">i", len(p)) + p for p in paths)


w = Frames(zk_port)
w.connect()
w.send(struct.pack(">iiq", 9, 101, 0) + strings([b"/app"]) + strings([b"/later"]) + strings([b"/gone"]))
frames = [w.recv() for _ in range(3)]
events = [(struct.unpack(">i", f[16:20])[0], f[28:]) for f in frames[:2] if struct.unpack(">i", f[:4])[0] == -1]
check("setWatches fires the changed data watch and the gone child watch at once", sorted(events) == [(2, b"/gone"), (3, b"/app")],
      frames)
check("... then replies (xid 9, no error)", struct.unpack(">iqi", frames[2][:16])[0::2] == (9, 0), frames[2])
zk.create("/later")
later = w.recv()
check("... and the exist watch it set fires when the node comes", later is not None and struct.unpack(">i", later[:4])[0] == -1
      and struct.unpack(">i", later[16:20])[0] == 1 and later[28:] == b"/later", later)

# getEphemerals (103) lists this session's ephemerals under a prefix; getAllChildrenNumber (104) counts descendants.
name = b"/w-eph"
open_acl = struct.pack(">ii", 1, 31) + struct.pack(">i", 5) + b"world" + struct.pack(">i", 6) + b"anyone"
w.send(struct.pack(">ii", 10, 1) + struct.pack(">i", len(name)) + name + struct.pack(">i", -1) + open_acl
       + struct.pack(">i", 1))
check("an ephemeral made on the raw connection", struct.unpack(">iqi", w.recv()[:16])[2] == 0)
w.send(struct.pack(">ii", 11, 103) + struct.pack(">i", 2) + b"/w")
reply = w.recv()
count = struct.unpack(">i", reply[16:20])[0]
check("getEphemerals lists the session's own, by prefix", count == 1 and reply[24:] == name, reply)
w.send(struct.pack(">ii", 12, 104) + struct.pack(">i", 4) + b"/app")
reply = w.recv()
total = struct.unpack(">i", reply[16:20])[0]
check("getAllChildrenNumber counts every descendant", total == len(zk.get_children("/app")), (total, reply))

# checkWatches (17) and removeWatches (18) by watcher type: Children 1, Data 2, Any 3.
def watch_op(xid, op, path, kind):
    w.send(struct.pack(">ii", xid, op) + struct.pack(">i", len(path)) + path + struct.pack(">i", kind))
    return struct.unpack(">iqi", w.recv()[:16])[2]


w.send(struct.pack(">ii", 20, 4) + struct.pack(">i", 4) + b"/app" + b"\1")
check("getData with a watch", struct.unpack(">iqi", w.recv()[:16])[2] == 0)
check("checkWatches: no child watch is NoWatcher (-121)", watch_op(21, 17, b"/app", 1) == -121)
check("checkWatches: the data watch is there", watch_op(22, 17, b"/app", 2) == 0)
check("removeWatches of another type removes nothing (-121)", watch_op(23, 18, b"/app", 1) == -121)
check("removeWatches of its type removes it", watch_op(24, 18, b"/app", 2) == 0)
check("... and then no watch of any type is left", watch_op(25, 17, b"/app", 3) == -121)

zk.add_auth("digest", "bob:pw")
zk.create("/secret", b"s", acl=[make_digest_acl("bob", "pw", all=True)])
acl, _ = zk.get_acls("/secret")
check("an ACL made with kazoo's digest", acl[0].id.scheme == "digest" and acl[0].id.id.startswith("bob:"), acl)
other = KazooClient(hosts=f"127.0.0.1:{zk_port}", timeout=10)
other.start(timeout=10)
try:
    other.get("/secret")
    check("another client is refused", False)
except NoAuthError:
    check("another client is refused with NoAuth", True)
other.stop()

# multiRead (22): getData and getChildren from one view, each failing alone (an ErrorResult, type -1) under error 0.
def multi_header(kind, done=False, err=-1):
    return struct.pack(">i?i", kind, done, err)


def read_op(kind, path):
    return multi_header(kind) + struct.pack(">i", len(path)) + path + b"\0"


zk.ensure_path("/deep/er")
w.send(struct.pack(">ii", 30, 22) + read_op(4, b"/app") + read_op(8, b"/missing") + read_op(4, b"/secret")
       + read_op(8, b"/deep") + multi_header(-1, True))
reply = w.recv()
check("multiRead's reply: xid and error 0", struct.unpack(">iqi", reply[:16])[0::2] == (30, 0), reply)
at = 16
kind, done, err = struct.unpack(">i?i", reply[at:at + 9])
length = struct.unpack(">i", reply[at + 9:at + 13])[0]
data = reply[at + 13:at + 13 + length]
check("... getData's result: type 4, the data", (kind, done, err, data) == (4, False, 0, b"v2"), reply[at:])
at += 13 + length + 68
results = []
for _ in range(2):
    results.append(struct.unpack(">i?ii", reply[at:at + 13]))
    at += 13
check("... a missing node's and a refused read's ErrorResults", results == [(-1, False, -101, -101), (-1, False, -102, -102)],
      results)
kind, done, err, count = struct.unpack(">i?ii", reply[at:at + 13])
check("... getChildren's result: type 8, the names", (kind, err, count) == (8, 0, 1), reply[at:])
at += 13 + 4 + len(b"er")
check("... and the terminator", reply[at:] == multi_header(-1, True, -1), reply[at:])

# check (13) outside a multi, as ZooKeeper 3.8 answers it: a version check with no body.
def check_op(xid, path, version):
    w.send(struct.pack(">ii", xid, 13) + struct.pack(">i", len(path)) + path + struct.pack(">i", version))
    return struct.unpack(">iqi", w.recv()[:16])[2]


check("check outside a multi: a missing node is NoNode, a wrong version BadVersion, a match 0",
      (check_op(31, b"/missing", 0), check_op(32, b"/deep", 3), check_op(33, b"/deep", 0)) == (-101, -103, 0))

# ZooKeeper's own nodes: there, protected, and /zookeeper/config readable only.
check("/zookeeper, its config and quota are there", "zookeeper" in zk.get_children("/")
      and sorted(zk.get_children("/zookeeper")) == ["config", "quota"])
try:
    zk.delete("/zookeeper/quota")
    check("/zookeeper/quota cannot be deleted", False)
except BadArgumentsError:
    check("/zookeeper/quota cannot be deleted (BadArguments)", True)
try:
    zk.set("/zookeeper/config", b"x")
    check("/zookeeper/config is read-only", False)
except NoAuthError:
    check("/zookeeper/config is read-only (NoAuth)", True)
# Null data (a null buffer) is kept as null, not as empty, and JSON lines show it as null.
zk.create("/nulldata", None)
check("null data reads back as None over ZooKeeper", zk.get("/nulldata")[0] is None)
check("... and as null over JSON lines", call({"id": 40, "op": "get", "path": "/nulldata"})["data"] is None)
# The figures of srvr, stat, mntr and wchs move with the load, in ZooKeeper's line formats.
def word(w):
    s = socket.create_connection(("127.0.0.1", zk_port), timeout=5)
    s.sendall(w)
    answer = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return answer.decode()
        answer += chunk


def received():
    return int(re.search(r"^Received: (\d+)$", word(b"srvr"), re.M)[1])


before = received()
zk.get("/app", watch=lambda event: None)
check("srvr's Received counts requests", received() >= before + 1)
srvr = word(b"srvr").splitlines()
check("srvr's lines are ZooKeeper's", [line.split(":")[0] for line in srvr] == ["Zookeeper version", "Latency min/avg/max",
      "Received", "Sent", "Connections", "Outstanding", "Zxid", "Mode", "Node count"], srvr)
mntr = dict(line.split("\t") for line in word(b"mntr").splitlines())
znodes = call({"id": 41, "op": "stats"})["znodes"]
check("mntr's znode count is the tree's", int(mntr["zk_znode_count"]) == znodes, (mntr, znodes))
check("mntr counts this session's ephemeral", int(mntr["zk_ephemerals_count"]) >= 1 and int(mntr["zk_packets_sent"]) > 0
      and int(mntr["zk_min_latency"]) <= int(mntr["zk_max_latency"]), mntr)
stat = word(b"stat")
clients = re.findall(r"^ /127\.0\.0\.1:\d+\[1\]\(queued=\d+,recved=\d+,sent=\d+\)$", stat, re.M)
check("stat lists each connection", len(clients) >= 2, stat)
wchs = word(b"wchs")
check("wchs counts the watch just set", re.match(r"\d+ connections watching \d+ paths\nTotal watches:[1-9]", wchs), wchs)
check("sync", zk.sync("/app") == "/app")
zk.ensure_path("/deep/er/path")
check("ensure_path makes the parents", zk.exists("/deep/er/path") is not None)
zk.stop()
zk.close()
print("all checks passed")
