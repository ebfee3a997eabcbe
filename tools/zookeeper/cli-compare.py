#!/usr/bin/env python3
"""Runs the same scripted zkCli session (Java client) and C client shell (cli_mt) session against a real Apache
ZooKeeper 3.8 (Debian's zookeeper and zookeeper-bin packages, started here on a free loopback port with an empty data
directory) and against the server on 127.0.0.1:PORT (Cairn, with an empty tree), masks what legitimately differs
between two servers (zxids, times, session ids, ports, logger noise) and compares the two transcripts.

Usage: cli-compare.py PORT [--show]         compare ZooKeeper with the server on 127.0.0.1:PORT
       cli-compare.py --self-test [--show]  compare ZooKeeper with a second ZooKeeper (checks masks and determinism)
--show prints both masked transcripts. Exits 1 with a unified diff when they differ."""
import argparse
import difflib
import os
import re
import select
import signal
import subprocess
import sys
import time

from zkserver import ZOOKEEPER_JAR, ZooKeeper, debian_file

DIGEST_OTHER = "8q+cqA9FicvypK1WV0YuCD5XdXU="  # base64(sha1("other:secret")): an identity the session never has
REPLY_TIMEOUT = 10  # seconds a server gets to answer one C client command
ZKCLI_TIMEOUT = 60  # seconds the whole zkCli session gets (zkCli waits up to 30 s for its connection)

# The zkCli session. zkCli's event thread prints watch events while its main thread goes on with the next
# commands; run_zkcli puts a `sync` between commands, whose answer zkCli's event thread also handles (after the
# events before it), so each event lands in the transcript right after the command that caused it.
ZKCLI_SESSION = [
    "create /cmp root",
    "ls /",
    "ls /zookeeper",
    "create /cmp/a alpha",
    "create /cmp/a again",
    "get /cmp/missing",
    "create /cmp/nothere/child x",
    "create -e /cmp/eph temp",
    "create -e /cmp/eph/child x",
    "create -s /cmp/seq- first",
    "create -s /cmp/seq- second",
    "create -e -s /cmp/eseq- x",
    "create -c /cmp/box",
    "create /cmp/box/item inside",
    "get -s /cmp/a",
    "stat /cmp/eph",
    "ls /cmp",
    "ls -s /cmp",
    "ls -R /cmp",
    "set /cmp/a beta",
    "set -s /cmp/a gamma",
    "set -v 2 /cmp/a delta",
    "set -v 1 /cmp/a stale",
    "get -w /cmp/a",
    "set /cmp/a trigger",
    "sync /cmp",
    "get /cmp/a",
    "getAcl /cmp/a",
    "addauth digest user:pass",
    "whoami",
    "create /cmp/private secret",
    "setAcl /cmp/private auth::cdrwa",
    "getAcl /cmp/private",
    "create /cmp/locked hidden",
    f"setAcl /cmp/locked digest:other:{DIGEST_OTHER}:cdrwa",
    "get /cmp/locked",
    "getAcl /cmp/locked",
    "create /cmp/pub open",
    "setAcl /cmp/pub world:anyone:r",
    "getAcl -s /cmp/pub",
    "set /cmp/pub changed",
    "delete /cmp/box",  # /cmp/box keeps its child: servers reap empty containers at their own pace
    "create /cmp/tree t",
    "create /cmp/tree/leaf l",
    "create /cmp/pw p",
    "create /cmp/pw/c c",
    "addWatch /cmp/tree",
    "addWatch -m PERSISTENT /cmp/pw",
    "set /cmp/tree/leaf m",
    "delete /cmp/tree/leaf",
    "set /cmp/pw q",
    "delete /cmp/pw/c",
    "removewatches /cmp/tree",
    "removewatches /cmp/pw",
    "get -w /cmp/pw",
    "removewatches /cmp/pw -d",
    "removewatches /cmp/pw",
    "getEphemerals /cmp",
    "getEphemerals",
    "getAllChildrenNumber /cmp",
    "delete /cmp/locked",
    "deleteall /cmp",
    "ls /cmp",
    "quit",
]

# The C client shell session. cli_mt answers asynchronously (and creates always store "new" with an open ACL);
# run_c_client waits for each command's answers before it sends the next. get, ls, ls2 and exists leave watches, so
# later commands also print their events.
C_SESSION = [
    "create /ccmp",
    "create /ccmp/a",
    "create /ccmp/a",
    "create /ccmp/nothere/child",
    "create +e /ccmp/eph",
    "create +s /ccmp/seq-",
    "create +s /ccmp/seq-",
    "create +es /ccmp/eseq-",
    "create +c /ccmp/box",
    "create2 /ccmp/b",
    "get /ccmp/a",
    "get /ccmp/missing",
    "set /ccmp/a fresh",
    "set /ccmp/missing x",
    "ls /ccmp",
    "ls2 /ccmp",
    "exists /ccmp/eph",
    "exists /ccmp/none",
    "delete /ccmp/eph",
    "delete /ccmp",
    "sync /ccmp",
    "addauth digest user:pass",
    "ls /ccmp",
    "delete /ccmp/a",
    "delete /ccmp/b",
    "delete /ccmp/box",
    "delete /ccmp/seq-0000000002",
    "delete /ccmp/seq-0000000003",
    "delete /ccmp/eseq-0000000004",
    "get /ccmp",
    "delete /ccmp",
    "exists /ccmp",
    "quit",
]

ZKCLI_BARRIER = "Sync is OK"  # zkCli's answer to "sync /", which follows every zkCli command
ZKCLI_MARKER = "/cmp/marker-"  # run_zkcli gets this missing node before every command; its error line is the label
C_SENTINEL = ["[/]: rc = 0", "\tname = /"]  # cli_mt's answer to "sync /", which follows every C command


def run_zkcli(zkcli, port):
    """The zkCli session against 127.0.0.1:port as [(command, output lines)], the first entry being the connection."""
    script = "".join(f"sync /\nget {ZKCLI_MARKER}{i}\n{command}\n" for i, command in enumerate(ZKCLI_SESSION))
    process = subprocess.Popen([zkcli, "-waitforconnection", "-server", f"127.0.0.1:{port}"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(script, timeout=ZKCLI_TIMEOUT)
        unfinished = []
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # zkCli.sh and its JVM
        output, _ = process.communicate()
        unfinished = ["<zkCli did not finish>"]
    chunks = [("(connect)", [])]
    for line in output.splitlines():
        i = len(chunks) - 1
        if i < len(ZKCLI_SESSION) and line == f"Node does not exist: {ZKCLI_MARKER}{i}":
            if chunks[-1][1][-1:] == [ZKCLI_BARRIER]:
                chunks[-1][1].pop()
            chunks.append((ZKCLI_SESSION[i], []))
        else:
            chunks[-1][1].append(line)
    chunks[-1][1].extend(unfinished)
    return chunks


class Lines:
    """Reads lines from a pipe, each by a deadline."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buffer = b""
        self.eof = False

    def readline(self, deadline):
        """The next line without its newline, or None at end of file or at the deadline (time.monotonic())."""
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if self.eof or remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                return None
            data = os.read(self.fd, 65536)
            self.eof = not data
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace")


def run_c_client(cli, port):
    """The C client session against 127.0.0.1:port as [(command, output lines)], the first entry being the
    connection. After each command it sends `sync /` and reads up to that answer, which comes after every answer and
    watch event of the command (one connection, answered in order), and leaves the sync's own lines out."""
    process = subprocess.Popen([cli, "-h", f"127.0.0.1:{port}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    lines = Lines(process.stdout)
    chunks = [("(connect)", [])]

    def read_until(last):
        """Appends lines to the current chunk up to the one for which last(line) holds; False on timeout or EOF."""
        deadline = time.monotonic() + REPLY_TIMEOUT
        while (line := lines.readline(deadline)) is not None:
            chunks[-1][1].append(line)
            if last(line):
                return True
        chunks[-1][1].append("<no answer>")
        return False

    try:
        if not read_until(lambda line: line.startswith("Got a new session id: ")):
            return chunks
        for command in C_SESSION:
            chunks.append((command, []))
            process.stdin.write(command.encode() + b"\n" + (b"" if command == "quit" else b"sync /\n"))
            process.stdin.flush()
            if command == "quit":
                deadline = time.monotonic() + REPLY_TIMEOUT
                while (line := lines.readline(deadline)) is not None:
                    chunks[-1][1].append(line)
                if not lines.eof:
                    chunks[-1][1].append("<no end of output>")
            elif read_until(lambda line: chunks[-1][1][-2:] == C_SENTINEL):
                del chunks[-1][1][-2:]
            else:
                break
    finally:
        process.kill()
        process.wait()
    return chunks


# Masks applied to every output line: (pattern, replacement).
LINE_MASKS = [
    # zkCli's stat
    (re.compile(r"^(cZxid|mZxid|pZxid) = 0x[0-9a-f]+$"), r"\1 = <zxid>"),
    (re.compile(r"^(ctime|mtime) = .*$"), r"\1 = <time>"),
    (re.compile(r"^ephemeralOwner = 0x(?!0$)[0-9a-f]+$"), "ephemeralOwner = <session>"),
    # cli_mt's stat (dumpStat), its session and its request timer
    (re.compile(r"^\t(czxid|mzxid)=[0-9a-f]+$"), r"\t\1=<zxid>"),
    (re.compile(r"^\t(ctime = |mtime=).*$"), r"\t\1<time>"),
    (re.compile(r"^\tephemeralOwner = (?!0$)[0-9a-f]+$"), "\tephemeralOwner = <session>"),
    (re.compile(r"^Got a new session id: 0x[0-9a-f]+$"), "Got a new session id: <session>"),
    (re.compile(r"^time = -?\d+ msec$"), "time = <ms> msec"),
    # the C client's log lines: time, pid and thread
    (re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}:\d+\(0x[0-9a-f]+\):"), "<time>:<pid>(<thread>):"),
]
SLF4J_NOISE = re.compile(r"^SLF4J: ")  # the JVM's logger binding warnings, printed wherever the first log call is
# zkCli's event thread prints this after `quit` only if the JVM has not exited first.
CLOSED_EVENT = ["", "WATCHER::", "", "WatchedEvent state:Closed type:None path:null"]


def sort_listed_children(output):
    """Sorts the children cli_mt prints (tab-indented, after "<path>: rc = 0"): their order is the server's and
    ZooKeeper documents it as unspecified (Apache ZooKeeper returns its HashSet's order)."""
    result = list(output)
    for i, line in enumerate(output):
        if re.fullmatch(r"/\S*: rc = 0", line):
            end = i + 1
            while end < len(output) and output[end].startswith("\t"):
                end += 1
            result[i + 1:end] = sorted(output[i + 1:end])
    return result


def sort_ephemerals(output):
    """Sorts zkCli's getEphemerals list: the server's order, unspecified (a HashSet in Apache ZooKeeper)."""
    return ["[" + ", ".join(sorted(line[1:-1].split(", "))) + "]" if line.startswith("[/") else line
            for line in output]


def mask(tool, chunks, port):
    """The masked transcript lines of one session."""
    transcript = []
    for command, output in chunks:
        output = [line.replace(f"127.0.0.1:{port}", "127.0.0.1:<port>") for line in output
                  if not SLF4J_NOISE.match(line)]
        for pattern, replacement in LINE_MASKS:
            output = [pattern.sub(replacement, line) for line in output]
        if tool == "zkCli" and command == "quit" and output[-len(CLOSED_EVENT):] == CLOSED_EVENT:
            del output[-len(CLOSED_EVENT):]
        if command.startswith("getEphemerals"):
            output = sort_ephemerals(output)
        if tool == "cli_mt" and command.split()[0] in ("ls", "ls2"):
            output = sort_listed_children(output)
        transcript.append(f"{tool}> {command}")
        transcript.extend(output)
    return transcript


def transcript(zkcli, cli, port):
    return mask("zkCli", run_zkcli(zkcli, port), port) + mask("cli_mt", run_c_client(cli, port), port)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("port", nargs="?", type=int, help="the other server's port on 127.0.0.1")
    target.add_argument("--self-test", action="store_true", help="compare with a second Apache ZooKeeper")
    parser.add_argument("--show", action="store_true", help="print both masked transcripts")
    args = parser.parse_args()
    if not os.path.exists(ZOOKEEPER_JAR):
        sys.exit(f"cli-compare: {ZOOKEEPER_JAR} missing; install Debian's zookeeper and zookeeper-bin packages")
    zkcli, cli = debian_file("zkCli.sh"), debian_file("cli_mt")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the ZooKeepers are stopped

    with ZooKeeper() as reference:
        expected = transcript(zkcli, cli, reference.port)
    if args.self_test:
        with ZooKeeper() as other:
            name, actual = "second ZooKeeper", transcript(zkcli, cli, other.port)
    else:
        name, actual = f"127.0.0.1:{args.port}", transcript(zkcli, cli, args.port)

    if args.show:
        for title, lines in (("ZooKeeper", expected), (name, actual)):
            print(f"===== {title} =====", *lines, sep="\n")
    diff = list(difflib.unified_diff(expected, actual, "ZooKeeper", name, lineterm=""))
    if diff:
        print(*diff, sep="\n")
        sys.exit(1)
    print(f"{len(expected)} lines compared: cli sessions match")


if __name__ == "__main__":
    main()
