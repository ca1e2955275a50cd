"""Hand-written code snippets in several languages, the raw material for code prompts.

Python, JavaScript and TypeScript are here; the other languages are in snippets_other_languages.py."""
# ruff: noqa: E501  (template and prose tables: long natural-language strings read better unbroken)

from __future__ import annotations

from dataclasses import dataclass

from gateway.classify.corpus.snippets_other_languages import OTHER_LANGUAGE_ROWS


@dataclass(frozen=True, slots=True)
class Snippet:
    """A small, self-contained piece of code with its language, file name and main symbol."""

    lang: str
    path: str
    symbol: str
    code: str


_SCRIPTING: tuple[Snippet, ...] = (
    Snippet(
        "python",
        "app/billing/invoice.py",
        "compute_total",
        """def compute_total(items, tax_rate=0.2, discount=None):
    subtotal = sum(item.price * item.quantity for item in items)
    if discount:
        subtotal -= discount.amount if discount.kind == "fixed" else subtotal * discount.percent / 100
    return round(subtotal * (1 + tax_rate), 2)
""",
    ),
    Snippet(
        "python",
        "utils/text.py",
        "slugify",
        """import re
import unicodedata


def slugify(value, max_length=50):
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    value = re.sub(r"[^\\w\\s-]", "", value).strip().lower()
    slug = re.sub(r"[-\\s]+", "-", value)
    return slug[:max_length].rstrip("-")
""",
    ),
    Snippet(
        "python",
        "services/cache.py",
        "LRUCache",
        """from collections import OrderedDict


class LRUCache:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self._data = OrderedDict()

    def get(self, key):
        if key not in self._data:
            return None
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key, value):
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)
""",
    ),
    Snippet(
        "python",
        "etl/loader.py",
        "load_rows",
        """import csv


def load_rows(path, required=("id", "email")):
    rows = []
    with open(path, newline="") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            missing = [c for c in required if not row.get(c)]
            if missing:
                raise ValueError(f"line {line_no}: missing {', '.join(missing)}")
            row["email"] = row["email"].strip().lower()
            rows.append(row)
    return rows
""",
    ),
    Snippet(
        "python",
        "api/auth.py",
        "verify_token",
        """import hmac
import time


def verify_token(token: str, secret: bytes, max_age: int = 3600) -> dict:
    payload, _, signature = token.rpartition(".")
    expected = hmac.new(secret, payload.encode(), "sha256").hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise PermissionError("bad signature")
    user_id, issued = payload.split(":")
    if time.time() - int(issued) > max_age:
        raise PermissionError("token expired")
    return {"user_id": int(user_id), "issued": int(issued)}
""",
    ),
    Snippet(
        "python",
        "scheduler/retry.py",
        "retry",
        """import asyncio
import random


async def retry(fn, attempts=5, base_delay=0.2):
    for attempt in range(attempts):
        try:
            return await fn()
        except (ConnectionError, TimeoutError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(base_delay * 2 ** attempt + random.random() / 10)
""",
    ),
    Snippet(
        "python",
        "graph/paths.py",
        "shortest_path",
        """import heapq


def shortest_path(graph, start, goal):
    queue = [(0, start, [start])]
    seen = set()
    while queue:
        cost, node, path = heapq.heappop(queue)
        if node == goal:
            return cost, path
        if node in seen:
            continue
        seen.add(node)
        for neighbour, weight in graph.get(node, {}).items():
            heapq.heappush(queue, (cost + weight, neighbour, path + [neighbour]))
    return None
""",
    ),
    Snippet(
        "javascript",
        "src/utils/debounce.js",
        "debounce",
        """export function debounce(fn, wait = 250) {
  let timer = null;
  return function debounced(...args) {
    clearTimeout(timer);
    timer = setTimeout(() => fn.apply(this, args), wait);
  };
}
""",
    ),
    Snippet(
        "javascript",
        "src/api/users.js",
        "fetchUsers",
        """async function fetchUsers(page = 1, pageSize = 20) {
  const res = await fetch(`/api/users?page=${page}&size=${pageSize}`);
  if (!res.ok) {
    throw new Error(`Request failed: ${res.status}`);
  }
  const body = await res.json();
  return body.items.map((u) => ({ id: u.id, name: `${u.first} ${u.last}`, active: !u.disabled }));
}

module.exports = { fetchUsers };
""",
    ),
    Snippet(
        "typescript",
        "src/cart/cart.ts",
        "Cart",
        """export interface LineItem { sku: string; qty: number; unitPrice: number }

export class Cart {
  private items = new Map<string, LineItem>();

  add(item: LineItem): void {
    const existing = this.items.get(item.sku);
    if (existing) existing.qty += item.qty;
    else this.items.set(item.sku, { ...item });
  }

  total(): number {
    let sum = 0;
    for (const it of this.items.values()) sum += it.qty * it.unitPrice;
    return Math.round(sum * 100) / 100;
  }
}
""",
    ),
    Snippet(
        "typescript",
        "src/hooks/useToggle.ts",
        "useToggle",
        """import { useCallback, useState } from "react";

export function useToggle(initial = false): [boolean, () => void] {
  const [on, setOn] = useState(initial);
  const toggle = useCallback(() => setOn((v) => !v), []);
  return [on, toggle];
}
""",
    ),
)

SNIPPETS: tuple[Snippet, ...] = (*_SCRIPTING, *(Snippet(*row) for row in OTHER_LANGUAGE_ROWS))
