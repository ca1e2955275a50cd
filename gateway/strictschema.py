"""Strict pydantic validation of YAML files, every problem as (YAML path, readable message).

Shared by routing.yaml (gateway/policy/schema.py) and models.yaml (gateway/catalogue_schema.py).
Strict so that YAML's loose typing cannot slip through: `"no"` is not a boolean, `CN` is not a
list, `true` is not a number.
"""

from __future__ import annotations

import types
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

Spec = TypeVar("Spec", bound=BaseModel)


class Strict(BaseModel):
    """Base of every schema model: no coercion, no unknown keys, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def validate(root: type[Spec], raw: Any) -> Spec | list[tuple[tuple, str]]:
    """`raw` as the typed `root`, or every shape problem as (YAML path, message)."""
    try:
        return root.model_validate(raw)
    except ValidationError as exc:
        return [_problem(root, error) for error in exc.errors()]


def _problem(root: type[BaseModel], error: Any) -> tuple[tuple, str]:
    loc = tuple(error["loc"])
    if loc and loc[-1] == "[key]":  # a mapping key of the wrong type: point at the key itself
        return loc[:-1], f"a name here must be a string, got {loc[-2]!r}"
    kind, got = error["type"], error.get("input")
    if kind == "extra_forbidden":
        allowed = _fields_at(root, loc[:-1])
        return loc, "unknown key" + (f"; use one of {', '.join(allowed)}" if allowed else "")
    if kind == "missing":  # the key is absent: point at the mapping that lacks it
        return loc[:-1], f"{loc[-1]!r} is required"
    if kind == "bool_type":
        return loc, f"must be true or false (a YAML boolean, unquoted), got {got!r}"
    if kind in ("model_type", "dict_type"):
        return loc, f"must be a mapping, got {_shape(got)}"
    if kind == "literal_error":
        return loc, f"must be one of {error['ctx']['expected']}, got {got!r}"
    if kind == "list_type":
        return loc, f"must be a list (e.g. [a, b]), got {_shape(got)}"
    message = error["msg"].replace("Input should be", "must be")
    return loc, f"{message}, got {got!r}"


def _shape(value: Any) -> str:
    kind = {list: "a list", dict: "a mapping", str: "a string", bool: "a boolean"}.get(type(value))
    return f"{kind} {value!r}" if kind else repr(value)


def _optional_inner(node: Any) -> Any:
    """`X` for `X | None`; anything else unchanged."""
    if get_origin(node) in (Union, types.UnionType):
        others = [arg for arg in get_args(node) if arg is not type(None)]
        if len(others) == 1:
            return others[0]
    return node


def _fields_at(root: type[BaseModel], loc: tuple) -> list[str]:
    """The keys allowed at `loc` in the schema (for 'unknown key' messages)."""
    node: Any = root
    for part in loc:
        node = _optional_inner(node)
        if isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
            node = node.model_fields[part].annotation
        elif get_origin(node) is dict:
            node = get_args(node)[1]
        elif get_origin(node) is list and isinstance(part, int):
            node = get_args(node)[0]
        else:
            return []
    node = _optional_inner(node)
    return list(node.model_fields) if isinstance(node, type) and issubclass(node, BaseModel) else []
