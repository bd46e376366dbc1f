"""A sops file's data key, from its age or PGP key stanza and the user's own key.

age: the stanza's `enc` is an armored age file holding the 32-byte data key,
opened with pyrage and the user's X25519 identities (given files, then sops'
own places: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt).
PGP: the `enc` is an armored OpenPGP message, opened by the real `gpg` in a
throw-away GNUPGHOME (0700, removed with its agent afterwards) into which only
the secret key file the user names is imported: the user's own keyring is
never written to.  The data key only ever passes through a pipe.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealedcfg.base.fileio import read_bytes
from sealedcfg.engine.keys import refuse_in_worktree
from sealedcfg.errors import InputError, NoKeyError, OpenError

DATA_KEY_SIZE = 32
MAX_ENC_CHARS = 64 * 1024  # one wrapped data key is well under 2 KiB
MAX_STANZAS = 64
GPG_TIMEOUT = 60.0
ENV_AGE_KEY = "SOPS_AGE_KEY"
ENV_AGE_KEY_FILE = "SOPS_AGE_KEY_FILE"
ENV_PGP_PASSPHRASE = "SEALEDCFG_PGP_PASSPHRASE"  # noqa: S105 (a variable's name)
_OTHER_KINDS = ("kms", "gcp_kms", "azure_kv", "hc_vault")


@dataclass(frozen=True)
class SopsKeys:
    """Where the user's keys for sops files are: named files, and sops' own places."""

    age_identity_files: tuple[str, ...] = ()
    pgp_key_files: tuple[str, ...] = ()
    sops_defaults: bool = True  # SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, sops' keys.txt


def _stanzas(meta: dict[str, Any], name: str) -> dict[str, list[dict[str, Any]]]:
    """The one key group's stanzas by kind; several groups (Shamir) are refused."""
    kinds = ("age", "pgp", *_OTHER_KINDS)
    top = {k: meta.get(k) or [] for k in kinds}
    groups = meta.get("key_groups") or []
    if not any(top.values()) and isinstance(groups, list) and groups:
        if len(groups) > 1:
            raise InputError(
                f"{name}: a sops file with {len(groups)} key groups (Shamir secret "
                "sharing) is not supported",
                hints=("re-key it with one group first: sops updatekeys",),
            )
        group = groups[0] if isinstance(groups[0], dict) else {}
        top = {k: group.get(k) or [] for k in kinds}
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, stanzas in top.items():
        if not isinstance(stanzas, list) or len(stanzas) > MAX_STANZAS:
            raise InputError(f"{name}: malformed sops key stanzas ({kind})")
        out[kind] = [s for s in stanzas if isinstance(s, dict)]
    return out


def describe(stanzas: dict[str, list[dict[str, Any]]]) -> str:
    parts = [f"age {s.get('recipient', '?')}" for s in stanzas["age"]]
    parts += [f"pgp {s.get('fp', '?')}" for s in stanzas["pgp"]]
    parts += [kind for kind in _OTHER_KINDS for _ in stanzas[kind]]
    return ", ".join(parts) or "no key"


def data_key(meta: dict[str, Any], keys: SopsKeys, name: str) -> bytes:
    """Unwrap the data key with the first stanza one of the user's keys opens."""
    stanzas = _stanzas(meta, name)
    identities = age_identities(keys)
    pgp_files = keys.pgp_key_files
    usable = (identities and stanzas["age"]) or (pgp_files and stanzas["pgp"])
    if not usable:
        hints = []
        if stanzas["age"]:
            hints.append(f"give its age identity: --age-identity FILE (or {ENV_AGE_KEY_FILE})")
        if stanzas["pgp"]:
            hints.append("give its PGP secret key: --pgp-key FILE (gpg --export-secret-keys)")
        if not stanzas["age"] and not stanzas["pgp"]:
            hints.append(
                "sealedcfg opens sops files keyed by age or PGP; add such a key with sops first"
            )
        raise NoKeyError(
            f"no key to open {name} (sops; it opens with: {describe(stanzas)})",
            hints=tuple(hints),
        )
    for stanza in stanzas["age"] if identities else []:
        key = _open_age(_enc(stanza, name), identities)
        if key is not None:
            return key
    if pgp_files and stanzas["pgp"]:
        with private_gnupg(pgp_files) as gpg:
            for stanza in stanzas["pgp"]:
                key = gpg.decrypt(_enc(stanza, name))
                if key is not None:
                    return key
    error = OpenError(name)
    error.hints = (f"it opens with: {describe(stanzas)}",)
    raise error


def _enc(stanza: dict[str, Any], name: str) -> bytes:
    enc = stanza.get("enc")
    if not isinstance(enc, str) or not enc or len(enc) > MAX_ENC_CHARS:
        raise InputError(f"{name}: malformed sops key stanza")
    return enc.encode("utf-8")


# ---------------------------------------------------------------- age


def read_key_file(path: str | os.PathLike[str], what: str) -> bytes:
    """A sops key file: like sealedcfg's own, never one inside a git working tree
    (anyone who can write the repository could put their own identity there)."""
    refuse_in_worktree(path, what)
    return read_bytes(path)


def age_identities(keys: SopsKeys) -> list[Any]:
    texts = [
        read_key_file(f, "age identity file").decode("utf-8", "replace")
        for f in keys.age_identity_files
    ]
    if keys.sops_defaults:
        if os.environ.get(ENV_AGE_KEY):
            texts.append(os.environ[ENV_AGE_KEY])
        if os.environ.get(ENV_AGE_KEY_FILE):
            data = read_key_file(os.environ[ENV_AGE_KEY_FILE], ENV_AGE_KEY_FILE)
            texts.append(data.decode("utf-8", "replace"))
        default = _sops_keys_txt()
        if default.is_file():
            data = read_key_file(default, "sops' age key file")
            texts.append(data.decode("utf-8", "replace"))
    lines = [ln.strip() for text in texts for ln in text.splitlines()]
    wanted = [ln for ln in lines if ln.startswith("AGE-SECRET-KEY-")]
    if not wanted:
        return []
    import pyrage

    out = []
    for line in wanted:
        try:
            out.append(pyrage.x25519.Identity.from_str(line))
        except pyrage.IdentityError:
            raise InputError("an age identity is malformed") from None
    return out


def _sops_keys_txt() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "sops" / "age" / "keys.txt"


def _open_age(enc: bytes, identities: list[Any]) -> bytes | None:
    import pyrage

    try:
        key = pyrage.decrypt(enc, identities)
    except pyrage.DecryptError:
        return None
    return bytes(key) if len(key) == DATA_KEY_SIZE else None


# ---------------------------------------------------------------- PGP


@dataclass(frozen=True)
class GpgRun:
    returncode: int
    stdout: bytes
    status: list[list[str]]  # `[GNUPG:] KEYWORD args…` lines, split


# A data key comes only from a message encrypted to a secret key the user gave:
# `gpg --decrypt` also prints an unencrypted (literal-only) message and exits 0,
# which would hand out a data key anyone chose.
_MUST = frozenset({"DECRYPTION_KEY", "BEGIN_DECRYPTION", "DECRYPTION_OKAY", "END_DECRYPTION"})
_MUST_NOT = frozenset({"NEED_PASSPHRASE_SYM", "DECRYPTION_FAILED", "BADMDC", "NODATA"})
MAX_STATUS_BYTES = 256 * 1024


class PrivateGpg:
    """`gpg` over a throw-away home holding only the keys the user named."""

    def __init__(self, home: str, gpg: str) -> None:
        self.home = home
        self.gpg = gpg

    def _env(self) -> dict[str, str]:
        env = {"GNUPGHOME": self.home, "LC_ALL": "C", "HOME": self.home}
        if "PATH" in os.environ:
            env["PATH"] = os.environ["PATH"]
        return env

    def run(self, args: list[str], data: bytes, max_stdout: int = 1 << 20) -> GpgRun:
        """gpg on `data`; its output bounded (a compressed message can expand a
        thousandfold: gpg is stopped past `max_stdout` bytes), its status read."""
        argv = [self.gpg, "--batch", "--quiet", "--no-tty", "--homedir", self.home]
        passphrase = os.environ.get(ENV_PGP_PASSPHRASE)
        fds: list[int] = []
        status_r, status_w = os.pipe()
        fds += [status_r, status_w]
        argv += ["--status-fd", str(status_w)]
        pass_fds = [status_w]
        if passphrase is not None:  # through a pipe, never on the command line
            read_fd, write_fd = os.pipe()
            fds.append(read_fd)
            with os.fdopen(write_fd, "wb") as fh:
                fh.write(passphrase.encode("utf-8") + b"\n")
            argv += ["--pinentry-mode", "loopback", "--passphrase-fd", str(read_fd)]
            pass_fds.append(read_fd)
        else:  # no pinentry to wait for: a protected key simply does not open
            argv += ["--pinentry-mode", "error"]
        try:
            proc = subprocess.Popen(
                [*argv, *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self._env(),
                pass_fds=pass_fds,
            )
        except BaseException:
            os.close(status_r)
            raise
        finally:
            for fd in fds[1:]:  # the child holds its own copies
                os.close(fd)
        status_file = os.fdopen(status_r, "rb")
        try:
            return _communicate(proc, data, status_file, max_stdout)
        finally:
            status_file.close()

    def decrypt(self, enc: bytes) -> bytes | None:
        done = self.run(["--decrypt"], enc, max_stdout=DATA_KEY_SIZE)
        words = [line[0] for line in done.status if line]
        if (
            done.returncode != 0
            or len(done.stdout) != DATA_KEY_SIZE
            or not set(words) >= _MUST
            or _MUST_NOT & set(words)
            or words.count("PLAINTEXT") != 1
            or words.index("BEGIN_DECRYPTION") > words.index("PLAINTEXT")
        ):
            return None
        return done.stdout


def _communicate(
    proc: subprocess.Popen[bytes], data: bytes, status_file: Any, max_stdout: int
) -> GpgRun:
    import threading

    out = bytearray()
    status = bytearray()
    too_much = threading.Event()

    def feed() -> None:
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.write(data)
        with contextlib.suppress(OSError):
            proc.stdin.close()

    def drain(stream: Any, into: bytearray, limit: int) -> None:
        while chunk := stream.read1(65536):
            into += chunk
            if len(into) > limit:
                too_much.set()
                with contextlib.suppress(OSError):
                    proc.kill()
                break

    threads = [
        threading.Thread(target=feed, daemon=True),
        threading.Thread(target=drain, args=(proc.stdout, out, max_stdout), daemon=True),
        threading.Thread(target=drain, args=(status_file, status, MAX_STATUS_BYTES), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        code = proc.wait(timeout=GPG_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise InputError("gpg did not answer in time") from None
    finally:
        for thread in threads:
            thread.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
    if too_much.is_set():
        return GpgRun(-1, b"", [])
    lines = status.decode("utf-8", "replace").splitlines()
    words = [ln.split()[1:] for ln in lines if ln.startswith("[GNUPG:] ")]
    return GpgRun(code, bytes(out), words)


GNUPG_PREFIX = "sealedcfg-gpg-"
_SOCKET_ROOM = 107 - len("/" + GNUPG_PREFIX + "xxxxxxxx/S.gpg-agent.browser")


def gnupg_parent() -> str:
    """Where the throw-away GNUPGHOME goes: the user's runtime directory (tmpfs) if
    there is one, else the temporary directory, else /tmp when that one's path is
    too long for gpg-agent's sockets (108 bytes, the agent would not start)."""
    for base in (os.environ.get("XDG_RUNTIME_DIR"), tempfile.gettempdir(), "/tmp"):  # noqa: S108
        if base and os.path.isdir(base) and len(base) <= _SOCKET_ROOM:
            return base
    raise InputError("no temporary directory with a path short enough for gpg-agent")


@contextlib.contextmanager
def private_gnupg(key_files: tuple[str, ...]) -> Iterator[PrivateGpg]:
    gpg = shutil.which("gpg")
    if gpg is None:
        raise InputError(
            "gpg is not installed; it is needed to open a sops file's PGP key",
            hints=("install it (Debian: apt-get install gnupg)",),
        )
    home = tempfile.mkdtemp(prefix=GNUPG_PREFIX, dir=gnupg_parent())  # mode 0700
    try:
        # The agent re-protects an imported key; calibrating its S2K count first costs
        # seconds on a busy machine, for a home that is removed when this block ends.
        Path(home, "gpg-agent.conf").write_text("s2k-count 65536\n", encoding="ascii")
        private = PrivateGpg(home, gpg)
        for key_file in key_files:
            done = private.run(["--import"], read_key_file(key_file, "PGP key file"))
            if done.returncode != 0:
                raise InputError(f"{key_file}: not a PGP key gpg can import")
        yield private
    finally:
        gpgconf = shutil.which("gpgconf")
        if gpgconf is not None:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    [gpgconf, "--homedir", home, "--kill", "all"],
                    capture_output=True,
                    env={"GNUPGHOME": home, "PATH": os.environ.get("PATH", "")},
                    timeout=GPG_TIMEOUT,
                    check=False,
                )
        shutil.rmtree(home, ignore_errors=True)
