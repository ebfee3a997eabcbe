"""A pytest plugin that runs kazoo's own test suite against Cairn's ZooKeeper port.

kazoo's harness always launches a Java ZooKeeper cluster of its own (`get_global_cluster`); this plugin replaces
that function with a one-server "cluster" that is the real `cairn` binary (CAIRN_BINARY) on free loopback ports and
a temporary data directory. `stop()` is SIGKILL and `run()` starts the same data directory again, so kazoo's
stop/start tests check that sessions, ephemerals and watches survive a Cairn crash. The superuser digest is the one
kazoo's harness gives ZooKeeper (`super:test`).
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import kazoo.testing.harness as harness

SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CairnServer:
    """One `cairn serve` process with kazoo's ManagedZooKeeper interface (address, running, run, stop, destroy)."""

    host = "127.0.0.1"

    def __init__(self, binary):
        self.binary = binary
        self.working_path = tempfile.mkdtemp(prefix="kazoo-cairn-")
        self.client_port = free_port()
        self.json_port = free_port()
        self.process = None
        self.log_path = os.path.join(self.working_path, "cairn.log")

    @property
    def address(self):
        return "%s:%d" % (self.host, self.client_port)

    @property
    def secure_address(self):
        raise RuntimeError("Cairn's ZooKeeper port has no TLS listener of its own")

    @property
    def running(self):
        return self.process is not None

    def run(self):
        if self.running:
            return
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [
                self.binary, "serve",
                "--data-dir", os.path.join(self.working_path, "data"),
                "--listen", "%s:%d" % (self.host, self.json_port),
                "--zk-listen", self.address,
                "--admin-listen", "127.0.0.1:0",
                "--zk-four-letter-words", "*",
                "--super-digest", SUPER_DIGEST,
            ],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("cairn exited at start:\n" + "".join(self.get_logs()))
            try:
                with socket.create_connection((self.host, self.client_port), timeout=1) as s:
                    s.sendall(b"ruok")
                    if s.recv(4) == b"imok":
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("cairn did not answer ruok within 30 s")

    def stop(self):
        if not self.running:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def destroy(self):
        """Stops and forgets the data (kazoo's harness does this after each test class)."""
        self.stop()
        shutil.rmtree(os.path.join(self.working_path, "data"), True)

    reset = destroy

    def get_logs(self, num_lines=100):
        try:
            with open(self.log_path) as f:
                return f.readlines()[-num_lines:]
        except OSError:
            return []


class CairnCluster(list):
    """The list of servers kazoo's tests index and iterate, with ZookeeperCluster's methods."""

    def start(self):
        for server in self:
            server.run()

    def stop(self):
        for server in self:
            server.stop()

    def terminate(self):
        for server in self:
            server.destroy()

    def reset(self):
        for server in self:
            server.reset()

    def get_logs(self):
        return [line for server in self for line in server.get_logs()]

    def get_ssl_client_configuration(self):
        raise RuntimeError("Cairn's ZooKeeper port has no TLS listener of its own")


_cluster = None


def get_cairn_cluster():
    global _cluster
    if _cluster is None:
        _cluster = CairnCluster([CairnServer(os.environ["CAIRN_BINARY"])])
    return _cluster


def pytest_configure(config):
    harness.get_global_cluster = get_cairn_cluster


def pytest_unconfigure(config):
    if _cluster is not None:
        _cluster.terminate()
        for server in _cluster:
            shutil.rmtree(server.working_path, True)
