"""Entry point of the frozen application (PyInstaller): the desktop client (with its
``--self-test``), or the bundled platform (``--stub``: a frozen app has no
``python -m server_stub``)."""

import multiprocessing
import os
import sys
import warnings

if __name__ == "__main__":
    # The audit workers are spawned processes: in a frozen app they re-run this executable,
    # and freeze_support() turns such a start into the worker before anything else runs.
    multiprocessing.freeze_support()
    # A windowed build has no console: sys.stdout/sys.stderr are None. Code that checks does
    # nothing; a library that writes blindly must not crash the app (logs go to files).
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    # Pillow is left out on purpose (the platform's PDFs carry no images): fpdf2 says so once.
    warnings.filterwarnings("ignore", message="Pillow could not be imported", module="fpdf")
    from ui.main import main

    sys.exit(main())
