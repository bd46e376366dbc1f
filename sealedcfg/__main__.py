"""Entry point.  `--version` answers before typer is imported (start-up target)."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from sealedcfg import __version__

        print(f"sealedcfg {__version__}")
        sys.exit(0)
    from sealedcfg.cli import run

    sys.exit(run())


if __name__ == "__main__":
    main()
