package phistack.rules.confidential_compute.phi_cc_004_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.confidential_compute.phi_cc_004

_deny(resources) := phi_cc_004.findings(fx.ctx(resources))

_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

_with(containers) := fx.deployment("nlp", "phi", fx.pod("kata-qemu-nvidia-gpu-snp", containers, []))

test_allowed_digest if {
	_deny([fx.phi_deployment]) == set()
}

test_allowed_non_phi_tag if {
	_deny([fx.deployment("sim", "none", fx.pod("runc", [fx.container("sim:latest", [])], []))]) == set()
}

test_denied_tag if {
	_deny([_with([fx.container("registry.example/runtime:1.4", fx.env)])]) == {{"id": "PHI-CC-004", "urn": _urn, "msg": "PHI-CC-004: PHI workload nlp: container runtime image 'registry.example/runtime:1.4' is not pinned by a sha256 digest"}}
}

test_denied_short_digest if {
	_deny([_with([fx.container("runtime@sha256:abc", fx.env)])]) == {{"id": "PHI-CC-004", "urn": _urn, "msg": "PHI-CC-004: PHI workload nlp: container runtime image 'runtime@sha256:abc' is not pinned by a sha256 digest"}}
}

test_missing_image if {
	_deny([_with([{"name": "runtime"}])]) == {{"id": "PHI-CC-004", "urn": _urn, "msg": "PHI-CC-004: PHI workload nlp: container runtime image '' is not pinned by a sha256 digest"}}
}

test_unknown_image if {
	_deny([_with([fx.container(fx.unknown, fx.env)])]) == {{"id": "PHI-CC-004", "urn": _urn, "msg": "PHI-CC-004: the image of container runtime is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.template.spec.containers[0].image"]}}
}
