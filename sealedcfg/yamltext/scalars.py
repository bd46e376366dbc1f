"""Writing a value as a YAML scalar whose type is the one the user meant."""

from __future__ import annotations

import json
import math
import re

from sealedcfg.errors import InputError

VALUE_TYPES = ("str", "int", "float", "bool", "null")
# Characters that make a plain scalar mean something else, anywhere in it or at its start.
_PLAIN_SAFE = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^\n\r\t]*")
_RISKY = re.compile(r": |:$| #|[\[\]{},]")


def _resolves_to(value: str, version: tuple[int, int] = (1, 2)) -> str:
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.resolver import VersionedResolver

    tag = str(VersionedResolver(version=version).resolve(ScalarNode, value, (True, False)))
    return tag.rsplit(":", 1)[-1]


def _str_everywhere(value: str) -> bool:
    """Plain `value` reads as a string under YAML 1.2 *and* 1.1 (`yes`, `014`...)."""
    return _resolves_to(value) == "str" and _resolves_to(value, (1, 1)) == "str"


# What YAML must not see raw: characters outside its printable set (C0 and C1
# controls, DEL, surrogates, U+FFFE/U+FFFF), the byte order mark, and the
# characters a YAML 1.1 reader takes as line breaks (NEL U+0085, LS U+2028,
# PS U+2029), which would split or fold a value.  Escaped, in double quotes.
_NEEDS_ESCAPE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
)


def quote(value: str) -> str:
    """A double-quoted YAML scalar (JSON's escapes are a subset of YAML's)."""
    text = json.dumps(value, ensure_ascii=False)
    return _NEEDS_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def render(value: str, vtype: str | None = None) -> str:
    """YAML source text for `value`.

    With no `vtype` the value keeps the type YAML would read from it; with one,
    it is converted (InputError if it cannot be) and written so that YAML
    reads back exactly that type.
    """
    if vtype is None:  # keep what YAML reads: an int stays an int, a date a date
        if _plain_ok(value) and _resolves_to(value) != "str":
            return value
        vtype = "str"
    if vtype == "str":
        return value if _plain_ok(value) and _str_everywhere(value) else quote(value)
    if vtype == "int":
        try:
            return str(int(value.replace("_", ""), 0))
        except ValueError:
            raise InputError("the value is not an integer") from None
    if vtype == "float":
        try:
            number = float(value)
        except ValueError:
            raise InputError("the value is not a number") from None
        if math.isnan(number):
            return ".nan"
        if math.isinf(number):
            return ".inf" if number > 0 else "-.inf"
        text = repr(number)
        return text if _resolves_to(text) == "float" else text + ".0"
    if vtype == "bool":
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            return "true"
        if lowered in ("false", "no", "off", "0"):
            return "false"
        raise InputError("the value is not a boolean (true/false)")
    if vtype == "null":
        if value.strip().lower() not in ("", "null", "~", "none"):
            raise InputError("a null value must be empty or 'null'")
        return "null"
    raise InputError(f"unknown type {vtype!r} (expected one of {', '.join(VALUE_TYPES)})")


def _plain_ok(value: str) -> bool:
    return (
        bool(value)
        and value == value.strip()
        and _NEEDS_ESCAPE.search(value) is None
        and _PLAIN_SAFE.fullmatch(value) is not None
        and _RISKY.search(value) is None
    )
