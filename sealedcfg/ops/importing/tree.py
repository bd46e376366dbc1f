"""What every import source becomes: typed values in order, and the comments that came along."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sealedcfg.ops.importing import render


@dataclass
class Source:
    name: str
    kind: str  # dotenv | json | yaml
    data: dict[str, Any]  # str keys; str, int, float, bool, None, lists and mappings
    comments: render.Comments = field(default_factory=dict)
    text: str | None = None  # plain YAML as written: a new profile seals it as it is
    sops: bool = False
