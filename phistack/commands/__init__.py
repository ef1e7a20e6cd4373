"""CLI commands. Each module here defines ``register(subparsers)``; :mod:`phistack.cli` imports only the one a
command line names, and lists the others by the summaries below (``phistack --help`` imports none of them).

A command's handler takes the parsed ``argparse.Namespace`` and returns an exit code; user errors
are raised as :class:`phistack.errors.PhistackError`. Each module registers its command with the summary below,
so the placeholder and the real command say the same.
"""

SUMMARIES = {
    "attest": "debug GPU attestation: verify a report offline against NVIDIA's device root",
    "audit": "verify, append to and ship tamper-evident audit logs (45 CFR 164.312(b))",
    "check": "gate a stack: evaluate every policy, report findings, exit 0 allowed / 1 denied",
    "cost": "estimate a stack's GPU cost per hour and per month from the price catalogue",
    "data": "encrypt, decrypt and re-wrap PHI objects at rest (AES-256-GCM envelope encryption)",
    "decision": "create signing keys and verify signed decision records",
    "deid": "de-identify DICOM files and structured extracts before they leave the hospital, with a signed manifest",
    "demo": "plan every reference stack offline, gate it and print a verdict per stack",
    "evidence": "write an evidence pack for auditors (HTML + Markdown): HIPAA controls, waivers, cost, provenance",
    "keybroker": "run the key broker that releases data keys only to attested GPU machines",
    "plan": "write the plan document (phistack.plan/v1) of a stack",
    "policy": "test the Rego policy library and generate its control matrix",
    "preview": "run `pulumi preview` on a stack and print the gate's decision on it (needs the Pulumi CLI)",
    "render": "write the Kubernetes manifests a stack would apply, as YAML (for GitOps and other scanners)",
    "up": "gate the real `pulumi preview` of a stack, then deploy it with `pulumi up` only if allowed",
    "waiver": "sign waivers as an approver, and verify them against the policy set's approvers",
}
