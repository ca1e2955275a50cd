"""Synthetic prompts for P5-P9 (SQL, algorithms from a spec, migrations, documentation, diffs); P1-P4 are in code_tasks."""
# ruff: noqa: E501  (template and prose tables: long natural-language strings read better unbroken)

from __future__ import annotations

import random
from typing import Any

from gateway.classify.corpus.code_tasks import _P6_SPECS, Gen, _code, _diff
from gateway.classify.corpus.common import Material, cls_name, combine, pick, user
from gateway.classify.corpus.payloads import fenced

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


SPEC_GENERATORS: dict[str, Gen] = {
    "P5": p5,
    "P6": p6,
    "P7": p7,
    "P8": p8,
    "P9": p9,
}
