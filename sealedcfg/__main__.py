"""Entry point.  `--version` answers before typer is imported (start-up target)."""

from __future__ import annotations

import gc
import os
import sys

from sealedcfg.cli.stdout import OutputError, install

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
    install()  # a failed write to stdout is then told apart from a bug's OSError
    try:
        if sys.argv[1:] in (["--version"], ["-V"]):
            from sealedcfg import __version__

            print(f"sealedcfg {__version__}")
            code = 0
        else:
            from sealedcfg.cli.main import run

            code = run()
    except KeyboardInterrupt:  # Ctrl-C before a command started (while importing)
        code = INTERRUPTED
    except OutputError as exc:  # --version's line
        code = _output_failed(exc)
    if code == INTERRUPTED:
        from sealedcfg.cli.main import report_interrupt

        report_interrupt()
    try:
        sys.stdout.flush()  # what is still buffered, while a failure can be reported
    except OutputError as exc:
        code = _output_failed(exc)
    sys.exit(code)


def _output_failed(exc: OutputError) -> int:
    from sealedcfg.cli.util import output_failed  # typer: only when it is needed

    return output_failed(exc)


if __name__ == "__main__":
    main()
