"""YAML loading that remembers the line of every value, so errors can point at it."""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[Any, ...]


def load_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse `text`; return the data and a map from key path to 1-based line number."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[Path, int] = {}
    constructor = yaml.SafeLoader("")

    def build(node: yaml.Node, path: Path) -> Any:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            result = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                lines[(*path, key)] = key_node.start_mark.line + 1
                result[key] = build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    return (build(root, ()) if root is not None else None), lines


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of `path`, or of its nearest recorded parent."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())
