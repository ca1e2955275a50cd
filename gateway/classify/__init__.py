"""Request classification: which SMQTS category a chat-completions request belongs to."""

from gateway.classify.classifier import classify
from gateway.classify.types import CATEGORIES, Classification

__all__ = ["CATEGORIES", "Classification", "classify"]
