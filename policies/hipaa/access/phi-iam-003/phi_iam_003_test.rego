package phistack.rules.access.phi_iam_003_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.access.phi_iam_003

_deny(resources) := phi_iam_003.findings(fx.ctx(resources))

_cluster(idp) := fx.component("phistack:cluster:ConfidentialGpuCluster", "gpu", {"cluster_name": "clinical", "namespaces": [{"name": "clinical", "data_classification": "phi"}], "identity_provider": idp})

_urn := fx.urn("phistack:cluster:ConfidentialGpuCluster", "gpu")

_denied := {{"id": "PHI-IAM-003", "urn": _urn, "msg": "PHI-IAM-003: the cluster declares no identity provider with an https issuer and mfa_required: true for human access"}}

test_allowed_mfa_idp if {
	_deny([_cluster({"issuer": "https://login.example-hospital.org", "mfa_required": true})]) == set()
}

test_allowed_no_phi_without_cluster if {
	_deny([fx.deployment("sim", "none", fx.cc_pod)]) == set()
}

test_denied_mfa_off if {
	_deny([_cluster({"issuer": "https://login.example-hospital.org", "mfa_required": false})]) == _denied
}

test_denied_no_cluster if {
	_deny([fx.phi_deployment]) == {{"id": "PHI-IAM-003", "urn": fx.stack_urn, "msg": "PHI-IAM-003: the stack handles PHI but declares no ConfidentialGpuCluster, so no MFA-enforcing identity provider governs human access"}}
}

test_missing_identity_provider if {
	_deny([fx.component("phistack:cluster:ConfidentialGpuCluster", "gpu", {"cluster_name": "clinical", "namespaces": [{"name": "clinical", "data_classification": "phi"}]})]) == _denied
}

test_unknown_issuer if {
	_deny([_cluster({"issuer": fx.unknown, "mfa_required": true})]) == {{"id": "PHI-IAM-003", "urn": _urn, "msg": "PHI-IAM-003: the identity provider is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["identity_provider.issuer"]}}
}
