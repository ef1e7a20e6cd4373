package phistack.rules.baa.phi_baa_002_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.baa.phi_baa_002

# The registry (policies/data/baa.json) holds BAA-HELIX-2026-01, in effect 2026-01-15..2029-01-14.
_resources := [fx.phi_deployment, fx.component("phistack:provider:ProviderProfile", "provider", {"provider": "helix-gpu", "plan": "secure-cloud", "region": "us-east-1", "baa": {"reference": "BAA-HELIX-2026-01", "signed": "2026-01-15", "expires": "2027-01-14"}})]

_urn := fx.urn("phistack:provider:ProviderProfile", "provider")

_on(today) := phi_baa_002.findings(lib.context(object.union(fx.plan(_resources), {"today": today})))

test_allowed_current if {
	_on("2026-06-01") == set()
}

test_allowed_first_and_last_day if {
	_on("2026-01-15") == set()
	_on("2029-01-14") == set()
}

test_denied_expired if {
	_on("2029-01-15") == {{"id": "PHI-BAA-002", "urn": _urn, "msg": "PHI-BAA-002: BAA BAA-HELIX-2026-01 with helix-gpu expired on 2029-01-14"}}
}

test_denied_not_yet_in_effect if {
	_on("2026-01-14") == {{"id": "PHI-BAA-002", "urn": _urn, "msg": "PHI-BAA-002: BAA BAA-HELIX-2026-01 with helix-gpu is not in effect until 2026-01-15"}}
}

test_missing_today if {
	phi_baa_002.findings(lib.context(object.remove(fx.plan(_resources), ["today"]))) == {{"id": "PHI-BAA-002", "urn": _urn, "msg": "PHI-BAA-002: BAA BAA-HELIX-2026-01 with helix-gpu cannot be checked: the gate input has no evaluation date (today)"}}
}

test_missing_registry_dates if {
	phi_baa_002._date_problem("2026-06-01", {"provider": "helix-gpu", "reference": "BAA-X", "signed": "2026-01-15"}) == "has no valid signed and expires dates in the registry"
}
