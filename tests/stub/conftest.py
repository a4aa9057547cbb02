"""Live stubs with extra options, and a ``kill -9`` restart on the same data dir."""

from __future__ import annotations

from pathlib import Path

from tests.livestub import LiveStub

DEFAULT_ARGS = ("--accept-after", "0", "--approve-after", "0", "--assemble-delay", "0")


class Stub(LiveStub):
    def restart_after_kill(self) -> Stub:
        """``kill -9`` the stub and start it again on the same data dir."""
        self.kill()
        self.output.clear()
        self.start()
        return self


def start_stub(path: Path, *args: str) -> Stub:
    """A fresh stub (the tax office left to admin calls) with ``args`` added."""
    stub = Stub(path, args=[*DEFAULT_ARGS, *args])
    stub.start()
    return stub
