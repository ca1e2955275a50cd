"""Nearly-free structural signals of a request: tools, diffs, stack traces, schemas, turns, languages."""

from __future__ import annotations

import functools
import re

from gateway.classify.features import ascii_map, split_words, window_tokens
from gateway.classify.textscan import EDGE_CHARS, EDGES, HEAD, LOW, NUMBERS_COUNTED, TASK, Scanner, ScanTable
from gateway.classify.view import RequestView

# Cost model: Python's `re` walks every position of the text (~0.1-0.2 us per char per pattern)
# and even `str.lower()` or a substring search costs 5-130 us on 32 KB of non-ASCII text (one
# non-ASCII character makes CPython store every character in 2-4 bytes), against a 1 ms budget.
# So only a few substring searches see the whole text and nothing copies it; everything else
# runs over a bounded head/tail window, and regexes only confirm a substring hit near it.
_M = re.MULTILINE
_HUNK = re.compile(r"@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")
_STACK_CONFIRM = (
    ("Traceback (most recent call last)", None),
    ('", line ', re.compile(r"File \"[^\"\n]+\", line \d+")),
    (".java:", re.compile(r"at [\w$.<>]+\([\w$]+\.java:\d+\)")),
    (".kt:", re.compile(r"at [\w$.<>]+\([\w$]+\.kt:\d+\)")),
    ('Exception in thread "', None),
    (".js:", re.compile(r"\.js:\d+:\d+")),
    (".ts:", re.compile(r"\.ts:\d+:\d+")),
    ("goroutine ", re.compile(r"goroutine \d+ \[")),
    ("panicked at", None),
    (":line ", re.compile(r"\) in [^\n]+:line \d+")),
)
_ERROR_LINE = re.compile(r"\b[A-Z]\w*(?:Error|Exception)\b(?::|\s*$)", _M)
_SQL_QUERY = re.compile(r"\bSELECT\b[^;]{1,300}?\bFROM\b")
# Line-start checks run per line of the window: a cheap startswith/`in` prefilter, then a match.
_FILE_STARTS = ("```", "#", "//", "File:", "file:", "--- ", "**", "Path:", "`")
_FILENAME_LINE = re.compile(
    r"(?:```[\w+-]*[ \t]+|#+[ \t]*|//[ \t]*|File:[ \t]*|file:[ \t]*|--- |\*\*|Path:[ \t]*)?`?"
    r"([\w./-]+\.(?:py|js|ts|tsx|jsx|java|go|rs|rb|php|cs|cpp|cc|c|h|hpp|kt|swift|scala|sql|ya?ml|json|toml"
    r"|html|css|vue|sh|cfg|ini|md))\b"
)
_CODE_STARTS = (
    "def ",
    "class ",
    "function ",
    "async function ",
    "public ",
    "private ",
    "protected ",
    "func ",
    "fn ",
    "impl ",
    "import ",
    "from ",
    "#include",
    "const ",
    "let ",
    "var ",
    "package ",
    "return ",
    "if (",
    "for (",
    "using ",
    "namespace ",
)
_TRANSCRIPT_LINE = re.compile(r"(?:#\w+#|[A-Z][\w.]{0,15}(?: [A-Z][\w.]{0,15})?|Speaker ?\w{1,3}|Q|A)[ \t]*:[ \t]*\S")
_TARGET_LANGUAGE = re.compile(
    r"\b(?:into|to|in)\s+(?:plain\s+|simple\s+|formal\s+|british\s+|american\s+|brazilian\s+|simplified\s+|traditional\s+)?"
    r"(?:english|german|french|spanish|italian|portuguese|russian|ukrainian|chinese|mandarin|cantonese|japanese|korean"
    r"|czech|hebrew|arabic|hindi|dutch|polish|turkish|swedish|norwegian|danish|finnish|greek|vietnamese|thai"
    r"|indonesian|romanian|hungarian|persian|farsi|urdu|bengali|swahili)\b",
)
_LANGUAGE_WORDS = frozenset(
    "english german french spanish italian portuguese russian ukrainian chinese mandarin cantonese japanese korean "
    "czech hebrew arabic hindi dutch polish turkish swedish norwegian danish finnish greek vietnamese thai "
    "indonesian romanian hungarian persian farsi urdu bengali swahili".split()
)
_NON_LATIN = re.compile(
    r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0900-\u097f\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"
)
_DIACRITIC = re.compile(r"[À-ÖØ-öø-ÿĀ-žȘ-ț]")
_BACK_REFERENCE = re.compile(
    r"\b(?:your (?:previous |last |earlier |first |second )?(?:answer|response|reply|story|poem|code|list|essay|email"
    r"|explanation|suggestion|example|solution|plan|draft)s?|previous (?:answer|response|question|message|point)"
    r"|(?:the|that) (?:last|first|second|third) (?:one|point|option|step|paragraph)"
    r"|you (?:just )?(?:said|mentioned|wrote|suggested|gave)|as (?:before|above)|same (?:thing|way|format|style)"
    r"|instead|again|continue|go on|elaborate|expand on|what about|and (?:if|what)"
    r"|tell me more|why (?:is|did|does) (?:that|it)|make it|rewrite it|shorten it|the above|earlier)\b",
    re.IGNORECASE,
)
_STOP = frozenset(
    "this that with from have what which when where there their they them your about would could should will "
    "into been were than then also some more most other only just like make made does each such these those "
    "here please following given using write code text below above based need want".split()
)
# Single words are checked against the window's word set (one hash lookup each); phrases are
# only searched for when one of their words is present.
_WORD_BREAKS = b"!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~\t\r\n"
# bytes.translate on the UTF-8 encoding: str.translate drops to ~70 ns a character at the first
# non-ASCII one (0.3 ms for a 4 KB window of Cyrillic); this stays at ~1 ns a byte.
_WORD_TABLE = bytes.maketrans(_WORD_BREAKS, b" " * len(_WORD_BREAKS))
_WORD_MAP = ascii_map(_WORD_TABLE, lower=True)
_MIGRATION_WORDS = frozenset("alembic flyway liquibase knex sequelize makemigrations prisma goose dbmate".split())
_MIGRATION_PHRASES = ("activerecord::migration", "op.add_column", "op.create_table", "db:migrate", "schema_migrations")
# A phrase list is only scanned when a word every one of its phrases leaves behind is present.
_MIGRATION_GATE = frozenset(("activerecord", "op", "migrate", "migrations"))
_ALTER = ("alter table", "add column", "drop column", "rename column")
_TEST_WORDS = frozenset(
    "assert assertequal assertequals asserttrue assertthat unittest pytest junit jest mocha rspec".split()
)
_TEST_PHRASES = ("def test_", "@test", "describe(", "it('", 'it("', "expect(")
_TEST_GATE = frozenset(("test", "describe", "expect"))
_TRANSLATE_WORDS = frozenset(
    "translate translated translating translation translations translator übersetze übersetzen übersetzung traduire "
    "traduis traduisez traduction traduce traducir traduzca traducción traduz traduzir traduci traduzione".split()
)
_TRANSLATE_SCRIPTS = ("переве", "перекла", "翻译", "翻譯", "翻訳", "번역")
# Injection phrases, each behind a word it contains: a phrase is only searched for when its word
# is in the window's word set, so ordinary text costs a few hash lookups, not twenty scans.
_INJECTION: tuple[tuple[str, str], ...] = (
    ("ignore", "ignore all previous"),
    ("ignore", "ignore previous"),
    ("ignore", "ignore all prior"),
    ("ignore", "ignore prior"),
    ("ignore", "ignore the above"),
    ("ignore", "ignore your"),
    ("disregard", "disregard"),
    ("developer", "developer mode"),
    ("jailbreak", "jailbr"),
    ("jailbroken", "jailbr"),
    ("jailbreaking", "jailbr"),
    ("anything", "do anything now"),
    ("ethical", "no ethical"),
    ("moral", "no moral"),
    ("restrictions", "without any restrictions"),
    ("filter", "without any filter"),
    ("filters", "without any filter"),
    ("prompt", "system prompt"),
    ("character", "stay in character"),
    ("unfiltered", "unfiltered"),
    ("amoral", "amoral"),
    ("policy", "content polic"),
    ("policies", "content polic"),
    ("uncensored", "uncensored"),
)
_SOURCE_EXTENSIONS = (".py", ".js", ".ts", ".java", ".go", ".rb", ".php", ".cs", ".cpp", ".rs", ".kt", ".swift", ".sql")
_EXTENSION_WORDS = frozenset(ext[1:] for ext in _SOURCE_EXTENSIONS)
_FORMAT_WORDS = frozenset("json yaml xml csv toml jsonl ndjson".split())
_REACT = ("\nthought:", "\naction:", "\naction input:", "\nobservation:", "access to the following tools")
_REACT_WORDS = frozenset(("thought", "action", "observation", "tools"))
_ALTER_WORDS = frozenset(("alter", "column"))
_EMAIL = ("\nsubject:", "\nfrom:", "\nto:", "\ncc:", "\nsent:", "subject:")

_HEAD = 3_000
_TAIL = 1_000
_EDGE_TOKENS = 70  # ~400 characters of prose at each end
# Line-level checks read this many lines at each end of the window (~1.5 us a line).
_HEAD_LINES = 28
_TAIL_LINES = 8


def _window(text: str) -> str:
    return text if len(text) <= _HEAD + _TAIL else text[:_HEAD] + "\n" + text[-_TAIL:]


def _word_set(text: str) -> set[str]:
    """The distinct lower-cased words of `text`."""
    return set(split_words(text, _WORD_TABLE, _WORD_MAP))


def _any(text: str, needles: tuple[str, ...]) -> bool:
    return any(n in text for n in needles)


def _confirm(text: str, needle: str, pattern: re.Pattern[str] | None, span: int = 300, tries: int = 3) -> bool:
    """True when `needle` occurs and (if given) `pattern` matches near one of its first few occurrences."""
    at = text.find(needle)
    while at >= 0 and tries:
        if pattern is None or pattern.search(text, max(0, at - span), at + span):
            return True
        at = text.find(needle, at + 1)
        tries -= 1
    return False


# What the text checks look for, declared once: textscan.Scanner finds all of it in one call (in C
# for ASCII text) and compute_signals reads the answers as bits. A phrase gated on a word flag is
# only searched for when such a word is in the window (the word set costs a hash lookup a token).
_TABLE = ScanTable(code_starts=_CODE_STARTS, file_starts=_FILE_STARTS, edge_tokens=_EDGE_TOKENS,
                   head_lines=_HEAD_LINES, tail_lines=_TAIL_LINES)
_W_REACT = _TABLE.flag(_REACT_WORDS)
_W_ALTER = _TABLE.flag(_ALTER_WORDS)
_W_MIGRATION = _TABLE.flag(_MIGRATION_WORDS)
_W_MIGRATION_GATE = _TABLE.flag(_MIGRATION_GATE)
_W_TEST = _TABLE.flag(_TEST_WORDS)
_W_TEST_GATE = _TABLE.flag(_TEST_GATE)
_W_TRANSLATE = _TABLE.flag(_TRANSLATE_WORDS)
_W_LANGUAGE = _TABLE.flag(_LANGUAGE_WORDS)
_W_FORMAT = _TABLE.flag(_FORMAT_WORDS)
# One flag per extension word: a single kind of extension needs its mentions counted.
_W_EXTENSIONS = {_TABLE.flag((word,)): word for word in sorted(_EXTENSION_WORDS)}
_W_EXTENSION = sum(_W_EXTENSIONS)
_W_INJECTION = {word: _TABLE.flag((word,)) for word in dict.fromkeys(word for word, _ in _INJECTION)}

_N_DIFF_GIT = _TABLE.find(TASK, ("diff --git ",))
_N_HUNK = _TABLE.find(TASK, ("@@ -",))
_N_TRACEBACK = _TABLE.find(TASK, ("Traceback (most recent call last)",))
_N_STACK = tuple((needle, pattern, _TABLE.find(HEAD, (needle,))) for needle, pattern in _STACK_CONFIRM[1:])
_N_CREATE_TABLE = _TABLE.find(TASK, ("CREATE TABLE",)) | _TABLE.find(LOW, ("create table",))
_N_REACT = _TABLE.find(LOW, _REACT, gate=_W_REACT)
_N_ERROR = _TABLE.find(HEAD, ("Error",))
_N_EXCEPTION = _TABLE.find(HEAD, ("Exception",))
_N_SELECT = _TABLE.find(HEAD, ("SELECT",))
_N_ALTER = _TABLE.find(LOW, _ALTER, gate=_W_ALTER)
_N_MIGRATION = _TABLE.find(LOW, _MIGRATION_PHRASES, gate=_W_MIGRATION_GATE)
_N_TEST = _TABLE.find(LOW, _TEST_PHRASES, gate=_W_TEST_GATE)
_N_SCHEMA = _TABLE.find(HEAD, ('"$schema"', '"properties"'))
_N_EMAIL = sum(_TABLE.find(LOW, (header,)) for header in _EMAIL)  # counted: one bit each
_N_INJECTION = _TABLE.find_gated(LOW, ((phrase, _W_INJECTION[word]) for word, phrase in _INJECTION))
_N_MARKDOWN_TABLE = _TABLE.find(EDGES, ("markdown table",))
_SCANNER = Scanner(_TABLE)


@functools.lru_cache(maxsize=512)
def _system_react(system: str) -> bool:
    """A ReAct scaffold in the system prompt (memoised: an application sends the same one every time)."""
    return _any(system.lower(), _REACT)


def _edges(low: str) -> str:
    return low[:EDGE_CHARS] + "\n" + low[-EDGE_CHARS:]


def _content_words(text: str) -> set[str]:
    return {w for w in _word_set(text) if len(w) > 3 and w.isalpha()} - _STOP


def _tool_words(tool_text: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", tool_text).replace("_", " ")
    return _content_words(spaced)


def _conversation_signals(view: RequestView, head: str, add) -> None:
    if view.has_tools:
        add("tools")
    if view.tool_choice_forced:
        add("tool_choice")
    if view.tool_calls_in_history or view.n_tool_results:
        add("tool_history")
    if view.last_role in ("tool", "function"):
        add("tool_result_last")
    if view.has_tools and len(_tool_words(view.tool_text) & _content_words(head[:1500])) >= 2:
        add("tool_overlap")
    if view.n_user_turns >= 2:
        add("multi_turn")
        if view.n_user_turns >= 4:
            add("long_chat")
        # History is up to 8 KB; its two ends (earliest user turns, latest replies) bound the cost.
        history = view.history if len(view.history) <= 2_000 else view.history[:1_200] + " " + view.history[-800:]
        if len(_content_words(head[:1500]) & _content_words(history)) >= 2:
            add("context_overlap")
        if _BACK_REFERENCE.search(view.task, 0, 600):
            add("back_reference")
    if view.system.strip():
        add("system_prompt")
    if view.response_format == "json_schema":
        add("response_format_schema")
    elif view.response_format == "json_object":
        add("response_format_json")
    if view.has_image:
        add("image")


def compute_signals(view: RequestView, tokens: tuple[list[str], list[str]] | None = None) -> tuple[str, ...]:
    """Return the names of the structural signals that fire for this request, in a fixed order.

    `tokens` is features.window_tokens(view.task), when the caller already has it: the word flags
    are read from those tokens instead of splitting the window again.
    """
    task = view.task
    head = _window(task)
    out: list[str] = []
    add = out.append
    _conversation_signals(view, head, add)
    if not task.strip():
        add("empty_task")
        return tuple(out)

    head_tokens, tail_tokens = tokens or window_tokens(task)
    found, words, edges, fences, numbers, code_lines, file_lines, speaker_lines = _SCANNER.scan(
        task, head, head_tokens, tail_tokens)
    # Whole-text checks: structure that can sit anywhere (a fence past the window completes a pair).
    if fences < 2 and len(task) > len(head) and task.find("```", len(head)) >= 0:
        fences = 2
    if found & _N_DIFF_GIT or (found & _N_HUNK and _confirm(task, "@@ -", _HUNK, span=60)):
        add("unified_diff")
    if found & _N_TRACEBACK or any(found & bit and _confirm(head, needle, pattern)
                                   for needle, pattern, bit in _N_STACK):
        add("stack_trace")
    if found & _N_CREATE_TABLE:
        add("create_table")

    # Everything else looks at the bounded head/tail window only.
    if found & _N_REACT or _system_react(view.system):
        add("react_agent")
    if len(task) > 4_000:
        add("long_task")
    elif len(task) < 200:
        add("short_task")
    if task[-200:].rstrip().endswith("?"):
        add("question")
    if (found & _N_ERROR and _confirm(head, "Error", _ERROR_LINE, span=60)) or (
        found & _N_EXCEPTION and _confirm(head, "Exception", _ERROR_LINE, span=60)
    ):
        add("error_line")
    if found & _N_SELECT and _confirm(head, "SELECT", _SQL_QUERY, span=320):
        add("sql_query")
    if found & _N_ALTER:
        add("alter_table")
    if words & _W_MIGRATION or found & _N_MIGRATION:
        add("migration_tool")
    if fences >= 2:
        add("code_fence")
    if fences >= 4:
        add("many_fences")
    if len(file_lines) >= 2 and len({m.group(1) for m in map(_FILENAME_LINE.match, file_lines) if m}) >= 2:
        add("multi_file")
    if code_lines >= 2:
        add("code_lines")
    if words & _W_TEST or found & _N_TEST:
        add("test_code")
    if found & _N_SCHEMA:
        add("json_schema_text")

    ascii_head = head.isascii()
    edges_low = None if ascii_head else _edges(head.lower())  # scripts and diacritics: non-ASCII text only
    if edges & _W_TRANSLATE or (edges_low is not None and not edges_low.isascii()
                                and _any(edges_low, _TRANSLATE_SCRIPTS)):
        add("translate_request")
    target = None
    if edges & _W_LANGUAGE:
        target = _TARGET_LANGUAGE.search(edges_low if edges_low is not None else _edges(head.lower()))
    if target:
        add("target_language")
        if target.group(0).endswith("english") and ascii_head:
            # "into English" over text that is already English is a register change, not translation.
            add("english_to_english")
    # A ".py" mention leaves the word "py" behind: two kinds of extension mean two mentions, and
    # only a single kind needs counting.
    extensions = words & _W_EXTENSION
    if extensions and (extensions.bit_count() >= 2 or head.lower().count("." + _W_EXTENSIONS[extensions]) >= 2):
        add("file_mentions")
    if not ascii_head:
        if len(_NON_LATIN.findall(head, 0, 1_500)) >= 8:
            add("non_latin_script")
        if len(_DIACRITIC.findall(head, 0, 1_500)) >= 6:
            add("latin_diacritics")
    if len(speaker_lines) >= 4 and sum(1 for line in speaker_lines if _TRANSCRIPT_LINE.match(line)) >= 4:
        add("transcript")
    if (found & _N_EMAIL).bit_count() >= 2:
        add("email_headers")
    if found & _N_INJECTION:
        add("injection_phrase")
    if edges & _W_FORMAT or found & _N_MARKDOWN_TABLE:
        add("format_request")
    if numbers == NUMBERS_COUNTED:  # counted for tasks under textscan.NUMBER_TASK_CHARS only
        add("numeric_problem")
    return tuple(out)
