"""Moved to `gateway.yamllines` (shared with the catalogue loader); re-exported for existing imports."""

from gateway.yamllines import DuplicateKeys, line_of, load_with_lines

__all__ = ["DuplicateKeys", "line_of", "load_with_lines"]
