"""One Rego engine interface, several engines behind it.

    policies = load_policy_set(Path("policies"))
    evaluator = make_evaluator("regorus", policies)
    value = evaluator.query("data.phistack.main.result", input_document)

Every engine must give the same answer for the same modules, data and input; the test suite proves
it for both embedded engines. Errors surface as :class:`phistack.errors.PolicyError` (exit 3) whose
message names ``file:line`` where the engine reports one.
"""

from phistack.engine.base import ENGINES, UNDEFINED, Evaluator, Undefined, make_evaluator
from phistack.engine.policyset import PolicyModule, PolicySet, load_policy_set

__all__ = [
    "ENGINES",
    "UNDEFINED",
    "Evaluator",
    "PolicyModule",
    "PolicySet",
    "Undefined",
    "load_policy_set",
    "make_evaluator",
]
