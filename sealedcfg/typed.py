"""Typed values from decrypted text, with ruamel's safe loader (C parser if present)."""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from sealedcfg.errors import InputError
from sealedcfg.yamlparse import has_c_parser


class _Constructor(SafeConstructor):
    """Safe construction; an application tag (`!Ref`, `!secret`) yields its plain value."""


def _untagged(constructor: SafeConstructor, node: Node) -> Any:
    if isinstance(node, MappingNode):
        return constructor.construct_mapping(node, deep=True)
    if isinstance(node, SequenceNode):
        return constructor.construct_sequence(node, deep=True)
    return constructor.construct_scalar(node)


_Constructor.add_constructor(None, _untagged)


def load_text(text: str, name: str) -> list[Any]:
    yaml = YAML(typ="safe", pure=not has_c_parser())
    yaml.Constructor = _Constructor
    try:
        return list(yaml.load_all(text))
    except YAMLError:
        raise InputError(f"{name}: decrypted text could not be read as typed values") from None
