"""The Plan document (``phistack.plan/v1``): what a stack would deploy, from three sources.

- :func:`phistack.plan.offline.plan_stack` runs the Pulumi program under the SDK's mock monitor;
- :func:`phistack.plan.pulumi_import.plan_from_preview` reads ``pulumi preview --json``;
- :func:`phistack.plan.pulumi_import.plan_from_state` reads ``pulumi stack export``.
All three return a :class:`~phistack.plan.view.Plan`: the document, validated once and read-only from then on.
"""

from phistack.plan.document import PLAN_SCHEMA_VERSION, dump_plan, load_plan, plan_digest, validate_plan
from phistack.plan.view import Plan, PlannedResource

__all__ = ["PLAN_SCHEMA_VERSION", "Plan", "PlannedResource", "dump_plan", "load_plan", "plan_digest", "validate_plan"]
