package phistack.rules.phi_cc_003_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.phi_cc_003

_deny(resources) := phi_cc_003.findings(fx.ctx(resources))

_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

_with_env(env) := fx.deployment("nlp", "phi", fx.pod("kata-qemu-nvidia-gpu-snp", [fx.container(fx.image, env)], []))

_denied := {{"id": "PHI-CC-003", "urn": _urn, "msg": "PHI-CC-003: PHI workload nlp does not gate its data key on attestation: no container sets PHISTACK_KEY_BROKER_URL to an https URL together with PHISTACK_ATTESTATION_POLICY"}}

test_allowed_broker_and_policy if {
	_deny([fx.phi_deployment]) == set()
}

test_allowed_non_phi_without_broker if {
	_deny([fx.deployment("sim", "none", fx.pod("runc", [fx.container(fx.image, [])], []))]) == set()
}

test_denied_plain_http_broker if {
	_deny([_with_env([{"name": "PHISTACK_KEY_BROKER_URL", "value": "http://kbs:8080"}, {"name": "PHISTACK_ATTESTATION_POLICY", "value": "p"}])]) == _denied
}

test_missing_attestation_policy if {
	_deny([_with_env([{"name": "PHISTACK_KEY_BROKER_URL", "value": "https://kbs"}])]) == _denied
}

test_missing_env if {
	_deny([_with_env([])]) == _denied
}

test_unknown_broker_url if {
	_deny([_with_env([{"name": "PHISTACK_KEY_BROKER_URL", "value": fx.unknown}, {"name": "PHISTACK_ATTESTATION_POLICY", "value": "p"}])]) == {{"id": "PHI-CC-003", "urn": _urn, "msg": "PHI-CC-003: the key broker or attestation policy is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.template.spec.containers[0].env[0].value"]}}
}
