"""The data-classification vocabulary: the classes a stack, a component or a job declares for its data, and
which of them bring HIPAA (and GINA) into scope.

Every Python consumer (modules/, stacks/spec.py, runtime/job.py, phistack/) reads it from here. The Rego
rules keep their own copy (``classes`` and ``sensitive`` in policies/hipaa/lib/hipaa.rego);
tests/test_classification_vocabulary.py holds the two equal. Lives in ``runtime`` because the runtime must
not import phistack, while phistack, modules and stacks may import the runtime.
"""

from __future__ import annotations

import enum
from typing import Literal, get_args

ClassificationName = Literal["phi", "deidentified", "genetic", "none"]
"""The vocabulary as a type for pydantic models and component args (a Literal must be spelled out for type
checkers; the enum below is tested against it)."""

CLASSIFICATIONS: tuple[str, ...] = get_args(ClassificationName)


class Classification(enum.StrEnum):
    """How sensitive data is; ``genetic`` is PHI with GINA rules on top."""

    PHI = "phi"
    DEIDENTIFIED = "deidentified"
    GENETIC = "genetic"
    NONE = "none"

    @property
    def sensitive(self) -> bool:
        """PHI or genetic data: in HIPAA scope, and never decrypted without a passing attestation."""
        return self.value in SENSITIVE


SENSITIVE: frozenset[str] = frozenset({Classification.PHI.value, Classification.GENETIC.value})
"""The classes that bring a stack into HIPAA scope."""
