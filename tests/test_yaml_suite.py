"""The YAML test suite's inputs: nothing may seal that does not open.

Each case is sealed; a refusal is fine, but a sealed file must decrypt to the
original bytes, load through `load_all()`, and hold no token in its output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError

from .conftest import FIXTURES

CASES: list[dict[str, Any]] = json.loads(
    (FIXTURES / "yaml-test-suite" / "cases.json").read_text(encoding="utf-8")
)


def test_the_suite_is_there() -> None:
    assert len(CASES) > 350


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_what_seals_opens(case: dict[str, Any], work: Path, keys: KeySource) -> None:
    original = case["yaml"].encode("utf-8")
    target = work / "case.yaml"
    target.write_bytes(original)
    try:
        api.encrypt_file(target, keys)
    except InputError:
        assert target.read_bytes() == original  # refused, and untouched
        return
    sealed = target.read_bytes()
    assert api.decrypt_file(target, keys) == original
    assert b"sealedcfg;v1;" not in api.decrypt_file(target, keys)
    api.load_all(target, keys=keys)
    assert api.verify_file(target, keys).ok
    assert target.read_bytes() == sealed


def test_libyaml_given_the_encoded_text_reads_the_same() -> None:
    """`document.walk(..., utf8=)` hands libyaml the file's own bytes instead of
    encoding the text again: every node (marks included) and every refusal must
    be the same as from the text."""
    from sealedcfg.yamltext import document

    def outcome(text: str, utf8: bytes | None) -> object:
        body = document.Body(text)
        try:
            nodes = document.walk(text, "case.yaml", list, body, utf8=utf8)
        except InputError as exc:
            return exc.message
        return nodes, body.documents, body.versions, body.open_block_mapping

    texts = [c["yaml"] for c in CASES]
    texts += [p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "edge").glob("*.yaml"))]
    texts += ["caf\u00e9: \u2603\nkey: '\U0001f511 x'\nb: |\n  \u00e9\n"]
    assert any(not t.isascii() for t in texts)
    for text in texts:
        assert outcome(text, text.encode("utf-8")) == outcome(text, None), text
