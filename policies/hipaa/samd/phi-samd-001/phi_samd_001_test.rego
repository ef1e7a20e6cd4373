package phistack.rules.samd.phi_samd_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.samd.phi_samd_001

_deny(resources) := phi_samd_001.findings(fx.ctx(resources))

_provenance := {"model_digest": fx.digest, "training_data_manifest_digest": fx.digest, "evaluation_report": "https://qms.example-hospital.org/reports/cds-2026-04"}

_device(provenance) := fx.attested("cds", object.union(fx.attested_props, {"samd": true, "model_provenance": provenance}))

_urn := fx.urn("phistack:workload:AttestedWorkload", "cds")

test_allowed_full_provenance if {
	_deny([_device(_provenance)]) == set()
}

test_allowed_not_a_device if {
	_deny([fx.attested("nlp", fx.attested_props)]) == set()
}

test_denied_tag_instead_of_digest if {
	_deny([_device(object.union(_provenance, {"model_digest": "v1.2"}))]) == {{"id": "PHI-SAMD-001", "urn": _urn, "msg": "PHI-SAMD-001: medical-device workload cds lacks model provenance: model_digest"}}
}

test_missing_provenance if {
	_deny([fx.attested("cds", object.union(fx.attested_props, {"samd": true}))]) == {{"id": "PHI-SAMD-001", "urn": _urn, "msg": "PHI-SAMD-001: medical-device workload cds lacks model provenance: model_digest, training_data_manifest_digest, evaluation_report"}}
}

test_missing_evaluation_report if {
	_deny([_device(object.remove(_provenance, ["evaluation_report"]))]) == {{"id": "PHI-SAMD-001", "urn": _urn, "msg": "PHI-SAMD-001: medical-device workload cds lacks model provenance: evaluation_report"}}
}

test_unknown_model_digest if {
	_deny([_device(object.union(_provenance, {"model_digest": fx.unknown}))]) == {{"id": "PHI-SAMD-001", "urn": _urn, "msg": "PHI-SAMD-001: the model provenance is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["model_provenance.model_digest"]}}
}
