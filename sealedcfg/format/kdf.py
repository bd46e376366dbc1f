"""Argon2id for passphrase recipients (FORMAT.md §5.3).

Parameters come from the (untrusted) file header, so they are range-checked
*before* any memory is allocated: a floor stops downgrades, a ceiling stops a
crafted header from making `verify` allocate gigabytes.  Derivations are cached
per (salt, parameters) so a process derives once per file however many values
or files share it; `DERIVATIONS` counts real derivations for the tests.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from sealedcfg.base import limits
from sealedcfg.errors import InputError

# m in KiB.  Floor: OWASP's minimum (19 MiB, t=2, p=1).  Default: RFC 9106's
# second recommendation (64 MiB, t=3, p=4).  Ceiling: limits.py (2x the default
# memory; a header asking more is hostile, not careful).
FLOOR_M, FLOOR_T, FLOOR_P = 19 * 1024, 2, 1
CEIL_M, CEIL_T, CEIL_P = limits.ARGON2_MAX_M, limits.ARGON2_MAX_T, limits.ARGON2_MAX_P


@dataclass(frozen=True, slots=True)
class Argon2Params:
    m: int = 64 * 1024
    t: int = 3
    p: int = 4

    @property
    def cost(self) -> int:
        """Work of one derivation in KiB x passes (lanes only share it out)."""
        return self.m * self.t

    def check(self) -> None:
        """Raise InputError unless floor <= params <= ceiling and the cost fits."""
        ok = (
            FLOOR_M <= self.m <= CEIL_M
            and FLOOR_T <= self.t <= CEIL_T
            and FLOOR_P <= self.p <= CEIL_P
            and self.m >= 8 * self.p
        )
        if not ok:
            raise InputError(
                f"argon2id parameters m={self.m} t={self.t} p={self.p} are outside the "
                f"allowed range (m {FLOOR_M}..{CEIL_M} KiB, t {FLOOR_T}..{CEIL_T}, "
                f"p {FLOOR_P}..{CEIL_P})"
            )
        if self.cost > limits.ARGON2_MAX_COST:
            raise InputError(
                f"argon2id parameters m={self.m} t={self.t} cost m*t={self.cost:,}, over the "
                f"limit of {limits.ARGON2_MAX_COST:,}"
            )

    @classmethod
    def parse(cls, text: str) -> Argon2Params:
        """Parse 'm=19456,t=2,p=1' (any subset; the rest default)."""
        values: dict[str, int] = {}
        for item in filter(None, (s.strip() for s in text.split(","))):
            match = re.fullmatch(r"([mtp])=(\d{1,10})", item)
            if not match:
                raise InputError(f"bad argon2 parameter {item!r}: expected m=KiB,t=N,p=N")
            values[match.group(1)] = int(match.group(2))
        params = cls(**values)
        params.check()
        return params


DERIVATIONS = 0
_cache: dict[tuple[bytes, bytes, Argon2Params], bytes] = {}
# Salts a key holder chose for (passphrase, parameters): drawn by this process,
# or proven by unwrapping a stanza with the passphrase.  Never a salt merely read
# from a header: an attacker's salt would let them precompute guesses for it.
_proven: dict[tuple[bytes, Argon2Params], bytes] = {}


def _ident(passphrase: bytes) -> bytes:
    return hashlib.sha256(b"sealedcfg cache\x00" + passphrase).digest()


def prove(passphrase: bytes, salt: bytes, params: Argon2Params) -> None:
    """SALT opened a stanza with PASSPHRASE: a key holder chose it."""
    _proven.setdefault((_ident(passphrase), params), salt)


def forget_salts() -> None:
    """Draw fresh salts from now on (reproducible test vectors, one seed per file)."""
    _proven.clear()


def reusable_salt(passphrase: bytes, params: Argon2Params) -> bytes | None:
    """A salt this process already derived PASSPHRASE with under PARAMS and can trust.

    Files sealed for one passphrase then share one salt, so opening many of
    them costs one derivation (FORMAT.md §5.3): whoever guesses the passphrase
    needs only one file to test guesses against anyway, so sharing costs nothing.
    """
    return _proven.get((_ident(passphrase), params))


def normalize_passphrase(passphrase: str) -> bytes:
    """NFC so the same passphrase typed on macOS and Linux gives the same key."""
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def derive(passphrase: bytes, salt: bytes, params: Argon2Params) -> bytes:
    """Argon2id(passphrase, salt) -> 32 bytes; at most once per process per input."""
    global DERIVATIONS
    params.check()
    # The cache key holds a hash of the passphrase, never the passphrase.
    ident = _ident(passphrase)
    cached = _cache.get((ident, salt, params))
    if cached is not None:
        return cached
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    kek = Argon2id(
        salt=salt, length=32, iterations=params.t, lanes=params.p, memory_cost=params.m
    ).derive(passphrase)
    DERIVATIONS += 1
    _cache[(ident, salt, params)] = kek
    return kek
