"""Values written by `set`: each type as YAML reads it back, under YAML 1.2 and 1.1."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from sealedcfg.errors import InputError
from sealedcfg.yamltext.scalars import VALUE_TYPES, render


def read_back(source: str) -> tuple[Any, Any]:
    """What a YAML 1.2 reader (ruamel) and a 1.1 reader (PyYAML) make of `a: SOURCE`."""
    text = f"a: {source}\n"
    return YAML(typ="safe", pure=True).load(text)["a"], yaml.safe_load(text)["a"]


@pytest.mark.parametrize(
    ("value", "vtype", "want"),
    [
        ("42", None, 42),
        ("2026-01-02", None, datetime.date(2026, 1, 2)),
        ("yes", None, "yes"),  # a string to 1.2: quoted, so 1.1 reads a string too
        ("014", "str", "014"),
        ("plain text", "str", "plain text"),
        ("a: b", "str", "a: b"),
        (" padded ", None, " padded "),
        ("tab\there", "str", "tab\there"),
        ("line\u2028sep", "str", "line\u2028sep"),
        ("0x1F", "int", 31),
        ("1_000", "int", 1000),
        ("1e3", "float", 1000.0),
        ("3", "float", 3.0),
        ("inf", "float", math.inf),
        ("-inf", "float", -math.inf),
        ("On", "bool", True),
        ("0", "bool", False),
        ("", "null", None),
        ("~", "null", None),
    ],
)
def test_rendered_values_read_back_as_meant(value: str, vtype: str | None, want: Any) -> None:
    new, old = read_back(render(value, vtype))
    assert new == want
    assert old == want


def test_nan_reads_back_as_nan() -> None:
    assert render("nan", "float") == ".nan"
    assert all(math.isnan(v) for v in read_back(".nan"))


@pytest.mark.parametrize(
    ("value", "vtype", "message"),
    [
        ("x", "int", "not an integer"),
        ("x", "float", "not a number"),
        ("maybe", "bool", "not a boolean"),
        ("x", "null", "must be empty or 'null'"),
        ("x", "date", "unknown type 'date'"),
    ],
)
def test_values_that_are_not_of_their_type_are_refused(
    value: str, vtype: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        render(value, vtype)
    assert "date" not in VALUE_TYPES
