"""Entry point.  `--version` answers before typer is imported (start-up target)."""

from __future__ import annotations

import gc
import os
import sys

INTERRUPTED = 130


def main() -> None:
    # A short-lived process whose big allocations (parser events, nodes) hold no
    # reference cycles: the cyclic collector would only rescan them, again and
    # again (about a quarter of the time of opening 10^4 values).
    gc.disable()
    # Started with a standard stream closed (`>&-`): Python leaves it None, and the
    # next file opened would get its descriptor.  Like /dev/null instead.
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode))  # noqa: SIM115 - lives as long as sys
    try:
        if sys.argv[1:] in (["--version"], ["-V"]):
            from sealedcfg import __version__

            print(f"sealedcfg {__version__}")
            sys.exit(0)
        from sealedcfg.cli.main import run

        code = run()
    except KeyboardInterrupt:  # Ctrl-C before a command started (while importing)
        code = INTERRUPTED
    if code == INTERRUPTED:
        from sealedcfg.cli.main import report_interrupt

        report_interrupt()
    try:
        sys.stdout.flush()  # what is still buffered, while a closed pipe can be handled
    except BrokenPipeError:
        from sealedcfg.cli.util import closed_pipe

        code = closed_pipe()
    except OSError as exc:  # a full disk: what the command printed was not written
        from sealedcfg.cli.util import unwritable_stdout

        code = unwritable_stdout(exc)
    sys.exit(code)


if __name__ == "__main__":
    main()
