"""One exception family; `cli` maps each class to a documented exit code.

Messages never contain a secret value: they name files, paths, lines and
constructs only.  Every authentication failure is the single `OpenError`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # verify/check found problems
    USAGE = 2  # bad command line (typer's own code too)
    INPUT = 3  # missing/unreadable file, not YAML, unsupported construct, bad path
    OPEN = 4  # wrong key or tampered file: one code, no hint which
    NO_KEY = 5  # no key source available
    LOCKED = 6  # another sealedcfg process holds the file
    COMMAND = 7  # a provider or callback command failed (lifecycle/commands.py)
    KEY_SERVICE = 8  # a key service (AWS KMS) refused, or could not be reached
    BUG = 70  # an unexpected exception: a bug in sealedcfg (EX_SOFTWARE)
    NOT_EXECUTABLE = 126  # exec: COMMAND found but cannot be run (as a shell says)
    NOT_FOUND = 127  # exec: no such COMMAND (as a shell says)
    INTERRUPTED = 130  # Ctrl-C


class SealedcfgError(Exception):
    """Base of every error sealedcfg reports to a user."""

    code: ExitCode = ExitCode.INPUT

    def __init__(self, message: str, *, hints: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hints = hints


class InputError(SealedcfgError):
    """The input cannot be used: missing, unreadable, not YAML, unsupported."""

    code = ExitCode.INPUT


class UsageError(SealedcfgError):
    code = ExitCode.USAGE


class OpenError(SealedcfgError):
    """Every failure to authenticate or decrypt.

    Deliberately uninformative (fernet's InvalidToken): a wrong key, a flipped
    bit, a moved token and a downgraded header all look the same.
    """

    code = ExitCode.OPEN

    def __init__(self, target: str) -> None:
        super().__init__(
            f"cannot open {target}: wrong key, or the file was modified",
        )


class NoKeyError(SealedcfgError):
    code = ExitCode.NO_KEY


class KeyServiceError(SealedcfgError):
    """A key service (AWS KMS) denied the request or could not be reached."""

    code = ExitCode.KEY_SERVICE


class LockedError(SealedcfgError):
    code = ExitCode.LOCKED


class VerifyFailed(SealedcfgError):
    code = ExitCode.FINDINGS


class Terminated(BaseException):
    """SIGTERM or SIGHUP: unwind through every `finally` (temp files), then exit 128+N.

    A BaseException, like KeyboardInterrupt, so no `except Exception` swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
