package phistack.rules.baa.phi_baa_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.baa.phi_baa_001

_profile(inputs) := fx.component("phistack:provider:ProviderProfile", "provider", inputs)

_good := {"provider": "helix-gpu", "plan": "secure-cloud", "region": "us-east-1", "baa": {"reference": "BAA-HELIX-2026-01", "signed": "2026-01-15", "expires": "2027-01-14"}}

_urn := fx.urn("phistack:provider:ProviderProfile", "provider")

_deny(resources) := phi_baa_001.findings(fx.ctx(resources))

test_allowed_registered_baa if {
	_deny([fx.phi_deployment, _profile(_good)]) == set()
}

test_allowed_no_phi_needs_no_baa if {
	_deny([fx.deployment("sim", "none", fx.cc_pod)]) == set()
}

test_denied_no_profile if {
	_deny([fx.phi_deployment]) == {{"id": "PHI-BAA-001", "urn": fx.stack_urn, "msg": "PHI-BAA-001: the stack handles PHI but declares no ProviderProfile, so no Business Associate Agreement covers its provider"}}
}

test_denied_unregistered_provider if {
	_deny([fx.phi_deployment, _profile(object.union(_good, {"provider": "cheap-gpu"}))]) == {{"id": "PHI-BAA-001", "urn": _urn, "msg": "PHI-BAA-001: provider cheap-gpu has no BAA in the registry (policies/data/baa.json)"}}
}

test_denied_unknown_reference if {
	_deny([fx.phi_deployment, _profile(object.union(_good, {"baa": {"reference": "BAA-FORGED"}}))]) == {{"id": "PHI-BAA-001", "urn": _urn, "msg": "PHI-BAA-001: BAA BAA-FORGED is not on file for provider helix-gpu"}}
}

test_denied_wrong_plan if {
	_deny([fx.phi_deployment, _profile(object.union(_good, {"plan": "community-cloud"}))]) == {{"id": "PHI-BAA-001", "urn": _urn, "msg": "PHI-BAA-001: BAA BAA-HELIX-2026-01 with helix-gpu does not cover plan community-cloud"}}
}

test_missing_baa if {
	_deny([fx.phi_deployment, _profile(object.remove(_good, ["baa"]))]) == {{"id": "PHI-BAA-001", "urn": _urn, "msg": "PHI-BAA-001: provider helix-gpu: the profile declares no BAA"}}
}

test_missing_provider if {
	_deny([fx.phi_deployment, _profile(object.remove(_good, ["provider"]))]) == {{"id": "PHI-BAA-001", "urn": _urn, "msg": "PHI-BAA-001: the provider profile names no provider"}}
}

test_unknown_plan if {
	_deny([fx.phi_deployment, _profile(object.union(_good, {"plan": fx.unknown}))]) == {{"id": "PHI-BAA-001", "urn": _urn, "msg": "PHI-BAA-001: the provider, plan or BAA reference is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["plan"]}}
}
