#!/usr/bin/env python3
"""Migration between Apache ZooKeeper 3.8 (Debian's, started here) and Cairn, through cairnctl:

1. A tree made in ZooKeeper (data, binary data, null data, a digest ACL, a read-only ACL, sequential nodes with
   gaps, versions, ephemeral nodes held by a live session; container and TTL nodes, some in the snapshot ZooKeeper
   takes as it restarts and some only in its log, by zkCli and by the Java client, plain and in a multi) is dumped
   with `cairnctl dump --zookeeper --zookeeper-data`, loaded into Cairn, and read back through both servers'
   ZooKeeper ports with kazoo: the same data, ACLs, versions and ACL versions, no ephemerals, and under every parent
   the same next sequential name; the dump and Cairn's own dump give every node ZooKeeper's kind. Damaged files (a
   log record, a Snappy block) are refused, naming file and offset.
2. A dump taken while a writer keeps setting and creating nodes is consistent at the zxid it states: each node holds
   the last value written at or before that zxid, and exactly the nodes created by then exist. Then the kinds are
   read again from the Snappy snapshot the same ZooKeeper writes when restarted with Snappy set.
3. Cairn's dump of that tree, loaded into a second, empty ZooKeeper with `cairnctl load --zookeeper`, reads back the
   same through zkCli (get, getAcl, ls -R) as Cairn does, names the same next sequential nodes, and (read back with
   --zookeeper-data from the gzip snapshot it takes as it restarts) has the same container and TTL nodes.

Usage: migration-checks.py CAIRN_ZK_PORT CAIRN_PORT CAIRNCTL. Prints "migration checks passed" or exits 1."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

from kazoo.client import KazooClient
from kazoo.security import make_acl, make_digest_acl

from zkserver import ZooKeeper, debian_file

DIGEST = "bob:pw"


def fail(message):
    sys.exit("migration-checks: " + message)


def connect(port):
    client = KazooClient(f"127.0.0.1:{port}", timeout=10)
    client.start(timeout=30)
    client.add_auth("digest", DIGEST)
    return client


def ctl(cairnctl, *arguments):
    result = subprocess.run([cairnctl, *arguments], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        fail(f"cairnctl {' '.join(arguments)} exited {result.returncode}: {result.stderr}{result.stdout}")
    return result.stdout


def make_tree(zk):
    """The tree of check 1; returns the session holding its ephemerals (kept open through the dump)."""
    zk.create("/app", b"first")
    zk.set("/app", b"second")
    zk.set("/app", b"third")
    zk.create("/app/binary", bytes(range(256)))
    zk.create("/secret", b"hidden", acl=[make_digest_acl("bob", "pw", all=True)])
    zk.create("/secret/inner", b"also")
    zk.create("/readonly", b"ro", acl=[make_acl("world", "anyone", read=True)])
    zk.create("/acl-changed", b"")
    zk.set_acls("/acl-changed", [make_acl("world", "anyone", all=True)])
    zk.create("/q")
    names = [zk.create("/q/n-", b"", sequence=True) for _ in range(5)]
    for name in names[:3]:
        zk.delete(name)
    zk.create("/services/web", makepath=True)
    holder = connect(zk.hosts[0][1])
    holder.create("/services/web/instance-", b"10.0.0.1:80", ephemeral=True, sequence=True)
    holder.create("/app/lease", b"held", ephemeral=True)
    return holder


# The container and TTL nodes `make_extended_nodes` makes, as a dump states their kinds.
EXTENDED = {"/jobs": ("container", None), "/lease": ("ttl", 600000), "/later": ("container", None),
            "/later-ttl": ("ttl", 900000), "/batch": ("container", None), "/batch/ttl": ("ttl", 300000)}


def make_extended_nodes(zookeeper):
    """Nodes kazoo cannot make: null data (zkCli's create without data), and container and TTL nodes, some by zkCli
    before a restart (ZooKeeper's snapshot holds them), then some by the Java client, plainly and in a multi (only its
    log does)."""
    script = "create -c /jobs jobs\ncreate /jobs/j1 x\ncreate -t 600000 /lease data\ncreate /null-data\n"
    result = subprocess.run([debian_file("zkCli.sh"), "-waitforconnection", "-server", f"127.0.0.1:{zookeeper.port}"],
                            input=script, capture_output=True, text=True, timeout=120)
    if (result.stdout + result.stderr).count("Created") != 4:
        fail(f"zkCli did not create the null-data, container and TTL nodes:\n{result.stdout}{result.stderr}")
    zookeeper.restart()
    jars = ":".join(f"/usr/share/java/{jar}.jar" for jar in ["zookeeper", "zookeeper-jute", "slf4j-api"])
    java = subprocess.run(["java", "-cp", jars, os.path.join(os.path.dirname(__file__), "ExtendedNodes.java"),
                           f"127.0.0.1:{zookeeper.port}"], capture_output=True, text=True, timeout=120)
    if "created" not in java.stdout:
        fail(f"ExtendedNodes.java failed:\n{java.stdout}{java.stderr}")


def check_kinds(dump, what):
    """Every node of the dump file has the kind ZooKeeper gave it: EXTENDED's, else persistent."""
    with open(dump) as f:
        nodes = [json.loads(line) for line in f][1:]
    for node in nodes:
        if node["path"].startswith("/zookeeper"):
            continue
        expected = EXTENDED.get(node["path"], ("persistent", None))
        if (node["kind"], node.get("ttl_ms")) != expected:
            fail(f"{what}: {node['path']} is {node['kind']} {node.get('ttl_ms')}, not {expected}")
    missing = set(EXTENDED) - {node["path"] for node in nodes}
    if missing:
        fail(f"{what}: {sorted(missing)} missing")


def refuse_damaged_log(zookeeper, cairnctl, work):
    """A log record with a flipped byte makes `--zookeeper-data` refuse, naming the file and the record's offset."""
    damaged = os.path.join(work, "damaged")
    shutil.copytree(zookeeper.data, damaged)
    log = max(glob.glob(damaged + "/version-2/log.*"), key=lambda name: int(name.rsplit(".", 1)[1], 16))
    with open(log, "r+b") as f:
        f.seek(16 + 12 + 10)  # inside the first record's header
        byte = f.read(1)[0]
        f.seek(-1, 1)
        f.write(bytes([byte ^ 0xFF]))
    expect_refusal(zookeeper, cairnctl, work, damaged, f"{log}: the record at offset 16 fails its checksum")


def expect_refusal(zookeeper, cairnctl, work, data, reason):
    """A dump with `--zookeeper-data data` fails, saying `reason`."""
    result = subprocess.run([cairnctl, "dump", "--zookeeper", f"127.0.0.1:{zookeeper.port}", "--auth", DIGEST,
                             "--zookeeper-data", data, "-o", os.path.join(work, "unused.jsonl")],
                            capture_output=True, text=True, timeout=120)
    if result.returncode == 0 or reason not in result.stderr:
        fail(f"damaged files were not refused with {reason!r}: exit {result.returncode}: {result.stderr}")


def walk(zk, path="/"):
    """Every path below `path` except ZooKeeper's own and ephemerals, parents first."""
    paths = []
    for child in sorted(zk.get_children(path)):
        full = (path.rstrip("/") + "/" + child)
        if full == "/zookeeper" or zk.exists(full).ephemeralOwner:
            continue
        paths.append(full)
        paths.extend(walk(zk, full))
    return paths


def describe(zk, path):
    data, stat = zk.get(path)
    acl, acl_stat = zk.get_acls(path)
    return (data, stat.version, acl_stat.aversion, sorted((a.perms, a.id.scheme, a.id.id) for a in acl))


def next_sequential(zk, parent):
    name = zk.create(parent.rstrip("/") + "/probe-", b"", sequence=True)
    zk.delete(name)
    return name


def compare_trees(a, b, what, versions=True):
    paths = walk(a)
    if paths != walk(b):
        fail(f"{what}: the trees differ: {paths} against {walk(b)}")
    for path in paths:
        left, right = describe(a, path), describe(b, path)
        if not versions:
            left, right = (left[0], left[3]), (right[0], right[3])
        if left != right:
            fail(f"{what}: {path} differs: {left} against {right}")
    for parent in ["/"] + [p for p in paths if a.get_children(p)] + ["/q"]:
        if "readonly" in parent:
            continue
        if next_sequential(a, parent) != next_sequential(b, parent):
            fail(f"{what}: the next sequential name under {parent} differs")
    return paths


def snappy_snapshot(zookeeper, cairnctl, work):
    """Check 1 again from a Snappy snapshot: restarted with zookeeper.snapshot.compression.method=snappy, ZooKeeper
    writes one as it starts, holding every node. The older snapshots go, so none but it can give the kinds. A copy
    with a Snappy block's length overwritten is refused."""
    zookeeper.compression = "snappy"
    zookeeper.restart()
    snapshots = glob.glob(zookeeper.data + "/version-2/snapshot.*")
    if not any(path.endswith(".snappy") for path in snapshots):
        fail(f"ZooKeeper wrote no Snappy snapshot: {snapshots}")
    for path in snapshots:
        if not path.endswith(".snappy"):
            os.remove(path)
    dump = os.path.join(work, "zk-snappy.jsonl")
    ctl(cairnctl, "dump", "--zookeeper", f"127.0.0.1:{zookeeper.port}", "--auth", DIGEST, "--zookeeper-data",
        zookeeper.data, "-o", dump)
    check_kinds(dump, "the dump of ZooKeeper read with its Snappy snapshot")
    damaged = os.path.join(work, "damaged-snappy")
    shutil.copytree(zookeeper.data, damaged)
    snapshot = glob.glob(damaged + "/version-2/snapshot.*.snappy")[0]
    with open(snapshot, "r+b") as f:
        f.seek(16)  # the first block's length, after the stream's header
        f.write(b"\x7f\xff\xff\xff")
    expect_refusal(zookeeper, cairnctl, work, damaged, f"{snapshot}: the Snappy block at offset 16 is cut short")


def consistent_dump(zk, cairnctl, work):
    """Check 2: dumps /w while a writer sets /w/k<i> and creates /w/items/x<i>, then checks the dump at its zxid."""
    zk.create("/w/items", makepath=True)
    for k in range(10):
        zk.create(f"/w/k{k}", b"-1")
    for i in range(1500):
        zk.create(f"/w/bulk/b{i}", b"x" * 64, makepath=i == 0)
    writer = connect(zk.hosts[0][1])
    written, created, stop = [], [], threading.Event()

    def write():
        i = 0
        while not stop.is_set():
            stat = writer.set(f"/w/k{i % 10}", str(i).encode())
            written.append((i % 10, i, stat.mzxid))
            path, stat = writer.create(f"/w/items/x{i}", b"", include_data=True)
            created.append((path, stat.czxid))
            i += 1

    thread = threading.Thread(target=write)
    thread.start()
    while len(created) < 50:
        pass
    output = os.path.join(work, "w.jsonl")
    summary = json.loads(ctl(cairnctl, "dump", "--zookeeper", f"127.0.0.1:{zk.hosts[0][1]}", "-o", output, "--json",
                             "/w"))
    stop.set()
    thread.join()
    writer.stop()
    with open(output) as f:
        lines = [json.loads(line) for line in f]
    zxid = lines[0]["zxid"]
    nodes = {line["path"]: line for line in lines[1:]}
    for k in range(10):
        values = [value for key, value, mzxid in written if key == k and mzxid <= zxid]
        expected = str(values[-1]) if values else "-1"
        if nodes[f"/w/k{k}"]["data"] != expected:
            fail(f"the dump at zxid {zxid} has /w/k{k} = {nodes[f'/w/k{k}']['data']}, not {expected}")
    items = {path for path, czxid in created if czxid <= zxid}
    dumped = {path for path in nodes if path.startswith("/w/items/")}
    if items != dumped:
        fail(f"the dump at zxid {zxid} has {len(dumped)} items, not the {len(items)} created by then")
    if not (0 < len(items) < len(created)):
        fail(f"the writer did not write during the dump ({len(items)} of {len(created)} items before its zxid)")
    print(f"consistent at zxid {zxid}: {len(items)} of {len(created)} items, {summary['reads']} reads "
          f"for {summary['nodes']} nodes")


def zkcli_transcript(zkcli, port, paths):
    script = "ls -R /\n" + "".join(f"get {path}\ngetAcl {path}\n" for path in paths)
    result = subprocess.run([zkcli, "-waitforconnection", "-server", f"127.0.0.1:{port}"], input=script,
                            capture_output=True, text=True, timeout=120)
    lines = result.stdout.splitlines()
    start = lines.index("WatchedEvent state:SyncConnected type:None path:null")
    # ZooKeeper's own nodes differ between the two (config, quotas); the rest must not.
    return [line for line in lines[start + 1:] if line and not line.startswith("/zookeeper")]


def main():
    cairn_zk_port, cairn_port, cairnctl = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    work = os.environ.get("MIGRATION_WORK") or tempfile.mkdtemp(prefix="migration-checks.")
    server = f"127.0.0.1:{cairn_port}"
    with ZooKeeper(extended_types=True) as source:
        make_extended_nodes(source)
        zk = connect(source.port)
        holder = make_tree(zk)
        dump = os.path.join(work, "zk.jsonl")
        summary = json.loads(ctl(cairnctl, "dump", "--zookeeper", f"127.0.0.1:{source.port}", "--auth", DIGEST,
                                 "--zookeeper-data", source.data, "-o", dump, "--json"))
        if summary["ephemerals_left_out"] != 2 or summary["kinds_from_files"] != len(EXTENDED):
            fail(f"the dump left out {summary['ephemerals_left_out']} ephemerals, not 2, or took "
                 f"{summary['kinds_from_files']} kinds from the files, not {len(EXTENDED)}: {summary}")
        check_kinds(dump, "the dump of ZooKeeper")
        refuse_damaged_log(source, cairnctl, work)
        ctl(cairnctl, "load", "--server", server, "--auth", DIGEST, dump)
        cairn = connect(cairn_zk_port)
        paths = compare_trees(zk, cairn, "ZooKeeper → Cairn")
        print(f"ZooKeeper → Cairn: {len(paths)} nodes match")
        holder.stop()
        consistent_dump(zk, cairnctl, work)
        zk.stop()
        snappy_snapshot(source, cairnctl, work)
    with ZooKeeper(extended_types=True, compression="gz") as target:
        dump = os.path.join(work, "cairn.jsonl")
        ctl(cairnctl, "dump", "--server", server, "--auth", DIGEST, "-o", dump, "/")
        check_kinds(dump, "Cairn's dump")
        ctl(cairnctl, "load", "--zookeeper", f"127.0.0.1:{target.port}", "--auth", DIGEST, dump)
        target.restart()  # its snapshot, gzip-compressed, now holds the tree
        if not glob.glob(target.data + "/version-2/snapshot.*.gz"):
            fail("the target ZooKeeper wrote no gzip snapshot")
        back = os.path.join(work, "back.jsonl")
        ctl(cairnctl, "dump", "--zookeeper", f"127.0.0.1:{target.port}", "--auth", DIGEST, "--zookeeper-data",
            target.data, "-o", back, "/")
        with open(back) as f:
            kinds = {line["path"]: (line["kind"], line.get("ttl_ms")) for line in map(json.loads, f) if "path" in line}
        if any(kinds.get(path) != kind for path, kind in EXTENDED.items()):
            fail(f"the ZooKeeper loaded from Cairn has other kinds: {kinds}")
        zk = connect(target.port)
        paths = compare_trees(cairn, zk, "Cairn → ZooKeeper", versions=False)
        zkcli = debian_file("zkCli.sh")
        ours, theirs = zkcli_transcript(zkcli, cairn_zk_port, paths), zkcli_transcript(zkcli, target.port, paths)
        if ours != theirs:
            fail(f"zkCli reads Cairn and the loaded ZooKeeper differently:\n{ours}\n{theirs}")
        print(f"Cairn → ZooKeeper: {len(paths)} nodes match, {len(ours)} zkCli lines alike")
        zk.stop()
    cairn.stop()
    if not os.environ.get("MIGRATION_WORK"):
        shutil.rmtree(work)  # copies of ZooKeeper's data, its preallocated logs included: hundreds of MB
    print("migration checks passed")


if __name__ == "__main__":
    main()
