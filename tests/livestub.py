"""Start the real bundled platform (``python -m server_stub``) on a free loopback port.

Used by every test that needs the server: the stub runs as its own process, exactly as
the desktop client starts it, and is found through the ``listening on`` line it prints.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

LISTEN_RE = re.compile(r"listening on (http://\S+)")
START_TIMEOUT = 60.0


@dataclass
class LiveStub:
    """A running ``server_stub`` process and what a test needs to talk to it."""

    data_dir: Path
    args: Sequence[str] = ()
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)
    _pump: threading.Thread = field(init=False, repr=False)

    @property
    def api(self) -> str:
        return self.url + "/api/v1"

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin-token").read_text(encoding="utf-8").strip()

    def start(self) -> LiveStub:
        cmd = [
            sys.executable,
            "-m",
            "server_stub",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--data-dir",
            str(self.data_dir),
            *self.args,
        ]
        env = {**os.environ, **self.env}
        self.process = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            env=env,
            start_new_session=True,
        )
        found: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                m = LISTEN_RE.search(line)
                if m and not found:
                    found.append(m.group(1))
                    ready.set()
            ready.set()

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.wait(0.1):
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("stub did not start:\n" + "".join(self.output))
        if not found:
            raise RuntimeError("stub exited before listening:\n" + "".join(self.output))
        self.url = found[0]
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def kill(self) -> None:
        """``kill -9`` the whole process group (server and its audit workers)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(15)
        self._close()

    def _close(self) -> None:
        """Release the output pipe once the pump has read it to the end."""
        if self.process and self.process.stdout and not self.process.stdout.closed:
            self._pump.join(5)
            self.process.stdout.close()

    def restart(self) -> LiveStub:
        self.stop()
        self.output.clear()
        return self.start()

    # -- conveniences for tests ------------------------------------------------------
    def login(self, account: str, password: str, account_type: str = "credit_code") -> str:
        r = requests.post(
            self.api + "/auth/login",
            json={"account_type": account_type, "account": account, "password": password},
            timeout=30,
        )
        r.raise_for_status()
        return str(r.json()["token"])

    def admin(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(
            method,
            self.url + "/admin/v1" + path,
            headers={"X-Admin-Token": self.admin_token},
            json=body,
            timeout=30,
        )
