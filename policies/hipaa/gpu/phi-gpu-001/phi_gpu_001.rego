# METADATA
# title: The GPU choice fits the workload (advisory)
# description: 'Advisory. Every PHI or genetic AttestedWorkload has a node pool to land on whose GPU model
#   supports NVIDIA Confidential Computing (policies/data/gpu_profiles.json: Hopper and Blackwell data centre
#   GPUs) with at least as many GPUs per node as the workload requests; and no node pool claims CC capability
#   for a GPU model that lacks it or that the profiles do not know.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(7)(ii)(E)
#   description: '45 CFR 164.308(a)(7)(ii)(E) Applications and data criticality analysis (Addressable):
#     Assess the relative criticality of specific applications and data in support of other contingency
#     plan components.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(2)(iv)
#   description: '45 CFR 164.312(a)(2)(iv) Encryption and decryption (Addressable): Implement a mechanism
#     to encrypt and decrypt electronic protected health information.'
# custom:
#   id: PHI-GPU-001
#   severity: low
#   enforcement: advisory
#   citations:
#   - cfr: 45 CFR 164.308(a)(7)(ii)(E)
#     title: Applications and data criticality analysis
#     type: addressable
#   - cfr: 45 CFR 164.312(a)(2)(iv)
#     title: Encryption and decryption
#     type: addressable
#   remediation: Choose a CC-capable GPU (H100, H200, B200) for PHI workloads with enough GPUs per node,
#     or run only de-identified data on GPUs without confidential computing.
package phistack.rules.phi_gpu_001

import rego.v1

import data.phistack.lib.hipaa as lib

warn contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some pool in _gpu1_pools(ctx)
	pool.spec.cc_capable == true
	not _gpu1_cc(object.get(pool.spec, "gpu_model", null))
	f := lib.finding("PHI-GPU-001", pool.cluster.urn, concat("", ["node pool ", object.get(pool.spec, "name", "?"), " declares confidential computing but its GPU ", _gpu1_text(object.get(pool.spec, "gpu_model", null)), " has no NVIDIA CC support in policies/data/gpu_profiles.json"]))
} | {f |
	largest := _gpu1_largest_cc_pool(ctx)
	some w in ctx.phi_attested
	gpus := object.get(w.inputs, "gpus", 1)
	_gpu1_number(gpus) > largest
	f := lib.finding("PHI-GPU-001", w.urn, concat("", ["PHI workload ", w.name, " has no node pool with a confidential-computing GPU and at least ", format_int(_gpu1_number(gpus), 10), " GPUs per node"]))
}

_gpu1_pools(ctx) := [{"cluster": c, "spec": p} |
	some c in lib.components(ctx, "ConfidentialGpuCluster")
	some p in object.get(c.inputs, "node_pools", [])
]

_gpu1_key(model) := lower(replace(replace(trim_prefix(trim_prefix(model, "NVIDIA "), "nvidia "), " ", ""), "-", ""))

_gpu1_cc(model) if {
	is_string(model)
	data.gpu_profiles.gpus[_gpu1_key(model)].confidential_computing == true
}

_gpu1_text(model) := model if is_string(model)

else := "(unknown)"

_gpu1_number(n) := n if is_number(n)

else := 1

# The most GPUs per node any CC-capable pool offers (0 when there is none).
_gpu1_largest_cc_pool(ctx) := max(array.concat([0], [_gpu1_number(object.get(pool.spec, "gpu_count", 0)) |
	some pool in _gpu1_pools(ctx)
	pool.spec.cc_capable == true
	_gpu1_cc(object.get(pool.spec, "gpu_model", null))
]))
