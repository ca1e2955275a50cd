"""YAML loading that remembers the line of every value, so errors can point at it."""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[Any, ...]


class DuplicateKeys(yaml.YAMLError):
    """A mapping repeats a key; plain YAML would silently keep the last value."""

    def __init__(self, duplicates: list[tuple[Path, int, int]]) -> None:
        super().__init__(f"{len(duplicates)} duplicated key(s)")
        self.duplicates = duplicates  # (path, line of the first occurrence, line of the repeat)


def load_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse `text`; return the data and a map from key path to 1-based line number.

    Raises DuplicateKeys listing every repeated key, and yaml.YAMLError for invalid YAML.
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[Path, int] = {}
    duplicates: list[tuple[Path, int, int]] = []
    constructor = yaml.SafeLoader("")

    def build(node: yaml.Node, path: Path) -> Any:
        lines.setdefault(path, node.start_mark.line + 1)  # a keyed value keeps its key's line
        if isinstance(node, yaml.MappingNode):
            result = {}
            key_lines: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        None, None, "a mapping key must be a plain value, not a list or mapping",
                        key_node.start_mark) from None
                line = key_node.start_mark.line + 1
                if key in result:
                    duplicates.append(((*path, key), key_lines[key], line))
                    continue  # keep the first value's lines so the report points at both
                key_lines[key] = lines[(*path, key)] = line
                result[key] = build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    data = build(root, ()) if root is not None else None
    if duplicates:
        raise DuplicateKeys(duplicates)
    return data, lines


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of `path`, or of its nearest recorded parent."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())
