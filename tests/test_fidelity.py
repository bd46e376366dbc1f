"""Byte-exact fidelity over real-world YAML, and one-value edits touch one line."""

from __future__ import annotations

import difflib
import random
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine import sealing
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError
from sealedcfg.ops import values
from sealedcfg.yamltext import document

from .conftest import CORPUS, FIXTURES, write

SOURCES = sorted((FIXTURES / "edge").glob("*.y*ml")) + sorted(
    (FIXTURES / "profiles").glob("*.y*ml")
)
if CORPUS.is_dir():
    SOURCES += sorted(p for p in CORPUS.iterdir() if p.suffix in (".yaml", ".yml"))
EDITS_PER_FILE = 8


def _top_level_not_mapping(data: bytes) -> bool:
    try:
        sealing.read_profile(data, "x")
    except InputError as exc:
        return "top level of a profile must be a mapping" in exc.message
    return False


def test_corpus_present_or_skipped() -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/yaml is absent")
    assert len([p for p in SOURCES if CORPUS in p.parents]) >= 40


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_seal_open_byte_exact(src: Path, work: Path, keys: KeySource) -> None:
    original = src.read_bytes()
    target = write(work / src.name, original)
    if _top_level_not_mapping(original):
        with pytest.raises(InputError, match="top level"):
            api.encrypt_file(target, keys)
        assert target.read_bytes() == original
        return
    api.encrypt_file(target, keys)
    assert api.decrypt_file(target, keys) == original
    # Sealed text is still YAML with the same shape: no line of a plaintext
    # value survives, every token is on one line.
    profile = sealing.read_profile(target.read_bytes(), src.name)
    assert all(not sealing.sealable(n) for n in profile.body.nodes)


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_one_value_edit_changes_one_line_plus_mac(src: Path, work: Path, keys: KeySource) -> None:
    original = src.read_bytes()
    if _top_level_not_mapping(original):
        pytest.skip("not a profile: top level is not a mapping")
    target = write(work / src.name, original)
    api.encrypt_file(target, keys)
    profile = sealing.read_profile(target.read_bytes(), src.name)
    tokens = [n for n in profile.body.nodes if sealing.is_token(n)]
    rng = random.Random(src.name)
    for node in rng.sample(tokens, min(EDITS_PER_FILE, len(tokens))):
        before = target.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        dotted = document.format_path(node.path, profile.body.documents)
        values.set_value(target, dotted, f"changed {rng.randrange(10**6)}", keys)
        after = target.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        changed = [
            (i1, i2, j1, j2)
            for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after).get_opcodes()
            if tag != "equal"
        ]
        old_lines = {i for i1, i2, _, _ in changed for i in range(i1, i2)}
        mac_line = next(i for i, ln in enumerate(before) if ln.startswith("  mac: "))
        assert old_lines == {node.line - 1, mac_line}, dotted
        assert len(after) == len(before)
    assert api.verify_file(target, keys).ok


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_random_structural_edits_keep_files_valid(src: Path, work: Path, keys: KeySource) -> None:
    """Random set / unset / new-key sequences: every edit either applies and the file
    verifies, or is refused as an unsupported shape; never invalid YAML."""
    original = src.read_bytes()
    if _top_level_not_mapping(original):
        pytest.skip("not a profile: top level is not a mapping")
    target = write(work / src.name, original)
    api.encrypt_file(target, keys)
    rng = random.Random("edits:" + src.name)
    for step in range(6):
        profile = sealing.read_profile(target.read_bytes(), src.name)
        nodes = [n for n in profile.body.nodes if len(n.path) > 1]
        if not nodes:
            break
        node = rng.choice(nodes)
        dotted = document.format_path(node.path, profile.body.documents)
        try:
            if rng.random() < 0.4:
                values.unset(target, dotted, keys)
            elif node.kind == "map":
                values.set_value(target, f"{dotted}.new{step}", "added", keys)
            elif node.kind == "scalar":
                values.set_value(target, dotted, rng.choice(["v", "7", "yes", "a: b", ""]), keys)
        except InputError as exc:  # an explicit `? key`: refused, never mangled
            if not any(
                why in exc.message for why in ("does not start its own line", "refers to an anchor")
            ):
                raise
        assert api.verify_file(target, keys).ok, dotted
