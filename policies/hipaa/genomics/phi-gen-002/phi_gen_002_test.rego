package phistack.rules.genomics.phi_gen_002_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.genomics.phi_gen_002

_genetic(props) := fx.attested("variants", props)

_good := {
	"namespace": "genomics",
	"image": fx.image,
	"data_classification": "genetic",
	"purpose": "research: somatic variant calling under IRB-2026-117",
	"authorized_groups": ["genomics-researchers"],
}

_urn := fx.urn("phistack:workload:AttestedWorkload", "variants")

_deny(resources) := phi_gen_002.findings(fx.ctx(resources))

_ns := fx.namespace("genomics", "genetic")

_binding(subjects) := fx.resource("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "viewers", {"kind": "RoleBinding", "metadata": {"name": "viewers", "namespace": "genomics"}, "roleRef": {"kind": "Role", "name": "phistack-viewer"}, "subjects": subjects})

_binding_urn := fx.urn("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "viewers")

test_allowed_restricted if {
	_deny([_ns, _genetic(_good), _binding([{"kind": "Group", "name": "genomics-researchers"}])]) == set()
}

test_allowed_phi_workload_needs_no_groups if {
	_deny([fx.namespace("clinical", "phi"), fx.attested("nlp", fx.attested_props)]) == set()
}

test_denied_outsider_binding if {
	_deny([_ns, _genetic(_good), _binding([{"kind": "User", "name": "bob"}, {"kind": "Group", "name": "genomics-researchers"}])]) == {{"id": "PHI-GEN-002", "urn": _binding_urn, "msg": "PHI-GEN-002: RoleBinding viewers grants genetic-data namespace genomics to User bob, outside its authorised groups"}}
}

test_denied_shared_namespace if {
	_deny([fx.namespace("genomics", "phi"), _genetic(_good)]) == {{"id": "PHI-GEN-002", "urn": _urn, "msg": "PHI-GEN-002: genetic-data workload variants runs in namespace genomics, which is not dedicated to genetic data"}}
}

test_denied_wildcard_group if {
	_deny([_ns, _genetic(object.union(_good, {"authorized_groups": ["*"]}))]) == {{"id": "PHI-GEN-002", "urn": _urn, "msg": "PHI-GEN-002: genetic-data workload variants names no authorised groups (authorized_groups, without wildcards)"}}
}

test_missing_authorized_groups if {
	_deny([_ns, _genetic(object.remove(_good, ["authorized_groups"]))]) == {{"id": "PHI-GEN-002", "urn": _urn, "msg": "PHI-GEN-002: genetic-data workload variants names no authorised groups (authorized_groups, without wildcards)"}}
}

test_missing_namespace_declaration if {
	_deny([_genetic(_good)]) == {{"id": "PHI-GEN-002", "urn": _urn, "msg": "PHI-GEN-002: genetic-data workload variants runs in namespace genomics, which is not dedicated to genetic data"}}
}
