"""Synthetic prompts for the code categories P1-P9, from templates with varied wording and payloads."""
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


_P5_SCHEMAS = (
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, country TEXT, created_at DATE);\n"
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), total NUMERIC, placed_at TIMESTAMP);",
    "CREATE TABLE employees (\n  emp_id INT PRIMARY KEY,\n  name VARCHAR(100),\n  dept_id INT,\n  salary DECIMAL(10,2),\n  manager_id INT\n);\n"
    "CREATE TABLE departments (\n  dept_id INT PRIMARY KEY,\n  dept_name VARCHAR(50)\n);",
    "CREATE TABLE products (sku TEXT PRIMARY KEY, title TEXT, category TEXT, price_cents INT);\n"
    "CREATE TABLE order_items (order_id INT, sku TEXT, qty INT);",
    "Tables:\n- students(student_id, name, enrolled_year)\n- courses(course_id, title, credits)\n- enrollments(student_id, course_id, grade)",
    "Schema:\naccounts(id, owner, opened_on, tier)\nlogins(account_id, device, logged_in_at)",
    "Given tables tickets(id, requester_id, opened_at, closed_at, priority) and agents(id, name, team):",
    "Table `rentals` with columns bike_id, station_id, started_at (TIMESTAMP), minutes, fare.",
    "CREATE TABLE flights (flight_no TEXT, origin TEXT, destination TEXT, departs_at TIMESTAMP, airline_id INT);\n"
    "CREATE TABLE airlines (airline_id INT PRIMARY KEY, name TEXT, country TEXT);",
)
_P5_QUESTIONS = (
    "the top 5 customers by total spend in 2023",
    "the number of orders per month for the last year",
    "employees who earn more than their manager",
    "products that have never been ordered",
    "the average salary in each department, highest first",
    "students enrolled in more than three courses",
    "for each airline, how many flights leave from Boston",
    "the second highest salary",
    "customers with no orders in the last 90 days",
    "the running total of revenue by day",
)
_P5_ASK = (
    "Write a SQL query to get {q}.",
    "How do I get {q} in Postgres?",
    "Give me the query that returns {q}.",
    "Using the schema above, write SQL for: {q}.",
    "SQL question: I need {q}. What's the query?",
    "Write a MySQL query listing {q}.",
    "Can you write the SELECT statement for {q}?",
    "Which query gives me {q}?",
    "SQL needed: {q}.",
    "BigQuery dialect, please: {q}.",
    "What's the Snowflake query for {q}?",
    "I need a query listing {q}.",
    "Using these tables, how many rows match {q}? Give me the SQL.",
    "Find {q} with a SQL query.",
)


def p5(rng: random.Random, mat: Material) -> dict[str, Any]:
    ask = pick(rng, _P5_ASK, q=rng.choice(_P5_QUESTIONS))
    schema = rng.choice(_P5_SCHEMAS)
    if rng.random() < 0.15:
        return user(ask)
    return user(combine(rng, ask, f"```sql\n{schema}\n```" if rng.random() < 0.4 else schema))


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
_P6_ASK = (
    "{spec}",
    "Write a Python function for this: {spec}",
    "Implement this in {lang}: {spec}",
    "{spec} Aim for optimal time complexity.",
    "Algorithm question: {spec} Explain the complexity too.",
    "{spec}\n\nExample: input [3, 1, 2] -> output {n}",
    "Solve: {spec} Constraints: 1 <= n <= 10^5.",
    "Can you code a solution? {spec}",
    "Write a {lang} function: {spec}",
    "{spec} Efficient solution in {lang}, please.",
    "Coding question: {spec}",
    "{spec} Readable code first, then the big-O.",
    "Input/output task. {spec} Read from stdin, write to stdout.",
)


_P6_STUB_ASK = (
    "Complete this function:",
    "Implement the function below.",
    "Fill in the body so the doctests pass:",
    "Finish this implementation:",
)


def p6(rng: random.Random, mat: Material) -> dict[str, Any]:
    if mat.stubs and rng.random() < 0.2:
        return user(combine(rng, rng.choice(_P6_STUB_ASK), fenced(rng.choice(mat.stubs), "python", rng)))
    spec = rng.choice(_P6_SPECS).format(n=rng.randint(2, 9))
    return user(
        pick(
            rng,
            _P6_ASK,
            spec=spec,
            lang=rng.choice(["Python", "Java", "C++", "Go", "TypeScript", "Rust"]),
            n=str(rng.randint(1, 9)),
        )
    )


_P7_TASKS = (
    "Write an Alembic migration that adds a nullable `{col}` column to the `{table}` table and backfills it from `{table}_legacy`.",
    "Create a Django migration that renames the field `{col}` on `{model}` to `{col2}` without losing data.",
    "Write a Flyway SQL migration (V{n}__{col}.sql) that splits `{table}.full_name` into first and last name columns.",
    "I need a Rails migration to add an index on `{table}.{col}` and make it NOT NULL with a default.",
    "Write a Knex migration with up and down functions that creates the `{table}` table with a foreign key to users.",
    "Generate a Liquibase changeset that changes `{col}` from VARCHAR(50) to TEXT on `{table}`.",
    "Write a zero-downtime migration plan and the SQL scripts for moving `{table}` from integer ids to UUIDs.",
    "Migrate this code from Python 2 to Python 3.",
    "Upgrade this component from React class components to hooks (React 18).",
    "Port this Spring Boot 2 configuration to Spring Boot 3 (jakarta namespace, new security DSL).",
    "Convert this AngularJS controller to an Angular 17 component.",
    "Migrate this Vue 2 Options API component to Vue 3 Composition API.",
    "Update this code from Java 8 to Java 21 idioms: records, switch expressions, var.",
    "Migrate our setup.py packaging to pyproject.toml with hatchling.",
    "Rewrite this jQuery code for vanilla JavaScript, we're dropping jQuery.",
    "Upgrade this SQLAlchemy 1.3 code to the 2.0 style API.",
    "Write a data migration script that copies `{table}` from MongoDB into the new Postgres schema.",
    "Write the up and down migrations to drop the deprecated `{col}` column from `{table}` safely.",
    "We are moving from Express 4 to Fastify; migrate these route handlers.",
    "Migrate this TensorFlow 1.x code to TensorFlow 2 / Keras.",
    "Write a Prisma migration that adds a many-to-many relation between {table} and tags.",
    "Create a database migration that partitions the `{table}` table by month.",
    "Help me migrate from Create React App to Vite; what files change and how?",
    "Port this Python 3.8 code to 3.12 and remove the deprecated APIs.",
    "Write a Liquibase changeset that adds a unique constraint on `{table}.{col}` after removing duplicate rows.",
    "Create a Prisma migration that splits `{table}` into two tables joined one-to-one.",
    "Write an Alembic migration that creates an enum type for `{col}` and converts the existing strings to it.",
    "Write a Laravel migration that adds a JSON column `{col}` to `{table}`.",
    "Write an EF Core migration that renames the `{table}` table and its foreign keys.",
    "Migrate this class from Java EE javax.* packages to Jakarta EE.",
    "Upgrade this webpack 4 config to webpack 5.",
    "Port this AngularJS directive to a React component.",
    "Convert this Mongoose schema to a Postgres table and write the script that copies the documents across.",
    "Upgrade this Angular module to standalone components.",
    "Write a Goose migration that backfills `{table}.{col}` in batches of 10,000 rows.",
    "Write the SQL migration to add a foreign key from `{table}` to users, cleaning up orphaned rows first.",
    "Move this Celery 4 task code to Celery 5 and fix the deprecated settings.",
    "Write a Sequelize migration that creates the `{table}` table with timestamps and an index on `{col}`.",
    "Migrate this Express 4 middleware to Express 5.",
)


def p7(rng: random.Random, mat: Material) -> dict[str, Any]:
    slots = dict(
        col=rng.choice(["last_login", "status", "tenant_id", "email_verified", "archived_at", "currency"]),
        col2=rng.choice(["state", "org_id", "verified", "deleted_at"]),
        table=rng.choice(["users", "orders", "invoices", "events", "accounts"]),
        model=cls_name(rng),
        n=str(rng.randint(2, 40)),
    )
    task = pick(rng, _P7_TASKS, **slots)
    payload = ""
    roll = rng.random()
    if any(
        w in task
        for w in ("code", "component", "controller", "handlers", "configuration", "script", "module", "middleware")
    ):
        payload = _code(rng, mat)[0]
    elif "schema" in task or "model change" in task or roll < 0.4:
        payload = "Current schema:\n" + rng.choice(_P5_SCHEMAS)
    return user(combine(rng, task, payload))


_P8_ASK = (
    "Write a docstring for this function.",
    "Add documentation to this code: what it does, its parameters and return value.",
    "Generate JSDoc comments for the functions below.",
    "Write Javadoc for this class and its public methods.",
    "Document this module for our internal wiki.",
    "Write a README section explaining how to use `{sym}`, with an example.",
    "Add clear comments explaining the non-obvious parts of this code.",
    "Generate API documentation (a docstring) for this code.",
    "Write reference docs for {sym}: summary, arguments, returns, raises.",
    "Please write user-facing documentation for this {lang} API.",
    "Add Google-style docstrings to everything here.",
    "Write a short technical explanation of this function for the docs site.",
    "Docstring every public function in this file.",
    "Annotate this with reST-style doc comments.",
    "Produce a man-page style description of this command.",
    "I need inline comments for the tricky bits here.",
    "Document the parameters and return types of these methods.",
    "Write a module-level docstring and per-function docs for this.",
    "Generate TSDoc for the exported types below.",
    "Write the 'Getting started' section of the docs based on this code.",
    "Document the public API of this module.",
    "Write KDoc for this class.",
    "Describe this function's contract (inputs, outputs, errors) as documentation.",
)


def p8(rng: random.Random, mat: Material) -> dict[str, Any]:
    payload, lang, sym = _code(rng, mat)
    return user(combine(rng, pick(rng, _P8_ASK, sym=sym, lang=lang), payload))


_P9_ASK = (
    "Write a commit message for this diff.",
    "Explain what this patch changes and why someone would make it.",
    "Summarize the changes in this diff.",
    "What does this PR do? Describe it for the release notes.",
    "Walk me through this change hunk by hunk.",
    "Write a pull request description for the following diff.",
    "Which behaviour changes with this patch?",
    "I don't understand this diff — what is it doing?",
    "Give me a one-line changelog entry for this change.",
    "What functions does this diff modify, and how?",
    "Explain this git diff to a non-technical product manager.",
    "Describe the intent of this change.",
    "Give me a conventional-commits style message for this change.",
    "Turn this diff into a release-note bullet.",
    "Explain the effect of this change.",
    "In simple words, what happens in this patch?",
    "Describe this change for a non-engineering audience.",
    "Is this patch user-visible, or internal only?",
    "Summarize the changes in this commit.",
    "Write a changelog entry for this.",
    "what changed here?",
)


def p9(rng: random.Random, mat: Material) -> dict[str, Any]:
    return user(combine(rng, pick(rng, _P9_ASK), _diff(rng, mat)))


CODE_GENERATORS: dict[str, Gen] = {
    "P1": p1,
    "P2": p2,
    "P3": p3,
    "P4": p4,
    "P5": p5,
    "P6": p6,
    "P7": p7,
    "P8": p8,
    "P9": p9,
}
