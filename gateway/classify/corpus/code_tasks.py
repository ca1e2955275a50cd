"""Synthetic prompts for P1-P4 (work on existing code), from templates with varied wording and payloads; P5-P9 are in code_tasks_p5_p9."""
# ruff: noqa: E501  (template and prose tables: long natural-language strings read better unbroken)

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from gateway.classify.corpus.common import REPOS, Material, cls_name, combine, ident, module_path, pick, user
from gateway.classify.corpus.payloads import fenced, make_diff, make_trace

Gen = Callable[[random.Random, Material], dict[str, Any]]


def _code(rng: random.Random, mat: Material) -> tuple[str, str, str]:
    """(fenced code, language, symbol) from a snippet or a harvested function stub."""
    if mat.stubs and rng.random() < 0.3:
        stub = rng.choice(mat.stubs)
        name = stub.split("def ", 1)[1].split("(", 1)[0] if "def " in stub else "the function"
        return fenced(stub, "python", rng), "python", name
    snip = rng.choice(mat.snippets)
    return fenced(snip.code, snip.lang, rng, snip.path), snip.lang, snip.symbol


def _diff(rng: random.Random, mat: Material) -> str:
    if mat.diffs and rng.random() < 0.5:
        body = rng.choice(mat.diffs)
    else:
        body = make_diff(rng.choice(mat.snippets), rng)
    return f"```diff\n{body.rstrip()}\n```" if rng.random() < 0.8 else body


_P1_TASKS = (
    "Move `{fn}` from `{a}` into a new module `{b}` and update every import that references it.",
    "Rename the class `{cls}` to `{cls2}` throughout the codebase, including the tests and the docs.",
    "Extract the duplicated {noun} handling in `{a}` and `{c}` into a shared helper in `{b}`, then update both call sites.",
    "Split `{a}` into a package with separate modules for models, views and serializers while keeping the public API unchanged.",
    "Replace every use of the deprecated helper `{fn}` with `{fn2}` across the repository and delete the old one.",
    "Convert the callback-based functions in `{a}` and `{c}` to async/await and update all of their callers.",
    "Introduce a `{cls}` base class, make `{cls2}` and `{cls3}` inherit from it, and update the factories that construct them.",
    "Consolidate the three configuration loaders scattered across the project into a single `Settings` object and remove the old functions.",
    "Change the signature of `{fn}` so it takes a `{cls}` object instead of six positional arguments, and fix every caller.",
    "Pull the database access out of the request handlers in `{a}` and `{c}` into a repository layer in `{b}`.",
    "Create a new file `{b}` and move the functions `{fn}` and `{fn2}` there from `{a}`; update references everywhere, including tests.",
    "Combine the standalone functions `{fn}`, `{fn2}` and `{fn3}` in `{a}` into methods of a new class `{cls}`, and update all usages in other files.",
    "Restructure the `{noun}` feature so the business logic lives in `{b}` and the HTTP layer in `{a}` only calls into it; touch whatever files you need.",
    "Inline the wrapper `{fn}` at all its call sites and remove it from `{a}`.",
    "Rename the module `{a}` to `{b}` and fix all imports, entry points and mocks that reference the old path.",
    "Make `{cls}` a dataclass, drop its hand-written __init__ and __eq__, and adjust the code in other modules that relied on them.",
    "Rename the file `{a}` to `{b}` and update all references and imports across the entire repository.",
    "Modify the function `{fn}` in `{a}` to take an additional boolean parameter `strict` defaulting to False, and update every call site that should pass it.",
    "Move all the relevant content and dependencies from `{a}` into `{b}`, update the imports everywhere, then delete `{a}`.",
    "Add None handling to `{fn}` following the existing pattern in `{cls}`, and update the callers in the other modules accordingly.",
    "Replace the magic strings used for {noun} states across the code base with a new `{cls}` enum and update every usage.",
    "Please relocate the `{fn}` function from the `{a}` file to a new file named `{b}` and ensure all references to this function within the repository are properly updated. The function relies on helpers like `{fn2}`, so import them in the new module.",
    "Extract the `{fn}` function from its current location within the `{cls}` class and place it into a separate file named `{b}`. Ensure that the function accepts the parameters it used from `self`, and update every reference to reflect the new location.",
    "Please transfer all contents from the file named `{a}` to the file `{b}` located within the same directory. Following this transfer, update all relevant imports throughout the project and delete the original file.",
    "Create a new class named `{cls}` in `{b}` to encapsulate all parameters passed to `{fn}`. Then modify the calls to `{fn}` in `{a}` and `{c}` to build and pass a `{cls}` instance instead, and add the needed imports in those files.",
    "Introduce dependency injection for `{cls}`: accept the client in the constructor instead of creating it, and update all places that instantiate it.",
    "Break `{a}` up into focused modules and fix the imports that point at it.",
    "Convert every module next to `{a}` from CommonJS require calls to ES module imports, and update the files that import them.",
    "Thread a request id through every layer: the handlers in `{a}`, the services in `{b}` and the database helpers in `{c}`.",
    "Make `{cls}` and `{cls2}` implement a common protocol and switch their callers over to it.",
    "Remove the global `db` singleton and pass a connection explicitly through `{a}`, `{b}` and all their callers.",
    "Upgrade every call site of our internal `{fn}` API to the new keyword-only signature across the monorepo.",
    "Swap the ORM calls in the repository classes for plain SQL behind the same interfaces, file by file.",
    "Turn the {noun} functions scattered over `{a}` and `{c}` into one class in `{b}` and adjust the importers.",
    "Apply the new error-handling convention to all modules: raise our AppError subclasses instead of bare exceptions, in `{a}`, `{b}` and beyond.",
)
_P1_PREFIX = (
    "Repository: {repo}\n\n",
    "In our {repo} fork: ",
    "We're working in {repo}. ",
    "",
    "",
    "Codebase: {repo}.\n",
    "Refactoring task for {repo}:\n",
    "Hey, in {repo} ",
)
_P1_SUFFIX = (
    "",
    " Please make all the edits needed across the repo.",
    " Behaviour must stay exactly the same.",
    " Make sure the existing tests still pass.",
    " Show the changes file by file.",
    " This touches several files, so go carefully.",
)


def p1(rng: random.Random, mat: Material) -> dict[str, Any]:
    a, b, c = module_path(rng), module_path(rng), module_path(rng)
    slots = dict(
        fn=ident(rng),
        fn2=ident(rng),
        fn3=ident(rng),
        cls=cls_name(rng),
        cls2=cls_name(rng),
        cls3=cls_name(rng),
        a=a,
        b=b,
        c=c,
        noun=rng.choice(["retry", "pagination", "auth", "logging", "caching"]),
        repo=rng.choice(REPOS),
    )
    text = pick(rng, _P1_PREFIX, **slots) + pick(rng, _P1_TASKS, **slots) + pick(rng, _P1_SUFFIX, **slots)
    if rng.random() < 0.35:
        files = rng.sample(mat.snippets, rng.randint(2, 3))
        text += "\n\nHere are the files involved:\n\n" + "\n\n".join(
            f"```{s.lang} {s.path}\n{s.code.rstrip()}\n```" for s in files
        )
    return user(text)


_P2_INTRO = (
    "I'm getting this error when I run `{cmd}`:",
    "Our {svc} crashes in production with the following:",
    "After upgrading {lib} this started happening:",
    "Can someone help? The job fails with this stack trace:",
    "I'm working in the {repo} repository and hit this problem:",
    "This test keeps failing on CI:",
    "Users report a 500 error. The logs show:",
    "My script dies with this:",
    "My {svc} won't start anymore:",
    "Deploy failed, the container exits immediately:",
    "Broke right after the last deploy:",
    "Only a handful of customers hit this:",
    "The {svc} falls over every few hours:",
    "The {svc} threw an uncaught exception:",
    "Updating a row raises this since Tuesday:",
    "tried your suggestion, now it fails like this:",
    "Error from the {svc} logs:",
    "Crash report from the {svc}:",
    "",
)
_P2_ASK = (
    "What's causing this and how do I fix it?",
    "Can you find the bug and suggest a fix?",
    "Why does this happen?",
    "Help me debug this.",
    "Where is the problem in my code?",
    "Find the root cause, please.",
    "What does this traceback mean and what should I change?",
    "Explain the failure and propose a patch.",
    "any idea why it fails?",
    "What's going wrong here?",
    "how do I get past this?",
    "Why is it blowing up?",
    "What's the underlying cause?",
    "Which line is at fault, and what's the fix?",
    "Talk me through the error and how to solve it.",
    "Is this my code or the library?",
    "it only fails sometimes, thoughts?",
    "What should I change to fix it?",
    "Please diagnose this.",
)


def p2(rng: random.Random, mat: Material) -> dict[str, Any]:
    snip = rng.choice(mat.snippets)
    slots = dict(
        cmd=rng.choice(
            ["python manage.py migrate", "npm test", "go run ./cmd/server", "./gradlew bootRun", "pytest -x"]
        ),
        svc=rng.choice(["order service", "worker", "API", "nightly ETL", "Android app"]),
        lib=rng.choice(["SQLAlchemy to 2.0", "React to 18", "Spring Boot", "pandas", "Node 20"]),
        repo=rng.choice(REPOS),
    )
    parts = [
        pick(rng, _P2_INTRO, **slots),
        f"```\n{make_trace(snip, rng)}\n```" if rng.random() < 0.6 else make_trace(snip, rng),
    ]
    if rng.random() < 0.6:
        parts.append("Relevant code:\n" + fenced(snip.code, snip.lang, rng, snip.path))
    parts.append(pick(rng, _P2_ASK))
    return user("\n\n".join(parts))


_P3_ASK = (
    "Review this pull request.",
    "Can you do a code review of this diff? Leave the comments a reviewer would leave.",
    "Please review my code and point out bugs, style issues and anything risky.",
    "What would you flag in review here?",
    "Act as a senior engineer and review the following change.",
    "Is this change safe to merge? Give review feedback.",
    "Give me line-by-line review comments on this patch.",
    "Code review please — be picky about naming and error handling.",
    "Review the following {lang} code for correctness, performance and readability.",
    "Any concerns before I approve this PR?",
    "Critique this implementation like a strict reviewer would.",
    "Do a security review of this code.",
    "Please look over this pull request; my main concern is {concern}.",
    "What would you improve before it ships? Nitpicks welcome.",
    "Mind taking a look at this? I want to know if the {concern} holds up.",
    "Tear this apart, focusing on {concern}.",
    "Would this pass your review? What would you object to?",
    "Does this look sound to you, or would a reviewer object to parts of it?",
    "Would you approve this change? Why or why not?",
    "Check this for security holes.",
    "Review my changes please, I'm new to {lang}.",
    "What are the weaknesses of this code?",
    "Please review the following and suggest improvements.",
)


def p3(rng: random.Random, mat: Material) -> dict[str, Any]:
    # Mostly diffs, as review requests mostly are, so a diff alone does not mean P9.
    if rng.random() < 0.65:
        payload, lang = _diff(rng, mat), "patch"
    else:
        payload, lang, _ = _code(rng, mat)
    concern = rng.choice(
        [
            "race conditions",
            "error handling",
            "caching behaviour",
            "performance",
            "naming",
            "security",
            "edge cases",
            "resource leaks",
        ]
    )
    return user(combine(rng, pick(rng, _P3_ASK, lang=lang, concern=concern), payload))


_P4_ASK = (
    "Write unit tests for `{sym}`.",
    "Generate pytest tests for this function, covering normal and edge cases.",
    "Write JUnit 5 tests for the class below.",
    "Add Jest tests for this module.",
    "Write table-driven Go tests for {sym}.",
    "What test cases should {sym} have? Write them as code.",
    "Increase the test coverage of this code; aim for every branch.",
    "Write property-based tests with Hypothesis for {sym}.",
    "Create a test suite for the following {lang} code.",
    "Give me RSpec specs for this model.",
    "Write tests that would catch regressions in `{sym}`, including invalid input.",
    "Please write unittest TestCase classes for this.",
    "I need integration tests for this endpoint with mocked dependencies.",
    "Write failing tests first (TDD) for the behaviour described by this code.",
    "Unit tests please, especially for bad and missing input.",
    "Spec out `{sym}` with tests for the corner cases.",
    "I need tests for this. Please use {framework}.",
    "Which scenarios do my tests not cover yet? Write those.",
    "Cover this user journey with e2e tests.",
    "Generate test cases for `{sym}`, including boundary values.",
    "Please add tests covering the error paths in this code.",
    "Write a {framework} test file for the code below.",
    "Create unit tests with mocks for the external calls in this code.",
)


_P4_DESCRIBED = (
    "Write tests for `format_bytes(n)`, which renders 1536 as '1.5 KiB' and 0 as '0 B'.",
    "Create tests for the password-reset flow: a valid token sets the new password, an expired token is rejected, and a used token cannot be reused.",
    "Write property-based tests for a function that removes duplicates from a list while keeping order.",
    "Write tests for a shopping-cart total that applies a 10% discount over $100 and never goes negative.",
    "Generate unit tests for an `is_leap_year(year)` function.",
)


def p4(rng: random.Random, mat: Material) -> dict[str, Any]:
    payload, lang, sym = _code(rng, mat)
    if rng.random() < 0.2:
        payload = f"Problem: {rng.choice(_P6_SPECS).format(n=rng.randint(2, 9))}\n\nSolution under test:\n{payload}"
    framework = rng.choice(
        ["pytest", "unittest", "Jest", "Vitest", "JUnit 5", "RSpec", "Go's testing package", "xUnit", "Mocha"]
    )
    if rng.random() < 0.15:
        # Described behaviour instead of code.
        return user(f"{rng.choice(_P4_DESCRIBED)} Use {framework}.")
    return user(combine(rng, pick(rng, _P4_ASK, sym=sym, lang=lang, framework=framework), payload))


# Shared with P6 (algorithm from spec), whose prompts state these problems; P4 tests a solution to one.
_P6_SPECS = (
    "Given an array of integers, return the length of the longest strictly increasing subsequence.",
    "Implement a function that checks whether a string of brackets is balanced.",
    "Write a function that returns the k most frequent words in a list, ties broken alphabetically (k = {n}).",
    "Given a grid of 0s and 1s, count the number of islands.",
    "Implement an LRU cache with O(1) get and put.",
    "Write a function that merges overlapping intervals.",
    "Find the minimum number of coins needed to make a given amount.",
    "Return all permutations of a list of distinct integers.",
    "Implement binary search on a rotated sorted array.",
    "Write a function to compute the edit distance between two strings.",
    "Detect a cycle in a directed graph.",
    "Given a binary tree, return its level-order traversal.",
    "Implement a trie with insert, search and startsWith.",
    "Write a function that returns the nth Fibonacci number modulo 10^9+7 in O(log n).",
    "Given a list of meeting times, return the minimum number of rooms required.",
    "Rotate an n x n matrix by 90 degrees in place.",
    "Write a function that converts a Roman numeral to an integer.",
    "Implement Dijkstra's algorithm for a weighted graph given as an adjacency list.",
    "Given daily stock prices, find the best single buy and sell days.",
    "Implement a fixed-capacity circular buffer with push, pop and peek.",
    "Group a list of words into sets of anagrams.",
    "Serialize and deserialize a binary tree.",
    "Count the ways to climb n stairs taking one or two steps at a time.",
    "Implement a binary min-heap from scratch.",
    "Return the k points closest to the origin.",
    "Evaluate an arithmetic expression string with +, -, *, / and parentheses.",
    "Implement a consistent-hashing ring with virtual nodes.",
    "Remove duplicates from a sorted array in place and return the new length.",
    "Implement a function that checks whether a Sudoku board is valid.",
)


CODE_GENERATORS: dict[str, Gen] = {
    "P1": p1,
    "P2": p2,
    "P3": p3,
    "P4": p4,
}
