"""The classifier's public value types: the category list and the Classification result."""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES: tuple[str, ...] = (
    "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10",
    "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9", "N10",
)  # fmt: skip

CATEGORY_NAMES: dict[str, str] = {
    "P1": "multi-file refactor",
    "P2": "bug-finding from stack trace",
    "P3": "code review",
    "P4": "test generation",
    "P5": "SQL from natural language",
    "P6": "algorithm from spec",
    "P7": "migration scripts",
    "P8": "documentation",
    "P9": "diff comprehension",
    "P10": "tool-using agent loop",
    "N1": "long-form drafting",
    "N2": "summarization",
    "N3": "multi-step reasoning",
    "N4": "information extraction",
    "N5": "translation",
    "N6": "style transfer",
    "N7": "adversarial resistance",
    "N8": "structured output",
    "N9": "domain QA",
    "N10": "multi-turn coherence",
}

# A request with no usable text at all is most like a generic factual question; the low
# confidence lets the policy fall back to its safe default.
DEFAULT_CATEGORY = "N9"


@dataclass(frozen=True, slots=True)
class Classification:
    """The predicted SMQTS category of one request, with confidence and the structural signals seen."""

    category: str
    confidence: float
    signals: tuple[str, ...]
