"""Hand-written code snippets in several languages, the raw material for code prompts."""
# ruff: noqa: E501  (template and prose tables: long natural-language strings read better unbroken)

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Snippet:
    """A small, self-contained piece of code with its language, file name and main symbol."""

    lang: str
    path: str
    symbol: str
    code: str


SNIPPETS: tuple[Snippet, ...] = (
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
    Snippet(
        "java",
        "src/main/java/com/acme/orders/OrderService.java",
        "OrderService",
        """package com.acme.orders;

import java.util.List;
import java.util.Optional;

public class OrderService {
    private final OrderRepository repository;

    public OrderService(OrderRepository repository) {
        this.repository = repository;
    }

    public Optional<Order> findLatest(long customerId) {
        List<Order> orders = repository.findByCustomer(customerId);
        return orders.stream().max((a, b) -> a.getCreatedAt().compareTo(b.getCreatedAt()));
    }

    public double totalSpent(long customerId) {
        return repository.findByCustomer(customerId).stream().mapToDouble(Order::getTotal).sum();
    }
}
""",
    ),
    Snippet(
        "java",
        "src/main/java/com/acme/util/RateLimiter.java",
        "RateLimiter",
        """public final class RateLimiter {
    private final int capacity;
    private double tokens;
    private long lastRefill = System.nanoTime();
    private final double refillPerSecond;

    public RateLimiter(int capacity, double refillPerSecond) {
        this.capacity = capacity;
        this.tokens = capacity;
        this.refillPerSecond = refillPerSecond;
    }

    public synchronized boolean tryAcquire() {
        long now = System.nanoTime();
        tokens = Math.min(capacity, tokens + (now - lastRefill) / 1e9 * refillPerSecond);
        lastRefill = now;
        if (tokens < 1) return false;
        tokens -= 1;
        return true;
    }
}
""",
    ),
    Snippet(
        "go",
        "internal/store/store.go",
        "GetUser",
        """package store

import (
	"context"
	"database/sql"
	"errors"
)

var ErrNotFound = errors.New("not found")

func (s *Store) GetUser(ctx context.Context, id int64) (*User, error) {
	row := s.db.QueryRowContext(ctx, "SELECT id, email, created_at FROM users WHERE id = $1", id)
	var u User
	if err := row.Scan(&u.ID, &u.Email, &u.CreatedAt); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return &u, nil
}
""",
    ),
    Snippet(
        "go",
        "pkg/mathx/stats.go",
        "Median",
        """package mathx

import "sort"

func Median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	mid := len(sorted) / 2
	if len(sorted)%2 == 0 {
		return (sorted[mid-1] + sorted[mid]) / 2
	}
	return sorted[mid]
}
""",
    ),
    Snippet(
        "rust",
        "src/parser.rs",
        "parse_kv",
        """use std::collections::HashMap;

pub fn parse_kv(input: &str) -> Result<HashMap<String, String>, String> {
    let mut map = HashMap::new();
    for (n, line) in input.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').ok_or(format!("line {}: expected key=value", n + 1))?;
        map.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(map)
}
""",
    ),
    Snippet(
        "csharp",
        "Services/EmailValidator.cs",
        "EmailValidator",
        """using System.Text.RegularExpressions;

public static class EmailValidator
{
    private static readonly Regex Pattern = new(@"^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", RegexOptions.Compiled);

    public static bool IsValid(string? email)
    {
        if (string.IsNullOrWhiteSpace(email) || email.Length > 254) return false;
        return Pattern.IsMatch(email);
    }
}
""",
    ),
    Snippet(
        "ruby",
        "app/models/subscription.rb",
        "Subscription",
        """class Subscription < ApplicationRecord
  belongs_to :account
  scope :active, -> { where(cancelled_at: nil).where("ends_at > ?", Time.current) }

  def renew!(months = 1)
    update!(ends_at: [ends_at, Time.current].max + months.months)
  end

  def trial?
    plan == "trial" && created_at > 14.days.ago
  end
end
""",
    ),
    Snippet(
        "php",
        "src/Controller/ProductController.php",
        "ProductController",
        """<?php
class ProductController
{
    public function show(int $id): array
    {
        $product = $this->repo->find($id);
        if ($product === null) {
            throw new NotFoundException("Product $id not found");
        }
        return ['id' => $product->id, 'name' => $product->name, 'price' => $product->price / 100];
    }
}
""",
    ),
    Snippet(
        "cpp",
        "src/ring_buffer.hpp",
        "RingBuffer",
        """#include <vector>
#include <stdexcept>

template <typename T>
class RingBuffer {
 public:
  explicit RingBuffer(size_t n) : data_(n), head_(0), size_(0) {}
  void push(const T& v) {
    data_[(head_ + size_) % data_.size()] = v;
    if (size_ < data_.size()) ++size_; else head_ = (head_ + 1) % data_.size();
  }
  T pop() {
    if (size_ == 0) throw std::out_of_range("empty");
    T v = data_[head_];
    head_ = (head_ + 1) % data_.size();
    --size_;
    return v;
  }
 private:
  std::vector<T> data_;
  size_t head_, size_;
};
""",
    ),
    Snippet(
        "kotlin",
        "app/src/main/kotlin/Pagination.kt",
        "paginate",
        """fun <T> paginate(items: List<T>, page: Int, size: Int): List<T> {
    require(page >= 1) { "page starts at 1" }
    val from = (page - 1) * size
    if (from >= items.size) return emptyList()
    return items.subList(from, minOf(from + size, items.size))
}
""",
    ),
    Snippet(
        "bash",
        "scripts/backup.sh",
        "backup",
        """#!/usr/bin/env bash
set -euo pipefail
TARGET=${1:-/var/backups}
STAMP=$(date +%Y%m%d-%H%M)
pg_dump "$DATABASE_URL" | gzip > "$TARGET/db-$STAMP.sql.gz"
find "$TARGET" -name 'db-*.sql.gz' -mtime +14 -delete
""",
    ),
)
