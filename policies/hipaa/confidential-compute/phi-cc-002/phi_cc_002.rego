# METADATA
# title: PHI workloads land only on GPU nodes with confidential computing on
# description: Every PHI or genetic pod workload can be scheduled only onto nodes whose NVIDIA GPU operator
#   reports confidential computing on and ready (the node labels in policies/data/confidential_computing.json),
#   through its own nodeSelector or the scheduling.nodeSelector of its RuntimeClass in the plan. A missing
#   RuntimeClass, a missing selector or a selector without those labels denies.
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(2)(iv)
#   description: '45 CFR 164.312(a)(2)(iv) Encryption and decryption (Addressable): Implement a mechanism
#     to encrypt and decrypt electronic protected health information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(c)(1)
#   description: '45 CFR 164.312(c)(1) Integrity: Implement policies and procedures to protect electronic
#     protected health information from improper alteration or destruction.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(B)
#   description: '45 CFR 164.308(a)(1)(ii)(B) Risk management (Required): Implement security measures sufficient
#     to reduce risks and vulnerabilities to a reasonable and appropriate level to comply with § 164.306(a).'
# custom:
#   id: PHI-CC-002
#   severity: high
#   enforcement: mandatory
#   unwaivable: true
#   citations:
#   - cfr: 45 CFR 164.312(a)(2)(iv)
#     title: Encryption and decryption
#     type: addressable
#   - cfr: 45 CFR 164.312(c)(1)
#     title: Integrity
#     type: required
#   - cfr: 45 CFR 164.308(a)(1)(ii)(B)
#     title: Risk management
#     type: required
#   remediation: Create the cluster with cc_mode snp or tdx so its RuntimeClass carries the CC node selector
#     (nvidia.com/cc.mode.state=on, nvidia.com/cc.ready.state=true), or set that nodeSelector on the pod.
package phistack.rules.confidential_compute.phi_cc_002

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in ctx.phi_workloads
	f := _finding(ctx, w)
}

# One pass per workload: unknown node selection fails closed, else a missing selector denies.
_finding(ctx, w) := lib.unknown_finding("PHI-CC-002", w.urn, "the node selection", paths) if {
	paths := array.concat(_unknowns_of(ctx, w), [concat("", ["nodeSelector[", k, "]"]) | some k in _unknown_values(ctx, w)])
	count(paths) > 0
} else := lib.finding("PHI-CC-002", w.urn, concat("", ["PHI workload ", lib.name_of(w), " may be scheduled onto nodes without confidential computing: neither its nodeSelector nor its runtime class requires ", concat(", ", sort(missing))])) if {
	missing := _missing(ctx, w)
	count(missing) > 0
}

_required := data.confidential_computing.cc_node_selector

_pod_selector(w) := object.get(lib.pod_spec(w), "nodeSelector", {})

_runtime_class(w) := object.get(lib.pod_spec(w), "runtimeClassName", "")

_unknowns_of(ctx, w) := array.concat(
	[p | p := lib.unknown_path(w.inputs, array.concat(lib.pod_spec_path(w), ["nodeSelector"]))],
	[p |
		[_runtime_class(w), "__unknown__", ""] in ctx.runtime_class_selectors
		p := concat("", ["RuntimeClass ", _runtime_class(w), " scheduling.nodeSelector"])
	],
)

_unknown_values(ctx, w) := [k |
	sel := _pod_selector(w)
	is_object(sel)
	some k # `some k, v in` does not parse inside comprehensions on regopy
	_required[k]
	lib.is_unknown(object.get(sel, k, null))
]

_missing(ctx, w) := [concat("", [k, "=", v]) |
	some k
	v := _required[k]
	not _selected(ctx, w, k, v)
]

_selected(_, w, k, v) if object.get(_pod_selector(w), k, null) == v

_selected(ctx, w, k, v) if [_runtime_class(w), k, v] in ctx.runtime_class_selectors
