"""Alias expansion, bounded: what a reader of typed values visits (limits.py).

A YAML loader shares the anchored node among its aliases, but whatever walks
the values (export, exec, get's output, an application's JSON dump) visits the
anchored subtree once per alias: ten nested levels of ten aliases are 10^10
nodes in a few hundred bytes ("billion laughs").  Checked on the parsed body
before any typed value is built.
"""

from __future__ import annotations

from sealedcfg.base import limits
from sealedcfg.errors import InputError
from sealedcfg.yamltext.document import Body


def check_alias_expansion(body: Body, name: str) -> None:
    """Refuse a body whose aliases, expanded, would make a reader visit more than
    limits.MAX_EXPANDED_NODES nodes ("billion laughs": 10 nested levels of 10
    aliases each are 10^10 nodes in a few hundred bytes), or that holds a
    recursive alias (`&a [*a]`), which no flat output can expand.

    One pass over the parsed nodes, in document order, before any typed value
    is built: an alias costs the expanded size of its anchor's node, which is
    known once that node has ended.  Runs wherever typed values are read
    (export, exec, get, load).
    """
    expanded = 0
    sizes: dict[str, int] = {}  # anchor -> expanded size of its (ended) node
    open_nodes: list[tuple[int, str | None, int]] = []  # (depth, anchor, expanded at start)
    for node in body.nodes:
        depth = len(node.path)
        while open_nodes and open_nodes[-1][0] >= depth:
            _, anchor, start = open_nodes.pop()
            if anchor is not None:
                sizes[anchor] = expanded - start
        if node.kind == "alias":
            if any(anchor == node.value for _, anchor, _ in open_nodes):
                raise InputError(
                    f"{name}: a recursive alias *{node.value} at line {node.line} "
                    "(it refers to a node that contains it)"
                )
            size = sizes.get(node.value, 1)
        else:
            size = 1
        expanded += size
        if expanded > limits.MAX_EXPANDED_NODES:
            raise limits.exceeded(
                name,
                "the number of nodes with aliases expanded",
                limits.MAX_EXPANDED_NODES,
                node.line,
            )
        if node.kind in ("map", "seq"):
            open_nodes.append((depth, node.anchor, expanded - 1))
        elif node.anchor is not None:
            sizes[node.anchor] = size
