"""`sealedcfg exec`: run a command with decrypted values, and nothing left behind.

Without `--file`, sealedcfg replaces itself with the command (execvpe): the
pid, signals and exit status are the command's own.  With `--file`, a value
must also exist as a file while the command runs, so sealedcfg stays as the
parent: the plaintext goes to a private file on a tmpfs (`/dev/shm`, or
`$XDG_RUNTIME_DIR` when it is a tmpfs; a 0700 directory, a 0600 file) or,
with `--fifo` or when no tmpfs exists, to a FIFO written once; SIGTERM, SIGINT
and SIGHUP are forwarded to the command; the file and its directory are
removed when the command ends, and its exit status is returned (128+N when a
signal N ended it, as a shell reports).  Plaintext never lands on persistent
disk: without a tmpfs, the value goes through a FIFO.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sealedcfg.errors import ExitCode, InputError, SealedcfgError, UsageError

RESERVED = "SEALEDCFG_"
# --pristine: the values plus only these, when set (what a program needs to
# find binaries, its home, and its locale and terminal).
PRISTINE_KEEP = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "TERM",
    "TZ",
    "TMPDIR",
)
PLACEHOLDER = "{}"
FORWARDED = ("SIGTERM", "SIGINT", "SIGHUP")
_TMPFS = ("tmpfs", "ramfs")


class CommandNotFound(SealedcfgError):
    code = ExitCode.NOT_FOUND


class CommandNotExecutable(SealedcfgError):
    code = ExitCode.NOT_EXECUTABLE


def child_environment(
    current: Mapping[str, str],
    added: Mapping[str, str],
    *,
    no_override: bool = False,
    pristine: bool = False,
) -> dict[str, str]:
    """The command gets the values, never a key: no SEALEDCFG_* variable at all.

    Not the key or passphrase, not the paths to key files (a deploy script's
    logs or its children would learn where the keys live, and a nested
    sealedcfg would open files with them); a value whose exported name would
    start with SEALEDCFG_ is refused rather than silently dropped.
    """
    for name in added:
        if name.upper().startswith(RESERVED):
            raise InputError(
                f"a value would be exported as {name}, but {RESERVED}* variables are "
                "never passed to the command",
                hints=("rename the key, or use --prefix",),
            )
    keep = PRISTINE_KEEP if pristine else None
    env = {
        k: v
        for k, v in current.items()
        if not k.upper().startswith(RESERVED) and (keep is None or k in keep)
    }
    env.update({k: v for k, v in added.items() if not (no_override and k in env)})
    return env


def find_command(argv: list[str], env: Mapping[str, str]) -> str:
    """The program to run, as a shell finds it: 127 when missing, 126 when not runnable."""
    program = argv[0]
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is not None:
        return found
    if "/" in program and os.path.exists(program):
        raise CommandNotExecutable(f"{program}: not executable")
    raise CommandNotFound(f"{program}: command not found")


def replace_process(argv: list[str], env: dict[str, str]) -> int:
    """Become COMMAND (sealedcfg is POSIX-only: base/fileio needs fcntl)."""
    find_command(argv, env)
    sys.stdout.flush()
    sys.stderr.flush()
    previous = _default_signals()
    try:
        os.execvpe(argv[0], argv, env)  # noqa: S606 - running COMMAND is the point
    except OSError as exc:
        # still this process: put back what Python had (a library caller goes on)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        raise CommandNotExecutable(f"cannot run {argv[0]}: {exc.strerror}") from None


def _default_signals() -> dict[int, Any]:
    # Python ignores SIGPIPE and SIGXFSZ; an ignored signal stays ignored across
    # exec, so restore the defaults as subprocess does (restore_signals=True).
    return {
        signum: signal.signal(signum, signal.SIG_DFL) for signum in (signal.SIGPIPE, signal.SIGXFSZ)
    }


def with_placeholder(argv: list[str], path: str) -> list[str]:
    if not any(PLACEHOLDER in arg for arg in argv):
        raise UsageError(
            "--file: put {} in the command where the file's path goes",
            hints=("e.g. sealedcfg exec --file tls.key FILE -- nginx -c {}",),
        )
    return [arg.replace(PLACEHOLDER, path) for arg in argv]


def run_with_file(argv: list[str], env: dict[str, str], content: bytes, *, fifo: bool) -> int:
    """Run COMMAND with CONTENT in a private tmpfs file or FIFO, `{}` its path."""
    find_command(argv, env)
    with private_file(content, fifo=fifo) as path:
        return _supervise(with_placeholder(argv, str(path)), env)


def tmpfs_dir() -> Path | None:
    """A writable tmpfs directory: /dev/shm, else $XDG_RUNTIME_DIR; None without one."""
    for candidate in ("/dev/shm", os.environ.get("XDG_RUNTIME_DIR") or ""):  # noqa: S108
        usable = candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK)
        if usable and fs_type(candidate) in _TMPFS:
            return Path(candidate)
    return None


def fs_type(path: str) -> str | None:
    """The type of the filesystem PATH lies on, from /proc/self/mounts (Linux)."""
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as fh:
            mounts = [line.split() for line in fh]
    except OSError:
        return None
    real = os.path.realpath(path)
    best, kind = "", None
    for fields in mounts:
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


@contextlib.contextmanager
def private_file(content: bytes, *, fifo: bool) -> Iterator[Path]:
    """A 0600 file in a fresh 0700 directory on tmpfs, or a FIFO; removed afterwards."""
    base = None if fifo else tmpfs_dir()
    directory = Path(tempfile.mkdtemp(prefix="sealedcfg-exec-", dir=base))
    os.chmod(directory, 0o700)
    path = directory / "value"
    writer: threading.Thread | None = None
    try:
        if base is not None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
        else:
            os.mkfifo(path, 0o600)
            writer = threading.Thread(target=_feed, args=(path, content), daemon=True)
            writer.start()
        yield path
    finally:
        _unblock(path, writer)
        shutil.rmtree(directory, ignore_errors=True)


def _feed(path: Path, content: bytes) -> None:
    """Write CONTENT once to the FIFO (blocks until the command opens it)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


def _unblock(path: Path, writer: threading.Thread | None) -> None:
    """A writer still waiting for a reader that never came: open the read end once."""
    if writer is None or not writer.is_alive():
        return
    with contextlib.suppress(OSError):
        if stat.S_ISFIFO(os.lstat(path).st_mode):
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            writer.join(timeout=1)
            os.close(fd)


def _supervise(argv: list[str], env: dict[str, str]) -> int:
    """Run the command as a child, forward signals to it, return its status as a shell does.

    The handlers are in place before the child exists: a signal that arrives
    while it starts is kept and delivered to it once it does.
    """
    import subprocess

    sys.stdout.flush()
    sys.stderr.flush()
    children: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if not children:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            children[0].send_signal(signum)

    previous = {}
    for name in FORWARDED:
        if hasattr(signal, name):
            number = getattr(signal, name)
            previous[number] = signal.signal(number, forward)
    try:
        # restore_signals: SIGPIPE default in the child; caught handlers reset at exec
        child = subprocess.Popen(argv, env=env)
        children.append(child)
        for signum in pending:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # a handler was replaced under us: keep waiting
                continue
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 128 - code if code < 0 else code
