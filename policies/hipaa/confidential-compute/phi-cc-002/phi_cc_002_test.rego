package phistack.rules.confidential_compute.phi_cc_002_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.confidential_compute.phi_cc_002

_deny(resources) := phi_cc_002.findings(fx.ctx(resources))

_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

_msg(missing) := concat("", ["PHI-CC-002: PHI workload nlp may be scheduled onto nodes without confidential computing: neither its nodeSelector nor its runtime class requires ", missing])

test_allowed_runtime_class_selector if {
	_deny([fx.phi_deployment, fx.runtime_class("kata-qemu-nvidia-gpu-snp", fx.cc_selector)]) == set()
}

test_allowed_pod_node_selector if {
	d := fx.deployment("nlp", "phi", object.union(fx.cc_pod, {"nodeSelector": fx.cc_selector}))
	_deny([d]) == set()
}

test_allowed_non_phi if {
	_deny([fx.deployment("sim", "deidentified", fx.cc_pod)]) == set()
}

test_denied_cc_off_selector if {
	_deny([fx.phi_deployment, fx.runtime_class("kata-qemu-nvidia-gpu-snp", {"nvidia.com/cc.mode.state": "off", "nvidia.com/cc.ready.state": "true"})]) == {{"id": "PHI-CC-002", "urn": _urn, "msg": _msg("nvidia.com/cc.mode.state=on")}}
}

test_missing_runtime_class_resource if {
	_deny([fx.phi_deployment]) == {{"id": "PHI-CC-002", "urn": _urn, "msg": _msg("nvidia.com/cc.mode.state=on, nvidia.com/cc.ready.state=true")}}
}

test_missing_scheduling if {
	rc := fx.resource("kubernetes:node.k8s.io/v1:RuntimeClass", "kata-qemu-nvidia-gpu-snp", {"metadata": {"name": "kata-qemu-nvidia-gpu-snp"}, "handler": "kata-qemu-nvidia-gpu-snp"})
	_deny([fx.phi_deployment, rc]) == {{"id": "PHI-CC-002", "urn": _urn, "msg": _msg("nvidia.com/cc.mode.state=on, nvidia.com/cc.ready.state=true")}}
}

test_unknown_node_selector_value if {
	d := fx.deployment("nlp", "phi", object.union(fx.cc_pod, {"nodeSelector": {"nvidia.com/cc.mode.state": fx.unknown}}))
	_deny([d]) == {{"id": "PHI-CC-002", "urn": _urn, "msg": "PHI-CC-002: the node selection is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["nodeSelector[nvidia.com/cc.mode.state]"]}}
}
