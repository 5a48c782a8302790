"""Real throwaway servers on loopback for tests and benchmarks: redis-server and a
PostgreSQL cluster (initdb as the postgres user, since PostgreSQL refuses to run as root),
plus helpers to run the project's own services as subprocesses."""
import glob
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1] if glob.glob("/usr/lib/postgresql/*/bin") else None
VENV_BIN = os.path.dirname(sys.executable)


_GIVEN = set()


def _ephemeral_start():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback port nothing listens on, chosen below the kernel's ephemeral range.

    Why not bind(0): that port comes from the ephemeral range, which the kernel also hands to
    outgoing connections; between this call and the test's own bind, ssh or zmq traffic of a
    lab test running beside it took one (make test, 2026-12-07: "PUB: port already in use" in
    mutmut's stats run). Below the range only another bind can take it. Bounded: 200 tries."""
    top = _ephemeral_start()
    low = max(1024, top - 12000)
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _try in range(200):
        port = rng.randrange(low, top)
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError("free_port: no free port in %d-%d after 200 tries" % (low, top - 1))


def wait_until(fn, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - polling until the deadline
            last = e
        time.sleep(interval)
    raise TimeoutError("%s not reached within %ss (last error: %s)" % (what, timeout, last))


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="mt5-redis-")
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis
        wait_until(lambda: redis.Redis(port=self.port).ping(), 10, "redis-server up")

    def url(self, db=0):
        return "redis://127.0.0.1:%d/%d" % (self.port, db)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresCluster:
    PASSWORD = "test-secret-pw"

    def __init__(self):
        if PG_BIN is None:
            raise RuntimeError("PostgreSQL server binaries not found (make setup installs postgresql)")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="mt5-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_pg([PG_BIN + "/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses='127.0.0.1'\nport=%d\nunix_socket_directories='%s'\nfsync=off\n"
                    "synchronous_commit=off\nfull_page_writes=off\n" % (self.port, self.dir))
        self.start()
        self.psql("CREATE ROLE trader LOGIN PASSWORD '%s'" % self.PASSWORD)
        for db in ("mt5_crs", "mt5_features"):
            self.psql("CREATE DATABASE %s OWNER trader" % db)

    def _as_pg(self, argv):
        subprocess.run(["runuser", "-u", "postgres", "--"] + argv, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self):
        self._as_pg([PG_BIN + "/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "start"])

    def stop(self):
        self._as_pg([PG_BIN + "/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])

    def psql(self, sql, db="postgres"):
        out = subprocess.run(["runuser", "-u", "postgres", "--", PG_BIN.replace("/bin", "") + "/bin/psql", "-h", self.dir,
                              "-p", str(self.port), "-d", db, "-tAc", sql],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def connect(self, db="mt5_crs"):
        import psycopg2
        return psycopg2.connect(host="127.0.0.1", port=self.port, dbname=db, user="trader", password=self.PASSWORD)

    def destroy(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Service:
    """A project console script run as a subprocess, logs kept in a file."""

    def __init__(self, name, args, logdir):
        self.name = name
        self.log_path = os.path.join(logdir, "%s-%d.log" % (name, time.monotonic_ns()))
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([os.path.join(VENV_BIN, name)] + [str(a) for a in args],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)
        return self.proc.wait(20)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait(5)
        return self.proc.returncode


def gateway_args(rep_port, pub_port, rate=1000, extra=()):
    return ["--rep", "tcp://127.0.0.1:%d" % rep_port, "--pub", "tcp://127.0.0.1:%d" % pub_port,
            "--rate", rate, "--heartbeat", 0.2] + list(extra)


def nexus_args(pg, redis_server, req_url, sub_url, health_port, spool_dir, extra=(), xpub_port=None):
    return ["--gateway-req", req_url, "--gateway-sub", sub_url,
            "--xpub", "tcp://127.0.0.1:%d" % (xpub_port or free_port()),
            "--pg-host", "127.0.0.1", "--pg-port", pg.port, "--pg-password", pg.PASSWORD,
            "--hub-pg-host", "127.0.0.1", "--hub-pg-port", pg.port, "--hub-pg-password", pg.PASSWORD,
            "--redis-url", redis_server.url(0), "--hub-redis-url", redis_server.url(1),
            "--health-listen", "127.0.0.1:%d" % health_port, "--spool-dir", spool_dir,
            "--heartbeat-timeout", 2.0] + list(extra)


def healthz(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=2) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)
