"""A hypothesis strategy that damages a JSON/YAML document: the config and source-answer
property tests start from a valid document and replace, delete or add a few nodes."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st


def places(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every key path in ``node``, the root (``()``) first."""
    out: list[tuple[object, ...]] = [prefix]
    items: list[tuple[object, object]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    for key, child in items:
        out.extend(places(child, (*prefix, key)))
    return out


@st.composite
def mutated(
    draw: st.DrawFn,
    base: object,
    values: st.SearchStrategy[Any],
    *,
    keys: st.SearchStrategy[Any] | None = None,
    replace_root: bool = False,
) -> Any:
    """``base`` with 1–3 nodes replaced by ``values``, deleted, or (with ``keys``) given a
    new sibling: a new key in a mapping, a new item in a list. With ``replace_root`` the
    whole document may be replaced too."""
    doc = copy.deepcopy(base)
    operations = ["replace", "replace", "delete"] + (["add"] if keys is not None else [])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        candidates = places(doc) if replace_root else places(doc)[1:]
        if not candidates:
            break
        place = draw(st.sampled_from(candidates))
        if not place:
            doc = draw(values)
            continue
        parent: Any = doc
        for key in place[:-1]:
            parent = parent[key]
        operation = draw(st.sampled_from(operations))
        if operation == "replace":
            parent[place[-1]] = draw(values)
        elif operation == "delete":
            del parent[place[-1]]
        elif isinstance(parent, dict):
            assert keys is not None
            parent[draw(keys)] = draw(values)
        else:
            parent.append(draw(values))
    return doc
