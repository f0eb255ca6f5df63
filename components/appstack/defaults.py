"""The defaults of every appstack setting, read from `defaults.yaml` inside the package.

One source for both users of defaults: `appstack.settings` merges a stack file over them, and each
component's Args dataclass takes its field defaults from them (so `DatabaseArgs().image` is the
same pgvector image a stack gets when it sets none). Pulumi.yaml's `config:` schema declares the
same values for the CLI; a test keeps the two equal.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def defaults() -> dict[str, Any]:
    """Every setting's default, keyed as in a stack file without the namespace."""
    text = resources.files("appstack").joinpath("defaults.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise RuntimeError("appstack/defaults.yaml is not a mapping: the package is damaged")
    return loaded


def section(key: str) -> dict[str, Any]:
    """The defaults of one structured setting (`database`, `cache`, ...), as a fresh copy."""
    return dict(defaults()[key])
