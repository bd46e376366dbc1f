"""Hostile files against every command: wall time and peak RSS per (case, command).

Builds files an attacker who can write to the repository (but holds no key)
could commit, each at most 1 MiB, mostly under a genuine header of the user's
key so that keyed commands get as far as they can, and runs whole
`python -m sealedcfg ...` processes on them.  Peak RSS comes from each child's
rusage (`os.wait4`).  The target (issue 8): every command finishes in <= 5 s
with <= 300 MB peak RSS on a 2-core machine.

    python bench/bench_hostile.py                 # 3 runs each, medians
    python bench/bench_hostile.py --repeat 1 --cases laughs,deep-flow
    python bench/bench_hostile.py --repeat 1 --commands "ls --json,diff"
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TARGET_SECONDS = 5.0
TARGET_MB = 300.0
PASSPHRASE = "bench: correct horse battery staple"  # noqa: S105 - test data
FAST_KDF = "m=19456,t=2,p=1"
MiB = 1 << 20


@dataclass
class Case:
    name: str
    data: bytes
    env: dict[str, str]


CPU_LIMIT = 60  # seconds of CPU a command may take before it is killed (SIGXCPU, exit -24)


def _limit_cpu() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT + 5))


def run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds (user+sys), peak RSS in MB, exit code) of one whole process.

    The CPU time is what to judge on a shared box: wall time grows with the load.
    A command that would run for ever is stopped after CPU_LIMIT seconds of CPU."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_limit_cpu,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


class Builder:
    """Sealed seeds made with the real CLI, then edited as an attacker would."""

    def __init__(self, work: Path, base_env: dict[str, str]) -> None:
        self.work = work
        self.env = base_env
        self.key = subprocess.run(
            [sys.executable, "-m", "sealedcfg", "keygen"],
            env=base_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def sealed(self, body: str, *, passphrase: bool = False, plain: str | None = None) -> str:
        path = self.work / "p.yaml"  # where each case is run: files are bound to their path
        path.write_text(body)
        env = dict(self.env)
        if passphrase:
            env["SEALEDCFG_PASSPHRASE"] = PASSPHRASE
        else:
            env["SEALEDCFG_KEY"] = self.key
        args = ["encrypt", str(path), *(["--plain", plain] if plain else [])]
        subprocess.run(
            [sys.executable, "-m", "sealedcfg", *args], env=env, capture_output=True, check=True
        )
        return path.read_text()

    def header(self) -> str:
        text = self.sealed("z: 1\n")
        return text[text.index("sealedcfg:") :]

    def keyed(self) -> dict[str, str]:
        return {"SEALEDCFG_KEY": self.key}


def _laughs(levels: int = 10) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _salted(stanza: str, count: int) -> str:
    """`count` copies of a stanza, each with its own salt (one derivation each)."""
    import base64

    line = next(ln for ln in stanza.splitlines() if ln.startswith("    salt: "))
    copies = []
    for i in range(count):
        salt = base64.urlsafe_b64encode(bytes([i + 1]) * 16).rstrip(b"=").decode()
        copies.append(stanza.replace(line, f"    salt: {salt}"))
    return "".join(copies)


def build_cases(b: Builder) -> list[Case]:
    header = b.header()
    k = b.keyed()
    cases: list[tuple[str, str | bytes, dict[str, str]]] = [
        ("deep-flow-16000", "a: " + "[" * 16000 + "]" * 16000 + "\n" + header, k),
        (
            "deep-block-1300",
            "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 1300)) + header,
            k,
        ),
        ("wide-flow-500k-nodes", "a: [" + ",".join(["1"] * 500_000) + "]\n" + header, k),
        ("flow-249k-nodes (under limit)", "a: [" + ",".join(["1"] * 249_000) + "]\n" + header, k),
        ("deep64-wide", "a: " + "[" * 62 + ",".join(["1"] * 240_000) + "]" * 62 + "\n" + header, k),
        (
            "long-keys x many",
            "".join(
                f"? {'k' * 60_000}{i}\n:\n" + "".join(f"  - {j}\n" for j in range(400))
                for i in range(15)
            )
            + header,
            k,
        ),
        ("long-scalar 1 MiB", "a: " + "x" * (MiB - 600) + "\n" + header, k),
        (
            "redos plain rule",
            "b" * 60
            + ": y\n"
            + b.sealed("a" * 60 + ": x\n", plain="^zzz$").replace('"^zzz$"', '"^(.+)+#$"'),
            k,
        ),
        ("laughs (sealed by a key holder)", b.sealed(_laughs()), k),
        ("recursive alias", "a: &a [1, *a]\n" + header, k),
        ("random bytes 1 MiB", random.Random(1).randbytes(MiB - 1), k),
        # Cases added with the second hostile review (commands whose work grew
        # faster than the file, or formats no case reached):
        ("empty lists 120k (diff)", "a: [" + ",".join(["[]"] * 120_000) + "]\n" + header, k),
        ("block map 95k keys", "".join(f"k{i}: {i % 10}\n" for i in range(95_000)) + header, k),
        ("aliases 124k", "a: &a x\nb: [" + ",".join(["*a"] * 124_000) + "]\n" + header, k),
        ("documents 83k", "a: 1\n" + "---\nb: 1\n" * 83_000 + header, k),
        (
            "long keys x depth 64",
            "".join(" " * (2 * i) + f"{'k' * 8000}{i}:\n" for i in range(63))
            + " " * 126
            + "v: 1\n"
            + header,
            k,
        ),
        (
            "malformed tokens 50k",
            "a: [" + ",".join(["sealedcfg;v1;str;;x"] * 50_000) + "]\n" + header,
            k,
        ),
        (
            "secrets in a plain file 1 MiB",
            "".join(
                f'api_key_{i} = "{random.Random(i).randbytes(12).hex()}"\n' for i in range(20_000)
            ),
            k,
        ),
    ]
    # Header attacks on a passphrase file: the user's passphrase is tried against each stanza.
    ptext = b.sealed("a: 1\n", passphrase=True)
    stanza = ptext[ptext.index("  - type: passphrase") : ptext.index("  commit: ")]
    pe = {"SEALEDCFG_PASSPHRASE": PASSPHRASE}
    at_budget = stanza.replace("    m: 19456\n    t: 2\n", "    m: 49152\n    t: 3\n")
    big = stanza.replace("    m: 19456\n    t: 2\n", "    m: 131072\n    t: 4\n")
    over = stanza.replace("    m: 19456\n    t: 2\n", "    m: 131072\n    t: 8\n")
    cases += [
        ("argon2: 4 stanzas at the budget", ptext.replace(stanza, _salted(at_budget, 4)), pe),
        ("argon2: 1 stanza m=128 MiB t=4", ptext.replace(stanza, big), pe),
        ("argon2: over the budget", ptext.replace(stanza, over * 3), pe),
        ("argon2: 5 stanzas", ptext.replace(stanza, stanza * 5), pe),
    ]
    ktext = b.sealed("a: 1\n")
    kstanza = ktext[ktext.index("  - type: key") : ktext.index("  commit: ")]
    cases.append(("64 key stanzas (at the limit)", ktext.replace(kstanza, kstanza * 64), k))
    out = []
    for name, data, env in cases:
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        assert len(raw) <= MiB, (name, len(raw))
        out.append(Case(name, raw, env))
    return out


COMMANDS: list[tuple[str, Callable[[str], list[str]]]] = [
    ("verify --no-decrypt", lambda f: ["verify", "--no-decrypt", f]),
    ("check", lambda f: ["check", f]),
    ("verify", lambda f: ["verify", f]),
    ("ls", lambda f: ["ls", f]),
    ("decrypt", lambda f: ["decrypt", f]),
    ("export", lambda f: ["export", f]),
    ("get", lambda f: ["get", f, "a"]),
    ("encrypt", lambda f: ["encrypt", f]),
    ("set", lambda f: ["set", f, "a", "v"]),
    # Key-less readers with other outputs: every format a hostile file can reach.
    ("ls --json", lambda f: ["ls", "--json", f]),
    ("check --format sarif", lambda f: ["check", "--format", "sarif", f]),
    ("diff (from a tiny file)", lambda f: ["diff", "tiny.yaml", f]),
    ("git textconv", lambda f: ["git", "textconv", f]),
    ("status", lambda f: ["status", f]),
]


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", help="comma-separated name prefixes")
    parser.add_argument("--commands", help="comma-separated command prefixes")
    args = parser.parse_args(argv)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    base_env["SEALEDCFG_ARGON2"] = FAST_KDF
    work = Path(tempfile.mkdtemp(prefix="sealedcfg-hostile-"))
    try:
        (work / ".git").mkdir()  # `check` looks for the repository's top here
        (work / "tiny.yaml").write_text("z: 1\n")  # what `diff` compares each case with
        b = Builder(work, base_env)
        cases = build_cases(b)
        if args.cases:
            wanted = args.cases.split(",")
            cases = [c for c in cases if any(c.name.startswith(w) for w in wanted)]
        print(f"load average at start: {_load()}")
        print(
            f"{'case':34} {'size':>9} {'command':20} {'CPU s':>6} {'max CPU':>7} "
            f"{'wall s':>7} {'peak MB':>8} {'exit':>5}"
        )
        worst_s = worst_mb = worst_wall = 0.0
        commands = COMMANDS
        if args.commands:
            wanted = args.commands.split(",")
            commands = [c for c in COMMANDS if any(c[0].startswith(w) for w in wanted)]
        for case in cases:
            for label, make in commands:
                times, cpus, rss, codes = [], [], [], set()
                for _ in range(args.repeat):
                    target = work / "p.yaml"
                    target.write_bytes(case.data)
                    s, cpu, mb, code = run(
                        [sys.executable, "-m", "sealedcfg", *make(str(target))],
                        base_env | case.env,
                        work,
                    )
                    times.append(s)
                    cpus.append(cpu)
                    rss.append(mb)
                    codes.add(code)
                worst_s, worst_mb = max(worst_s, max(cpus)), max(worst_mb, max(rss))
                worst_wall = max(worst_wall, max(times))
                print(
                    f"{case.name[:34]:34} {len(case.data):>9,} {label:20} "
                    f"{statistics.median(cpus):>6.2f} {max(cpus):>7.2f} "
                    f"{statistics.median(times):>7.2f} {max(rss):>8.0f} "
                    f"{'/'.join(map(str, sorted(codes))):>5}",
                    flush=True,
                )
        ok = worst_s <= TARGET_SECONDS and worst_mb <= TARGET_MB
        print(
            f"\nworst: {worst_s:.2f} s CPU (target {TARGET_SECONDS:.0f} s), {worst_mb:.0f} MB "
            f"(target {TARGET_MB:.0f} MB): {'met' if ok else 'NOT met'}; worst wall "
            f"{worst_wall:.2f} s; {os.cpu_count()} CPUs, load average at end {_load()}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
