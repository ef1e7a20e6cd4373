package phistack.rules.confidential_compute.phi_cc_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.confidential_compute.phi_cc_001

_deny(resources) := phi_cc_001.findings(fx.ctx(resources))

_with_rc(rc) := fx.deployment("nlp", "phi", fx.pod(rc, [fx.container(fx.image, fx.env)], []))

_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

_expected_finding(msg) := {"id": "PHI-CC-001", "urn": _urn, "msg": concat("", ["PHI-CC-001: PHI workload nlp runs under ", msg])}

test_allowed_snp if {
	_deny([fx.phi_deployment, fx.runtime_class("kata-qemu-nvidia-gpu-snp", fx.cc_selector)]) == set()
}

test_allowed_tdx if {
	_deny([_with_rc("kata-qemu-nvidia-gpu-tdx")]) == set()
}

test_allowed_non_phi_on_runc if {
	_deny([fx.deployment("sim", "none", fx.pod("runc", [fx.container(fx.image, [])], []))]) == set()
}

test_denied_runc if {
	_deny([_with_rc("runc")]) == {_expected_finding("runtime class runc, which shares the host kernel and has no TEE")}
}

test_denied_kata_without_tee if {
	_deny([_with_rc("kata-qemu-nvidia-gpu")]) == {_expected_finding("runtime class kata-qemu-nvidia-gpu, Kata without a TEE")}
}

test_denied_kata_in_a_cpu_tee_without_a_confidential_gpu if {
	_deny([_with_rc("kata-qemu-snp")]) == {_expected_finding("runtime class kata-qemu-snp, a CPU-only Kata confidential VM without NVIDIA Confidential Computing on the GPU")}
}

# A typo of an allowed name is not "Kata without a TEE": it names a runtime class nobody defined.
test_denied_typo_of_an_allowed_runtime_class_is_unknown if {
	_deny([_with_rc("kata-qemu-nvidia-gpu-snpp")]) == {_expected_finding(concat("", [
		"unknown runtime class kata-qemu-nvidia-gpu-snpp: the confidential-computing runtime classes are ",
		"kata-qemu-nvidia-gpu-snp, kata-qemu-nvidia-gpu-tdx (policies/data/confidential_computing.json)",
	]))}
}

test_denied_unknown_runtime_class_even_when_the_plan_declares_it if {
	rc := object.union(fx.runtime_class("kata-qemu-nvidia-gpu-snpp", fx.cc_selector), {"inputs": {"metadata": {"name": "kata-qemu-nvidia-gpu-snpp"}, "handler": "kata-qemu-nvidia-gpu-snp"}})
	_deny([_with_rc("kata-qemu-nvidia-gpu-snpp"), rc]) == {_expected_finding(concat("", [
		"unknown runtime class kata-qemu-nvidia-gpu-snpp: the confidential-computing runtime classes are ",
		"kata-qemu-nvidia-gpu-snp, kata-qemu-nvidia-gpu-tdx (policies/data/confidential_computing.json)",
	]))}
}

test_denied_coco_dev if {
	_deny([_with_rc("kata-qemu-coco-dev")]) == {_expected_finding("runtime class kata-qemu-coco-dev, a confidential-containers development runtime without a real TEE")}
}

test_denied_genetic_on_gvisor if {
	d := fx.deployment("nlp", "genetic", fx.pod("gvisor", [fx.container(fx.image, fx.env)], []))
	_deny([d]) == {_expected_finding("runtime class gvisor, which is not a confidential-computing runtime class")}
}

test_denied_runtime_class_with_wrong_handler if {
	rc := object.union(fx.runtime_class("kata-qemu-nvidia-gpu-snp", fx.cc_selector), {"inputs": {"metadata": {"name": "kata-qemu-nvidia-gpu-snp"}, "handler": "runc"}})
	_deny([fx.phi_deployment, rc]) == {{"id": "PHI-CC-001", "urn": _urn, "msg": "PHI-CC-001: PHI workload nlp uses runtime class kata-qemu-nvidia-gpu-snp whose handler runc is not a confidential-computing runtime"}}
}

test_missing_runtime_class if {
	d := fx.deployment("nlp", "phi", {"containers": [fx.container(fx.image, fx.env)]})
	_deny([d]) == {_expected_finding("no runtime class, i.e. the node's default runtime (runc) without a TEE")}
}

test_missing_classification_fails_closed if {
	d := object.union(fx.phi_deployment, {"inputs": {"metadata": {"name": "nlp"}, "spec": {"template": {"spec": fx.pod("runc", [], [])}}}})
	_deny([d]) == {_expected_finding("runtime class runc, which shares the host kernel and has no TEE")}
}

test_unknown_runtime_class if {
	_deny([_with_rc(fx.unknown)]) == {{"id": "PHI-CC-001", "urn": _urn, "msg": "PHI-CC-001: the runtime class is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.template.spec.runtimeClassName"]}}
}

# A confidential-VM node runtime class: runc on nodes that are confidential VMs the plan provisions.
_cvm := "confidential-vm-nvidia-gpu"

_cvm_class(handler) := object.union(fx.runtime_class(_cvm, fx.cc_selector), {"inputs": {"handler": handler}})

_gke_pool := fx.resource("gcp:container/nodePool:NodePool", "h100-cc", {"name": "h100-cc", "nodeConfig": {"machineType": "a3-highgpu-1g"}})

_aks_pool := fx.resource("azure-native:containerservice:AgentPool", "h100cc", {"agentPoolName": "h100cc", "vmSize": "Standard_NCC40ads_H100_v5"})

test_allowed_confidential_vm_class_on_provisioned_gke_pools if {
	_deny([_with_rc(_cvm), _cvm_class("runc"), _gke_pool]) == set()
}

test_allowed_confidential_vm_class_on_provisioned_aks_pools if {
	_deny([_with_rc(_cvm), _cvm_class("runc"), _aks_pool]) == set()
}

# On an existing cluster nothing proves the nodes are confidential VMs: the class is plain runc there.
test_denied_confidential_vm_class_without_provisioned_pools if {
	_deny([_with_rc(_cvm), _cvm_class("runc")]) == {_expected_finding("runtime class confidential-vm-nvidia-gpu, a confidential-VM node runtime class in a plan that provisions no confidential GPU node pool (GKE or AKS): on an existing cluster it is runc")}
}

# A confidential-VM class must hand pods to the node's runc; any other handler is refused.
test_denied_confidential_vm_class_with_another_handler if {
	_deny([_with_rc(_cvm), _cvm_class("kata-qemu-nvidia-gpu"), _gke_pool]) == {{"id": "PHI-CC-001", "urn": _urn, "msg": "PHI-CC-001: PHI workload nlp uses runtime class confidential-vm-nvidia-gpu whose handler kata-qemu-nvidia-gpu is not a confidential-computing runtime"}}
}
