package phistack.rules.genomics.phi_gen_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.genomics.phi_gen_001

_genetic(props) := fx.attested("variants", props)

_good := {
	"namespace": "genomics",
	"image": fx.image,
	"data_classification": "genetic",
	"purpose": "research: somatic variant calling under IRB-2026-117",
	"authorized_groups": ["genomics-researchers"],
}

_urn := fx.urn("phistack:workload:AttestedWorkload", "variants")

_deny(resources) := phi_gen_001.findings(fx.ctx(resources))

test_allowed_purpose if {
	_deny([_genetic(_good)]) == set()
}

test_allowed_phi_without_purpose if {
	_deny([fx.attested("nlp", fx.attested_props)]) == set()
}

test_denied_empty_purpose if {
	_deny([_genetic(object.union(_good, {"purpose": " "}))]) == {{"id": "PHI-GEN-001", "urn": _urn, "msg": "PHI-GEN-001: genetic-data workload variants declares no purpose limitation (purpose)"}}
}

test_missing_purpose if {
	_deny([_genetic(object.remove(_good, ["purpose"]))]) == {{"id": "PHI-GEN-001", "urn": _urn, "msg": "PHI-GEN-001: genetic-data workload variants declares no purpose limitation (purpose)"}}
}

test_unknown_purpose if {
	_deny([_genetic(object.union(_good, {"purpose": fx.unknown}))]) == {{"id": "PHI-GEN-001", "urn": _urn, "msg": "PHI-GEN-001: the purpose of use is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["purpose"]}}
}
