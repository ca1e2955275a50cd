"""Turn snippets into realistic payloads: unified diffs, stack traces and fenced code."""
# ruff: noqa: E501  (error-message tables read better unbroken)

from __future__ import annotations

import random

from gateway.classify.corpus.snippets import Snippet

_RENAMES = (
    ("items", "line_items"),
    ("value", "raw"),
    ("total", "amount"),
    ("count", "n"),
    ("data", "payload"),
    ("user", "account"),
    ("result", "out"),
    ("path", "file_path"),
    ("key", "cache_key"),
    ("tokens", "budget"),
)
_ADDED_LINES = {
    "python": [
        "    # guard against empty input",
        "    if not {v}:",
        "        return None",
        '    logger.debug("processing %s", {v})',
    ],
    "javascript": ["  // guard against empty input", "  if (!{v}) return null;", "  console.debug('processing', {v});"],
    "typescript": ["  // guard against empty input", "  if (!{v}) return undefined;"],
    "java": ['        Objects.requireNonNull({v}, "{v}");', '        log.debug("processing {{}}", {v});'],
    "go": ["\tif {v} == nil {{", "\t\treturn nil, ErrNotFound", "\t}}"],
}


def make_diff(snippet: Snippet, rng: random.Random) -> str:
    """A plausible unified diff that edits the snippet: a rename, an added guard, a removed line."""
    old = snippet.code.rstrip("\n").split("\n")
    new = list(old)
    old_name, new_name = rng.choice(_RENAMES)
    new = [line.replace(old_name, new_name) for line in new]
    if len(new) > 4:
        at = rng.randrange(2, len(new) - 1)
        extra = [t.format(v=new_name) for t in _ADDED_LINES.get(snippet.lang, ["    // TODO: validate input"])]
        new[at:at] = extra[: rng.randint(1, len(extra))]
        if rng.random() < 0.4 and len(new) > 8:
            del new[rng.randrange(1, len(new) - 1)]
    lines = [f"diff --git a/{snippet.path} b/{snippet.path}", f"--- a/{snippet.path}", f"+++ b/{snippet.path}"]
    start = rng.randint(1, 240)
    lines.append(f"@@ -{start},{len(old)} +{start},{len(new)} @@")
    i = j = 0
    # A simple line-by-line alignment; good enough for synthetic hunks.
    while i < len(old) or j < len(new):
        if i < len(old) and j < len(new) and old[i] == new[j]:
            lines.append(" " + old[i])
            i += 1
            j += 1
        elif j < len(new) and (i >= len(old) or new[j] not in old[i:]):
            if i < len(old) and old[i] not in new[j:]:
                lines.append("-" + old[i])
                i += 1
            lines.append("+" + new[j])
            j += 1
        else:
            lines.append("-" + old[i])
            i += 1
    if rng.random() < 0.5:
        lines = lines[3:] if rng.random() < 0.5 else lines[1:]
    return "\n".join(lines) + "\n"


_PY_ERRORS = (
    "KeyError: 'email'",
    "TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'",
    "AttributeError: 'NoneType' object has no attribute 'get'",
    "ValueError: invalid literal for int() with base 10: ''",
    "IndexError: list index out of range",
    "ZeroDivisionError: division by zero",
    "RecursionError: maximum recursion depth exceeded",
    "sqlalchemy.exc.IntegrityError: duplicate key value violates unique constraint",
)
_JAVA_ERRORS = (
    'java.lang.NullPointerException: Cannot invoke "String.length()" because "name" is null',
    "java.lang.IllegalStateException: Connection pool exhausted",
    "java.lang.ArrayIndexOutOfBoundsException: Index 3 out of bounds for length 3",
    "java.util.ConcurrentModificationException",
)
_JS_ERRORS = (
    "TypeError: Cannot read properties of undefined (reading 'map')",
    "RangeError: Maximum call stack size exceeded",
    "ReferenceError: process is not defined",
    "SyntaxError: Unexpected token < in JSON at position 0",
)


def make_trace(snippet: Snippet, rng: random.Random) -> str:
    """A stack trace in the snippet's ecosystem that points into the snippet's file."""
    if snippet.lang in ("java", "kotlin"):
        cls = snippet.path.rsplit("/", 1)[-1].split(".")[0]
        frames = [
            f"\tat com.acme.{cls.lower()}.{cls}.{rng.choice(['handle', 'process', 'run', 'apply'])}({cls}.java:{rng.randint(12, 300)})"
            for _ in range(rng.randint(2, 5))
        ]
        frames.append(f"\tat java.base/java.lang.Thread.run(Thread.java:{rng.randint(800, 1600)})")
        head = rng.choice(['Exception in thread "main" ', ""]) + rng.choice(_JAVA_ERRORS)
        return head + "\n" + "\n".join(frames)
    if snippet.lang in ("javascript", "typescript"):
        ext = "ts" if snippet.lang == "typescript" else "js"
        frames = [
            f"    at {rng.choice(['Object.<anonymous>', 'processTicksAndRejections', snippet.symbol, 'Array.map'])} "
            f"(/srv/app/{snippet.path.replace('.ts', '.' + ext)}:{rng.randint(3, 90)}:{rng.randint(5, 40)})"
            for _ in range(rng.randint(2, 5))
        ]
        return rng.choice(_JS_ERRORS) + "\n" + "\n".join(frames)
    if snippet.lang == "go":
        return (
            f"panic: runtime error: invalid memory address or nil pointer dereference\n"
            f"[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x{rng.randint(4096, 65535):x}]\n\n"
            f"goroutine {rng.randint(1, 80)} [running]:\nmain.{snippet.symbol}(...)\n\t/app/{snippet.path}:{rng.randint(10, 60)} +0x{rng.randint(16, 255):x}"
        )
    frames = []
    for depth in range(rng.randint(2, 5)):
        path = (
            snippet.path
            if depth == 0 or rng.random() < 0.5
            else rng.choice(["app/main.py", "app/views.py", "lib/handlers.py"])
        )
        frames.append(
            f'  File "/srv/{path}", line {rng.randint(5, 400)}, in {rng.choice([snippet.symbol, "handle", "wrapper", "dispatch", "<module>"])}'
        )
        frames.append(
            "    "
            + rng.choice(
                [
                    "result = fn(*args, **kwargs)",
                    "return self._data[key]",
                    "total += row['amount']",
                    "user = lookup(payload)",
                ]
            )
        )
    return "Traceback (most recent call last):\n" + "\n".join(frames) + "\n" + rng.choice(_PY_ERRORS)


def fenced(code: str, lang: str, rng: random.Random, path: str | None = None) -> str:
    """Code in a markdown fence, sometimes with the file name in the info string or above it."""
    style = rng.random()
    if path and style < 0.25:
        return f"```{lang} {path}\n{code.rstrip()}\n```"
    if path and style < 0.5:
        return (
            f"{rng.choice(['File: ', '# ', '### ', '`'])}{path}{'`' if False else ''}\n```{lang}\n{code.rstrip()}\n```"
        )
    if style < 0.9:
        return f"```{lang}\n{code.rstrip()}\n```"
    return code.rstrip()
