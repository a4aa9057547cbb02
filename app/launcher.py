"""The bundled demo platform (内置演示平台): started as a child process when no server is
configured, on a free loopback port, with its data under the user data folder.

A platform already running on that data folder (its ``server.json`` answers ``/health``)
is reused and left running; one this object started is stopped by :meth:`stop`.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from app.errors import LocalError
from app.paths import AppPaths

log = logging.getLogger(__name__)

LISTEN_RE = re.compile(r"listening on (http://\S+)")
START_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A demo enterprise of the bundled platform (protocol §10), for the login hint."""

    name: str
    credit_code: str
    customs_code: str
    initial_password: str
    note: str


def demo_accounts() -> list[DemoAccount]:
    return [
        DemoAccount(
            "北京华辰精密机械有限公司", "91110108MA01HC7K1M", "1108361234", "53012345",
            "生产企业，一类",
        ),
        DemoAccount(
            "北京远航进出口贸易有限公司", "91110105MA02YH3Q27", "1105466789", "00088765",
            "外贸企业，二类",
        ),
        DemoAccount(
            "北京新启航科技有限公司", "91110115MA03XQ5R3K", "1115362468", "16245702",
            "备案当天，次日才能登录",
        ),
        DemoAccount(
            "北京恒泰五金制品有限公司", "91110106MA04TQ8W2Y", "1106361357", "00001086",
            "退税停权，申报将不予受理",
        ),
    ]  # fmt: skip


class BundledPlatform:
    """Start, find and stop the bundled platform of one user data folder."""

    def __init__(
        self, paths: AppPaths, extra_args: tuple[str, ...] = (), *, stop_at_exit: bool = True
    ) -> None:
        """``stop_at_exit`` False leaves a started platform running after this process
        (the command line uses it, so the next command finds it)."""
        self.stop_at_exit = stop_at_exit
        self.data_dir = paths.stub_data_dir
        self.log_file = paths.log_dir / "platform.log"
        self.extra_args = extra_args
        self.url: str | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def ensure_running(self) -> str:
        """The platform's URL: a running one's, else one started now (waits for health)."""
        if self._process is not None and self._process.poll() is None and self.url:
            return self.url
        running = self._running_url()
        if running:
            self.url = running
            return running
        self.url = self._start()
        return self.url

    def stop(self) -> None:
        """Stop the platform if this object started it (its audit workers go with it)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            if os.name == "posix":
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.terminate()
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        except ProcessLookupError:
            pass
        finally:
            if process.stdin is not None:
                process.stdin.close()

    def _running_url(self) -> str | None:
        try:
            info = json.loads((self.data_dir / "server.json").read_text(encoding="utf-8"))
            url = str(info["url"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return url if _healthy(url) else None

    def _command(self) -> list[str]:
        args = ["--host", "127.0.0.1", "--port", "0", "--data-dir", str(self.data_dir)]
        if self.stop_at_exit:  # our end of its stdin closes when we go, however we go
            args += ["--exit-with-stdin", "1"]
        if getattr(sys, "frozen", False):
            return [sys.executable, "--stub", *args, *self.extra_args]
        return [sys.executable, "-m", "server_stub", *args, *self.extra_args]

    def _start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        output = self.log_file.open("wb")
        kwargs: dict[str, object] = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True
        else:
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(
                subprocess, "CREATE_NO_WINDOW", 0
            )
        log.info("starting the bundled platform: %s", self._command())
        self._process = subprocess.Popen(  # type: ignore[call-overload]
            self._command(),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if self.stop_at_exit else subprocess.DEVNULL,
            **kwargs,
        )
        output.close()
        if self.stop_at_exit:
            atexit.register(self.stop)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            found = LISTEN_RE.search(self.log_file.read_text(encoding="utf-8", errors="replace"))
            if found and _healthy(found.group(1)):
                return found.group(1)
            time.sleep(0.1)
        self.stop()
        raise LocalError(
            f"内置演示平台未能启动，请查看日志 {self.log_file}，或在设置中填写平台地址。"
        )


def _healthy(url: str) -> bool:
    import requests

    try:
        return requests.get(url.rstrip("/") + "/api/v1/health", timeout=2).ok
    except requests.RequestException:
        return False
