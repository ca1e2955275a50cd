"""YAML loading that remembers the line of every value, so errors can point at it (policy and catalogue)."""

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


def render(path: Path, brackets: bool = False) -> str:
    """`path` as text: `a.b.0` (or `a.b[0]` with brackets); `(document)` for the root."""
    text = ""
    for part in path:
        if brackets and type(part) is int:
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(document)"


class Located:
    """Collects problems as 'file:line: path: message', the line looked up from the YAML."""

    def __init__(self, filename: str, lines: dict[Path, int], brackets: bool = False) -> None:
        self.filename = filename
        self.lines = lines
        self.brackets = brackets
        self.problems: list[str] = []

    def add(self, path: Path, message: str) -> None:
        line = line_of(self.lines, path)
        self.problems.append(f"{self.filename}:{line or '?'}: {render(path, self.brackets)}: {message}")


class YamlFileError(ValueError):
    """A YAML file that cannot be read, is not valid YAML or repeats a key; `problems` says where."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_with_lines(path: Any, brackets: bool = False) -> tuple[Any, dict[Path, int]]:
    """`load_with_lines` of a file, every failure a YamlFileError with the file and line."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise YamlFileError([f"{path}: not found (set GATEWAY_POLICIES_DIR to the policies directory)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlFileError([f"{path}: cannot be read: {exc}"]) from None
    try:
        return load_with_lines(text)
    except DuplicateKeys as exc:
        raise YamlFileError([f"{path}:{line}: {render(key, brackets)}: duplicate key (first on line {first}); "
                             "YAML would silently keep only one of them"
                             for key, first, line in exc.duplicates]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else "?"
        raise YamlFileError([f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
