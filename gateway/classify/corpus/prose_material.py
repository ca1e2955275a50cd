"""What the prose generators share: the generator type and the pool of texts every prose category works on."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from gateway.classify.corpus.common import Material
from gateway.classify.corpus.documents import DOCUMENTS
from gateway.classify.corpus.texts import DIALOGUES

Gen = Callable[[random.Random, Material], dict[str, Any]]


def document(rng: random.Random, mat: Material) -> str:
    """Material to work on, from one pool shared by every prose category: its words carry no label."""
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(DOCUMENTS)
    if roll < 0.6:
        return rng.choice(DIALOGUES)
    return "\n\n".join(rng.sample(mat.passages, rng.randint(1, 2)))
