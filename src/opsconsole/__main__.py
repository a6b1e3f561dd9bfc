"""The ``opsconsole`` command and ``python -m opsconsole``.

Start-up pauses the cyclic garbage collector: importing the console and building its
first screen allocate about 100,000 long-lived objects, and with collections running
CPython scanned them (one full and a dozen middle collections, 60–80 ms) before the
first frame. The console collects once and switches the collector back on right after
its first frame (``OpsConsoleApp._freeze_startup_heap``); every other command switches it
back on as soon as its arguments are parsed (``opsconsole.cli.main``).

It also sets ``PYDANTIC_DISABLE_PLUGINS=__all__`` unless it is already set: opsconsole uses
no pydantic plugin, and looking for them reads the entry points of every installed
distribution when the config is first validated (~7 ms of start-up).
"""

from __future__ import annotations

import gc
import os


def main() -> int:
    """Entry point of the ``opsconsole`` script."""
    gc.disable()
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from opsconsole.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
