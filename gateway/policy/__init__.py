"""Routing policy: YAML schema and loading, decide(), simulation and optimisation."""

from gateway.policy.decide import Classified, RequestFacts, decide
from gateway.policy.load import PolicyError, load_policy
from gateway.policy.model import CATEGORIES, Constraints, KeyConstraints, Policy

__all__ = ["CATEGORIES", "Classified", "Constraints", "KeyConstraints", "Policy", "PolicyError", "RequestFacts",
           "decide", "load_policy"]
