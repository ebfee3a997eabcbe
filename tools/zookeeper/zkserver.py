"""A standalone Apache ZooKeeper 3.8 (Debian's zookeeper package) for the comparison scripts: started on a free
loopback port with an empty data directory, stopped on exit."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def debian_file(name):
    """The path of `name` in Debian's zookeeper or zookeeper-bin package."""
    listing = subprocess.run(["dpkg", "-L", "zookeeper", "zookeeper-bin"], capture_output=True, text=True).stdout
    for path in listing.splitlines():
        if path.endswith("/" + name):
            return path
    sys.exit(f"{name} not found; install Debian's zookeeper and zookeeper-bin packages")


class ZooKeeper:
    """A standalone Apache ZooKeeper on a free loopback port with an empty data directory (`data`), stopped on exit.
    `extended_types`: TTL nodes allowed (zookeeper.extendedTypesEnabled); `compression`: how snapshots are compressed
    (zookeeper.snapshot.compression.method: gz, snappy or none)."""

    def __init__(self, extended_types=False, compression="none"):
        self.extended_types = extended_types
        self.compression = compression

    def __enter__(self):
        self.work = tempfile.mkdtemp(prefix="zookeeper.")
        self.data = os.path.join(self.work, "data")
        self.port = free_port()
        self.config = os.path.join(self.work, "zoo.cfg")
        with open(self.config, "w") as f:
            f.write(f"tickTime=2000\ndataDir={self.data}\nclientPort={self.port}\nclientPortAddress=127.0.0.1\n"
                    "admin.enableServer=false\n4lw.commands.whitelist=*\n")
        self.log = open(os.path.join(self.work, "log"), "w+")
        self.start()
        return self

    def start(self):
        self.process = subprocess.Popen(
            ["java", "-cp", "/etc/zookeeper/conf:" + ZOOKEEPER_JAR, f"-Dzookeeper.log.dir={self.work}",
             f"-Dzookeeper.extendedTypesEnabled={'true' if self.extended_types else 'false'}",
             f"-Dzookeeper.snapshot.compression.method={self.compression}",
             "org.apache.zookeeper.server.ZooKeeperServerMain", self.config],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self.serving():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                log = self.log.read()
                self.__exit__()
                sys.exit("ZooKeeper did not start:\n" + log)
            time.sleep(0.2)

    def restart(self):
        """Stops the server and starts it again on the same port and data (it takes a snapshot as it starts)."""
        self.stop()
        self.start()

    def serving(self):
        """Whether the server has loaded its data and serves requests, which `srvr` says (its mode) and `ruok` does not:
        that answers as soon as the port is open, before the snapshot a starting server writes."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"srvr")
                reply = b""
                while chunk := s.recv(4096):
                    reply += chunk
                return b"Mode:" in reply
        except OSError:
            return False

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __exit__(self, *exc):
        self.stop()
        self.log.close()
        if not os.environ.get("KEEP_ZOOKEEPER"):
            shutil.rmtree(self.work, ignore_errors=True)
