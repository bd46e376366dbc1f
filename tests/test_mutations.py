"""Property: a key-less rewrite of a sealed file's layout is refused, or it opens
to text that every YAML reader loads exactly as it loaded the original.

Mutations are the ones an attacker with write access has (indentation, comments
and blank lines anywhere, document markers, key quoting, moved, joined and
deleted lines, trailing spaces); the oracle is two independent readers, PyYAML
(YAML 1.1) and ruamel's pure-Python safe loader (YAML 1.2), plus `load()`.
"""

from __future__ import annotations

import difflib
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import SealedcfgError

from .conftest import CORPUS, FIXTURES

_KEY = api.keygen()
_KEYS = KeySource(key=_KEY, env={})
_HEADER = re.compile(r"(?m)^sealedcfg:")


def _sources() -> list[Path]:
    files = sorted((FIXTURES / "edge").glob("*.yaml")) + sorted(
        (FIXTURES / "profiles").glob("*.yaml")
    )
    if CORPUS.is_dir():
        files += sorted(CORPUS.glob("*.y*ml"))[::4]  # a spread of the real-world corpus
    return files


def _readers(text: str) -> tuple[str, str]:
    """What a 1.1 and a 1.2 reader make of `text`, as comparable reprs."""
    try:
        old = repr(list(yaml.safe_load_all(text)))
    except yaml.YAMLError:
        old = "refused"
    try:
        new = repr(list(YAML(typ="safe", pure=True).load_all(text)))
    except Exception:  # any reader error: that reader refuses the text
        new = "refused"
    return old, new


def _mutate(text: str, rng: random.Random) -> str:
    end = None
    for end in _HEADER.finditer(text):  # noqa: B007 - the last one is the header
        pass
    if end is None:  # an earlier mutation glued the header to a line: refused anyway
        return text
    body, header = text[: end.start()], text[end.start() :]
    lines = body.split("\n")
    i = rng.randrange(len(lines))
    line = lines[i]
    choice = rng.randrange(11)
    if choice == 0:
        lines.insert(i, " " * rng.randrange(9) + "# injected")
    elif choice == 1:
        lines.insert(i, " " * rng.randrange(4))
    elif choice == 2:
        lines[i] = " " * rng.randrange(1, 3) + line
    elif choice == 3 and line.startswith(" "):
        lines[i] = line[rng.randrange(1, 3) :]
    elif choice == 4:
        lines.insert(i, rng.choice(["---", "...", "--- # x"]))
    elif choice == 5:
        q = rng.choice(["'", '"'])
        lines[i] = re.sub(r"^(\s*(?:- )?)([A-Za-z_<][\w<-]*):", rf"\1{q}\2{q}:", line, count=1)
    elif choice == 6:
        lines[i] = re.sub(r"^(\s*(?:- )?)[\"']([^\"']*)[\"']:", r"\1\2:", line, count=1)
    elif choice == 7 and i + 1 < len(lines):
        lines[i], lines[i + 1] = lines[i + 1], line
    elif choice == 8 and len(lines) > 1:
        del lines[i]
    elif choice == 9 and i + 1 < len(lines):
        lines[i : i + 2] = [line + " " + lines[i + 1].lstrip()]
    else:
        lines[i] = line + rng.choice(["  # c", " ", "\t"])
    return "\n".join(lines) + header


@pytest.fixture(scope="module")
def sealed_files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, bytes, str]]:
    work = tmp_path_factory.mktemp("mutations")
    out = []
    for src in _sources():
        original = src.read_bytes()
        target = work / src.name
        target.write_bytes(original)
        try:
            api.encrypt_file(target, _KEYS)
        except SealedcfgError:
            continue  # not a profile (a list at the top level, ...): nothing sealed
        out.append((target, target.read_bytes(), original.decode("utf-8-sig")))
    assert len(out) >= 10
    return out


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_layout_mutations_are_refused_or_read_the_same(
    sealed_files: list[tuple[Path, bytes, str]], data: Any
) -> None:
    index = data.draw(st.integers(0, len(sealed_files) - 1), label="file")
    target, sealed, original = sealed_files[index]
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    text = sealed.decode("utf-8-sig")
    for _ in range(rng.randrange(1, 4)):
        text = _mutate(text, rng)
    target.write_bytes(text.encode("utf-8"))
    try:
        opened = api.decrypt_file(target, _KEYS).decode("utf-8-sig")
        loaded = api.load_all(target, keys=_KEYS)
    except SealedcfgError:
        return  # refused: fine
    finally:
        target.write_bytes(sealed)
    diff = "".join(
        difflib.unified_diff(sealed.decode().splitlines(True), text.splitlines(True), n=1)
    )
    # Each reader gets the original data, or refuses (libyaml, which sealedcfg
    # parses with, accepts a few texts the pure-Python readers refuse, such as
    # a tab after a plain scalar): never different data.
    for got, want in zip(_readers(opened), _readers(original), strict=True):
        assert got in (want, "refused"), f"{target.name}: accepted\n{diff}"
    reference = api.load_all  # the same file, unmutated, through the same model
    target.write_bytes(sealed)
    assert repr(loaded) == repr(reference(target, keys=_KEYS))
