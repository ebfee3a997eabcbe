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
    """A standalone Apache ZooKeeper on a free loopback port with an empty data directory, stopped on exit."""

    def __enter__(self):
        self.work = tempfile.mkdtemp(prefix="zookeeper.")
        self.port = free_port()
        config = os.path.join(self.work, "zoo.cfg")
        with open(config, "w") as f:
            f.write(f"tickTime=2000\ndataDir={self.work}/data\nclientPort={self.port}\nclientPortAddress=127.0.0.1\n"
                    "admin.enableServer=false\n4lw.commands.whitelist=*\n")
        self.log = open(os.path.join(self.work, "log"), "w+")
        self.process = subprocess.Popen(
            ["java", "-cp", "/etc/zookeeper/conf:" + ZOOKEEPER_JAR, f"-Dzookeeper.log.dir={self.work}",
             "org.apache.zookeeper.server.ZooKeeperServerMain", config],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while self.ruok() != b"imok":
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                log = self.log.read()
                self.__exit__()
                sys.exit("ZooKeeper did not start:\n" + log)
            time.sleep(0.2)
        return self

    def ruok(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"ruok")
                return s.recv(4)
        except OSError:
            return b""

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        if not os.environ.get("KEEP_ZOOKEEPER"):
            shutil.rmtree(self.work, ignore_errors=True)
