"""What the CURVE tests share (tests/zmq over the fake server, tests/e2e over
`loom serve`): a key directory made with both tools, process RSS, a send that
never blocks on a refused peer, and polling for a condition."""
import os
import shutil
import subprocess
import time

import zmq
import zmq.auth

from loom_client import LoomClient


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def send_nowait(sock, frame):
    """A refused connection may already be gone when we send: then the frame
    has nowhere to go, and a blocking send would wait forever."""
    try:
        sock.send(frame, zmq.NOBLOCK)
    except zmq.Again:
        pass


def until(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class Keys:
    """In `root`: the server's pair and client `py` by pyzmq's zmq.auth,
    client `loom` by `loom keygen`, each extra name by pyzmq but not admitted;
    `clients/` holds the admitted public keys (py, loom)."""

    def __init__(self, root, loom_bin, extra=()):
        self.root = root
        self.clients = os.path.join(root, "clients")
        os.makedirs(self.clients)
        for name in ("server", "py") + tuple(extra):
            zmq.auth.create_certificates(root, name)
        subprocess.run([loom_bin, "keygen", self.path("loom")], check=True, capture_output=True)
        for name in ("py", "loom"):
            shutil.copy(self.path(name + ".key"), self.clients)

    def path(self, name):
        return os.path.join(self.root, name)

    def client(self, endpoint, who, timeout, server="server", **options):
        return LoomClient(endpoint, timeout=timeout, curve_server_public=self.path(server + ".key"),
                          curve_secret=self.path(who + ".key_secret"), **options)
