"""Property: any profile YAML seals and opens to the same bytes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError
from sealedcfg.yamltext import document

KEY = api.keygen()
TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"), max_size=30
)
KEYS = (
    st.text(
        st.characters(whitelist_categories=("L", "N"), whitelist_characters="_-. "),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
)


@st.composite
def styled_string(draw: st.DrawFn) -> Any:
    value = draw(TEXT)
    style = draw(st.sampled_from(["plain", "single", "double", "literal", "folded"]))
    if style == "single":
        return SingleQuotedScalarString(value)
    if style == "double":
        return DoubleQuotedScalarString(value)
    printable = value.isprintable() and value.strip() == value and value
    if style == "literal" and printable:
        return LiteralScalarString(value + "\n" + value + "\n")
    if style == "folded" and printable:
        return FoldedScalarString(value + "\n")
    return value


SCALARS = st.one_of(
    styled_string(), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()
)


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    @st.composite
    def mapping(draw: st.DrawFn) -> Any:
        m = CommentedMap(draw(st.dictionaries(KEYS, children, max_size=5)))
        if m and draw(st.booleans()):
            m.fa.set_flow_style()
        if m and draw(st.booleans()):
            m.yaml_add_eol_comment("a comment", next(iter(m)))
        return m

    @st.composite
    def sequence(draw: st.DrawFn) -> Any:
        s = CommentedSeq(draw(st.lists(children, max_size=4)))
        if s and draw(st.booleans()):
            s.fa.set_flow_style()
        return s

    return st.one_of(mapping(), sequence())


TREES = st.dictionaries(
    KEYS.filter(lambda k: k != "sealedcfg"),
    st.recursive(SCALARS, containers, max_leaves=12),
    min_size=1,
    max_size=6,
)


def dump(tree: dict[str, Any]) -> str:
    yaml = YAML()
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(CommentedMap(tree), out)
    return out.getvalue()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=TREES, crlf=st.booleans(), bom=st.booleans(), final_newline=st.booleans())
def test_seal_open_is_identity(
    tmp_path: Path, tree: dict[str, Any], crlf: bool, bom: bool, final_newline: bool
) -> None:
    text = dump(tree)
    try:  # ruamel's dumper can emit invalid YAML (a comment after a nested map in a list)
        document.parse(text, "generated")
    except InputError:
        assume(False)
    if crlf:
        text = text.replace("\n", "\r\n")
    if not final_newline:
        text = text.rstrip("\r\n")
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    target = tmp_path / "p.yaml"
    target.write_bytes(data)
    keys = KeySource(key=KEY, env={})
    api.encrypt_file(target, keys)
    assert api.decrypt_file(target, keys) == data
