package phistack.rules.logging.phi_log_004_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.logging.phi_log_004

_deny(resources) := phi_log_004.findings(fx.ctx(resources))

_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

_with_env(env) := fx.deployment("nlp", "phi", fx.pod("kata-qemu-nvidia-gpu-snp", [fx.container(fx.image, env)], []))

_denied := {{"id": "PHI-LOG-004", "urn": _urn, "msg": "PHI-LOG-004: PHI workload nlp has no runtime audit sink: no container's effective environment sets PHISTACK_AUDIT_SINK to host:port"}}

test_allowed_sink if {
	_deny([fx.phi_deployment]) == set()
}

test_allowed_non_phi_without_sink if {
	_deny([fx.deployment("sim", "deidentified", fx.pod("runc", [fx.container(fx.image, [])], []))]) == set()
}

test_denied_malformed_sink if {
	_deny([_with_env([{"name": "PHISTACK_AUDIT_SINK", "value": "not a sink"}])]) == _denied
}

test_missing_sink if {
	_deny([_with_env([])]) == _denied
}

test_unknown_sink if {
	_deny([_with_env([{"name": "PHISTACK_AUDIT_SINK", "value": fx.unknown}])]) == {{"id": "PHI-LOG-004", "urn": _urn, "msg": "PHI-LOG-004: the runtime audit sink is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.template.spec.containers[0].env[0].value"]}}
}

# Kubernetes uses the last of duplicate env entries: an empty sink after the real one is what runs.
test_denied_duplicate_empty_sink if {
	w := fx.deployment("nlp", "phi", fx.pod("kata-qemu-nvidia-gpu-snp", [fx.container(fx.image, array.concat(fx.env, [{"name": "PHISTACK_AUDIT_SINK", "value": ""}]))], []))
	{f.id | some f in phi_log_004.findings(fx.ctx([w]))} == {"PHI-LOG-004"}
}
