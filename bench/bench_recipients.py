"""Recipients: opening with an age identity vs a raw key, and updatekeys over many files.

Targets (issue 10): opening a file with an age identity costs <= 0.1 s more
than with a raw key; `updatekeys` over 100 files with one passphrase or one
identity takes <= 3 s.  Whole `python -m sealedcfg` processes in a temporary
git repository, medians of --repeat runs.

    python bench/bench_recipients.py               # 5 runs each
    python bench/bench_recipients.py --repeat 3 --files 100
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_AGE_OVER_KEY = 0.1
TARGET_UPDATEKEYS = 3.0
PASSPHRASE = "bench: correct horse battery staple"  # noqa: S105 - test data
PROFILE = "".join(f"service_{i}:\n  host: h{i}.internal\n  token: tok-{i:04d}\n" for i in range(50))


def sealedcfg(cwd: Path, env: dict[str, str], *args: str, stdin: str | None = None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sealedcfg", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"sealedcfg {' '.join(args)} failed: {proc.stderr.strip()}")
    return seconds


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEALEDCFG_", "GIT_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    return env


def new_repo(root: Path, name: str) -> Path:
    repo = root / name
    (repo / "config").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    return repo


def age_public(home: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "sealedcfg", "keygen", "--age"],
        env=base_env(home),
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def bench_open(root: Path, repeat: int) -> list[tuple[str, float]]:
    home = root / "home-open"
    home.mkdir()
    public = age_public(home)
    identity = (home / ".config" / "sealedcfg" / "age" / "keys.txt").read_text()
    key = subprocess.run(
        [sys.executable, "-m", "sealedcfg", "keygen"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    repo = new_repo(root, "open")
    env = base_env(home)
    out: list[tuple[str, float]] = []
    for label, extra in (
        ("raw key (SEALEDCFG_KEY)", {"SEALEDCFG_KEY": key}),
        # sops' trust for age (any writer), which a file opened only by age needs
        (
            f"age identity ({public[:12]}…)",
            {"SEALEDCFG_AGE_KEY": identity, "SEALEDCFG_AGE_WRITERS": "any"},
        ),
    ):
        target = repo / "config" / f"{len(out)}.yaml"
        target.write_text(PROFILE)
        sealedcfg(repo, {**env, **extra}, "encrypt", str(target))
        times = [sealedcfg(repo, {**env, **extra}, "decrypt", str(target)) for _ in range(repeat)]
        out.append((label, statistics.median(times)))
    return out


def bench_updatekeys(root: Path, files: int, repeat: int, kdf: str) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for mode in ("identity", "passphrase"):
        times = []
        for run in range(repeat):
            home = root / f"home-{mode}-{run}"
            home.mkdir()
            public = age_public(home)
            teammate = age_public(root / f"mate-{mode}-{run}")
            repo = new_repo(root, f"uk-{mode}-{run}")
            env = {**base_env(home), "SEALEDCFG_ARGON2": kdf, "SEALEDCFG_AGE_WRITERS": "any"}
            if mode == "passphrase":
                env["SEALEDCFG_PASSPHRASE"] = PASSPHRASE
                first = "passphrase: true"
            else:
                first = f"age: {public}"
            rules = repo / ".sealedcfg.yaml"
            rules.write_text(
                f"creation_rules:\n  - path: 'config/*.yaml'\n    recipients:\n      - {first}\n"
            )
            for i in range(files):
                (repo / "config" / f"p{i:03d}.yaml").write_text(PROFILE)
            sealedcfg(repo, env, "encrypt", *(f"config/p{i:03d}.yaml" for i in range(files)))
            rules.write_text(rules.read_text() + f"      - age: {teammate}\n        label: mate\n")
            times.append(sealedcfg(repo, env, "updatekeys", "--yes"))
        out.append(
            (f"updatekeys, {files} files, one {mode} (+1 age recipient)", statistics.median(times))
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument(
        "--kdf",
        default="m=65536,t=3,p=4",
        help="Argon2id parameters of the passphrase (default: sealedcfg's default)",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-recipients-"))
    try:
        (root / "mate-identity-0").mkdir()
        for r in range(args.repeat):
            for mode in ("identity", "passphrase"):
                (root / f"mate-{mode}-{r}").mkdir(exist_ok=True)
        opened = bench_open(root, args.repeat)
        print(f"{'decrypt, 50-value profile (process)':<58} {'median s':>9}")
        for label, seconds in opened:
            print(f"{label:<58} {seconds:>9.3f}")
        over = opened[1][1] - opened[0][1]
        verdict = "ok" if over <= TARGET_AGE_OVER_KEY else "MISSED"
        print(f"{'age over raw key (target <= 0.100 s)':<58} {over:>9.3f}  {verdict}")
        print()
        rows = bench_updatekeys(root, args.files, max(1, args.repeat // 2), args.kdf)
        print(f"{'updatekeys (process), kdf ' + args.kdf:<58} {'median s':>9}")
        for label, seconds in rows:
            verdict = "ok" if seconds <= TARGET_UPDATEKEYS else "MISSED"
            print(f"{label:<58} {seconds:>9.3f}  {verdict} (target <= {TARGET_UPDATEKEYS} s)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
