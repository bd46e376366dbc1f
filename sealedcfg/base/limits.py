"""Every bound on untrusted input, in one place (README "Limits", FORMAT.md §5.3).

A sealed file, the rules file and every header are attacker-writable: each
limit here is checked *before* the work it bounds, and is far above what a
legitimate file needs, so that any hostile file of 1 MiB costs every command
seconds and a few hundred MB at most (bench/bench_hostile.py measures it).
Exceeding one is an InputError naming the limit (and the line, where there is
one); the file is left untouched.
"""

from __future__ import annotations

from sealedcfg.errors import InputError

# ---------------------------------------------------------------- header (FORMAT.md §5.3)

#: Recipient stanzas of any kind in one header.
MAX_RECIPIENTS = 64
#: Passphrase stanzas in one header: each may cost one Argon2id derivation.
MAX_PASSPHRASE_STANZAS = 4
#: Argon2id ceilings per stanza (m in KiB).  The default is 64 MiB, t=3, p=4.
ARGON2_MAX_M = 128 * 1024
ARGON2_MAX_T = 8
ARGON2_MAX_P = 8
#: Sum of m·t (KiB × passes) over all passphrase stanzas of a header: what one
#: passphrase may cost to try against every stanza.  Three default stanzas fit;
#: about 3 s on one core of a 2020s machine.
ARGON2_MAX_COST = 3 * (64 * 1024 * 3)

# ---------------------------------------------------------------- plaintext rule

#: Length of a plaintext rule (`plain:` in a header or a creation rule), and of
#: a creation rule's `path_regex`.
MAX_RULE_CHARS = 1024
#: Memory RE2 may use to compile one rule (its automaton), bytes.
RE2_MAX_MEM = 8 << 20

#: Characters in the rules file (`.sealedcfg.yaml`), which is read with a
#: round-trip loader that takes about 2 s per 256 KiB; a team's file with the
#: 500 scan rules it may hold is under 100 KiB.
MAX_RULES_CHARS = 256 << 10

# ---------------------------------------------------------------- YAML structure

#: Nesting depth of collections (a root mapping is depth 1).
MAX_DEPTH = 64
#: YAML nodes in one file (keys, values, collections and aliases all count).
#: A 100,000-value profile (bench/bench.py) has about 223,000.
MAX_NODES = 250_000
#: Characters in one scalar (a value, a token, a key).
MAX_SCALAR_CHARS = 1 << 20
#: Nodes a reader may visit once aliases are expanded (`*a` counts the whole
#: subtree of `&a`): stops "billion laughs" files in export, exec, get, load.
MAX_EXPANDED_NODES = 1_000_000
#: Bytes held by node paths, summed over the file: each node's encoded path
#: plus 8 per segment.  A path is as long as its depth times its keys, so deep
#: nesting or long keys over many nodes would otherwise be quadratic.
MAX_PATH_BYTES = 32 << 20


def exceeded(name: str, what: str, limit: int, line: int | None = None) -> InputError:
    """The one way a limit is reported: the file, what, the limit and the line."""
    where = f" at line {line}" if line is not None else ""
    return InputError(
        f"{name}: {what}{where} exceeds the limit of {limit:,}",
        hints=("sealedcfg refuses such input as hostile; see 'Limits' in the README",),
    )
