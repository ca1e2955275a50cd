"""Hand-written code snippets in Java, Go, Rust, C#, Ruby, PHP, C++, Kotlin and shell, as
(language, file name, main symbol, code) rows; snippets.py makes them Snippets after its own."""
# ruff: noqa: E501  (template and prose tables: long natural-language strings read better unbroken)

from __future__ import annotations

OTHER_LANGUAGE_ROWS: tuple[tuple[str, str, str, str], ...] = (
    (
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
    (
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
    (
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
    (
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
    (
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
    (
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
    (
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
    (
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
    (
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
    (
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
    (
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
