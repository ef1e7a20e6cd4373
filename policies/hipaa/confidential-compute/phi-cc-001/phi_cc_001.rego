# METADATA
# title: PHI workloads run in a confidential-computing runtime class
# description: Every pod workload that processes PHI or genetic data names a confidential-computing runtime
#   class (Kata in an AMD SEV-SNP or Intel TDX confidential VM with NVIDIA Confidential Computing on the
#   GPU, listed in policies/data/confidential_computing.json), and a RuntimeClass of that name in the plan
#   uses an allowed handler. No runtime class (runc), runc, Kata without a TEE and confidential-containers
#   development runtime classes deny, so data in use stays encrypted in memory. In a plan that provisions
#   cloud GPU node pools (GKE, AKS), a confidential-VM runtime class is allowed too, as its pods run with runc on
#   nodes that are themselves confidential VMs, so its handler must be runc; PHI-GPU-001 proves those pools
#   confidential.
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
#   id: PHI-CC-001
#   severity: critical
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
#   remediation: Set AttestedWorkload.runtime_class (pod runtimeClassName) to kata-qemu-nvidia-gpu-snp or
#     kata-qemu-nvidia-gpu-tdx and create the cluster with cc_mode snp or tdx.
package phistack.rules.confidential_compute.phi_cc_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	allowed := _allowed_in(ctx)
	some w in ctx.phi_workloads
	f := _runtime_finding(w, allowed)
} | {f |
	allowed := _allowed_in(ctx)
	bad := _bad_handlers(ctx, allowed)
	some w in ctx.phi_workloads
	name := _name(w)
	name in allowed
	some pair in bad[name]
	f := lib.finding("PHI-CC-001", w.urn, concat("", ["PHI workload ", lib.name_of(w), " uses runtime class ", name, " whose handler ", pair, " is not a confidential-computing runtime"]))
}

# One pass per workload: an unknown runtime class fails closed, else one not allowed denies.
_runtime_finding(w, allowed) := lib.unknown_finding("PHI-CC-001", w.urn, "the runtime class", [path]) if {
	path := _unknown(w)
} else := f if {
	name := _name(w)
	not name in allowed
	f := lib.finding("PHI-CC-001", w.urn, concat("", ["PHI workload ", lib.name_of(w), " runs under ", _why_denied(name)]))
}

_allowed := {name | some name in data.confidential_computing.runtime_classes}

# Confidential-VM classes: the node is the TEE, so they count only where the plan provisions the nodes.
_cvm_classes := {name | some name in object.get(data.confidential_computing, "confidential_vm_runtime_classes", [])}

_allowed_in(ctx) := _allowed | _cvm_classes if lib.provisions_cloud_pools(ctx)

else := _allowed

# The handler a RuntimeClass of an allowed name must use: its own name for Kata, runc on a confidential VM node.
_handler_ok(name, handler) if {
	not name in _cvm_classes
	handler in _allowed
}

_handler_ok(name, handler) if {
	name in _cvm_classes
	handler == "runc"
}

_development := {name | some name in data.confidential_computing.development_runtime_classes}

_path(w) := array.concat(lib.pod_spec_path(w), ["runtimeClassName"])

_unknown(w) := lib.unknown_path(w.inputs, _path(w))

# Allowed runtime class name -> handlers of RuntimeClasses of that name that are not allowed.
_bad_handlers(ctx, allowed) := {name: {h |
	some other in classes
	lib.name_of(other) == name
	h := _handler(other)
	not _handler_ok(name, h)
} |
	classes := [rc |
		some rc in lib.of_type(ctx, "kubernetes:node.k8s.io/v1:RuntimeClass")
		lib.name_of(rc) in allowed
	]
	some name in allowed
}

_handler(rc) := h if {
	h := rc.inputs.handler
	is_string(h)
} else := "(none)"

_name(w) := name if {
	name := lib.pod_spec(w).runtimeClassName
	is_string(name)
} else := ""

# Why a runtime class that is not allowed denies. A name this rule does not know is most likely a typo of an
# allowed one (kata-qemu-nvidia-gpu-snpp): say so and list the allowed names, never guess what it runs.
_why_denied(name) := "no runtime class, i.e. the node's default runtime (runc) without a TEE" if {
	name == ""
} else := "runtime class runc, which shares the host kernel and has no TEE" if {
	name == "runc"
} else := concat("", ["runtime class ", name, ", a confidential-containers development runtime without a real TEE"]) if {
	name in _development
} else := concat("", ["runtime class ", name, ", Kata without a TEE"]) if {
	name in _kata_without_tee
} else := concat("", ["runtime class ", name, ", a CPU-only Kata confidential VM without NVIDIA Confidential Computing on the GPU"]) if {
	name in _kata_cpu_tee
} else := concat("", ["runtime class ", name, ", a confidential-VM node runtime class in a plan that provisions no confidential GPU node pool (GKE or AKS): on an existing cluster it is runc"]) if {
	name in _cvm_classes
} else := concat("", ["runtime class ", name, ", which is not a confidential-computing runtime class"]) if {
	name in _not_confidential
} else := concat("", [
	"unknown runtime class ",
	name,
	": the confidential-computing runtime classes are ",
	concat(", ", sort(_allowed)),
	" (policies/data/confidential_computing.json)",
])

# Runtime classes that exist but are not confidential computing, so their names are not typos: Kata
# (kata-deploy's runtime classes) without a TEE, Kata in a CPU TEE without a confidential GPU, and other
# well-known runtimes.
_kata_without_tee := {
	"kata",
	"kata-clh",
	"kata-cloud-hypervisor",
	"kata-dragonball",
	"kata-fc",
	"kata-qemu",
	"kata-qemu-nvidia-gpu",
	"kata-qemu-runtime-rs",
	"kata-stratovirt",
}

_kata_cpu_tee := {"kata-qemu-se", "kata-qemu-sev", "kata-qemu-snp", "kata-qemu-tdx"}

_not_confidential := {"crun", "gvisor", "nvidia", "runsc", "youki"}
