package phistack.rules.deidentification.phi_deid_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.deidentification.phi_deid_001

_valid := {"valid": true, "reason": "", "method": "safe-harbor", "signer": "sha256:00", "dataset_digest": "sha256:11"}

_tampered := {"valid": false, "reason": "manifest signature does not match: the manifest was altered or forged"}

_ctx(resources, deid) := lib.context(object.union(fx.plan(resources), {"deid": deid}))

_deny(resources, deid) := phi_deid_001.findings(_ctx(resources, deid))

_runc := fx.pod("runc", [fx.container(fx.image, [])], [])

# A bare Deployment labelled deidentified, naming `dataset` when it is a string.
_pod(dataset) := fx.resource("kubernetes:apps/v1:Deployment", "xray", {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "xray", "namespace": "imaging"},
	"spec": {"template": {
		"metadata": {"labels": _labels(dataset)},
		"spec": _runc,
	}},
})

_labels(dataset) := {"app": "xray", "phistack.io/data-classification": "deidentified", "phistack.io/dataset": dataset} if is_string(dataset)

else := {"app": "xray", "phistack.io/data-classification": "deidentified"}

_attested(dataset) := fx.attested("xray", {
	"namespace": "imaging",
	"image": fx.image,
	"data_classification": "deidentified",
	"dataset": dataset,
	"runtime_class": "runc",
})

_pod_urn := fx.urn("kubernetes:apps/v1:Deployment", "xray")

_component_urn := fx.urn("phistack:workload:AttestedWorkload", "xray")

_msg(text) := concat("", ["PHI-DEID-001: workload xray is classified deidentified ", text])

test_allowed_with_a_verified_manifest if {
	_deny([_pod("chest")], {"chest": _valid}) == set()
	_deny([_attested("chest")], {"chest": _valid}) == set()
}

test_verified_dataset_keeps_the_workload_out_of_phi_scope if {
	c := _ctx([_pod("chest")], {"chest": _valid})
	not c.handles_phi
	c.phi_workloads == []
}

test_allowed_non_deidentified_workloads_need_no_dataset if {
	_deny([fx.phi_deployment, fx.deployment("sim", "none", _runc)], {}) == set()
}

test_denied_no_dataset if {
	_deny([_pod(null)], {}) == {{"id": "PHI-DEID-001", "urn": _pod_urn, "msg": _msg("but names no dataset: without a verified de-identification manifest its data is treated as PHI")}}
}

test_denied_component_without_dataset if {
	_deny([_attested(null)], {"chest": _valid}) == {{"id": "PHI-DEID-001", "urn": _component_urn, "msg": _msg("but names no dataset: without a verified de-identification manifest its data is treated as PHI")}}
}

test_denied_dataset_without_manifest_result if {
	_deny([_pod("chest")], {"other": _valid}) == {{"id": "PHI-DEID-001", "urn": _pod_urn, "msg": _msg("and names dataset chest, which has no verified de-identification manifest: list it under phistack:datasets with its signed manifest")}}
}

test_denied_invalid_manifest_with_the_reason if {
	_deny([_pod("chest")], {"chest": _tampered}) == {{"id": "PHI-DEID-001", "urn": _pod_urn, "msg": _msg("and names dataset chest, whose de-identification manifest is not valid: manifest signature does not match: the manifest was altered or forged")}}
}

# A result that is not exactly valid: true does not count (fail closed).
test_denied_result_not_literally_true if {
	count(_deny([_pod("chest")], {"chest": {"valid": "true"}})) == 1
}

# An unverified deidentified workload is PHI for every other rule.
test_unverified_deidentified_workload_is_phi if {
	c := _ctx([_pod("chest")], {"chest": _tampered})
	c.handles_phi
	[r.urn | some r in c.phi_workloads] == [_pod_urn]
	lib.scope(c).classifications == ["deidentified", "phi"]
}

test_unverified_component_makes_its_pod_phi if {
	pod := fx.child(_pod("chest"), _attested(null))
	c := _ctx([_attested(null), pod], {"chest": _valid})
	[r.urn | some r in c.phi_workloads] == [pod.urn]
	_deny([_attested(null), pod], {"chest": _valid}) == {{"id": "PHI-DEID-001", "urn": _component_urn, "msg": _msg("but names no dataset: without a verified de-identification manifest its data is treated as PHI")}}
}

# A pod that inherits deidentified from its namespace needs a dataset as well.
test_denied_namespace_inherited if {
	unlabelled := fx.resource("kubernetes:apps/v1:Deployment", "xray", {
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {"name": "xray", "namespace": "imaging"},
		"spec": {"template": {"metadata": {"labels": {"app": "xray"}}, "spec": _runc}},
	})
	resources := [fx.namespace("imaging", "deidentified"), unlabelled]
	count(_deny(resources, {})) == 1
	_ctx(resources, {}).handles_phi
}

# No input.deid at all (a caller that verified nothing): nothing counts as de-identified.
test_missing_deid_input_denies_and_makes_phi if {
	doc := fx.plan([_pod("chest")])
	c := lib.context({"plan": doc.plan, "now": doc.now, "today": doc.today})
	count(phi_deid_001.findings(c)) == 1
	c.handles_phi
}

# A dataset label the plan cannot know yet is not a dataset.
test_missing_unknown_dataset_name_denies if {
	_deny([_pod(fx.unknown)], {"chest": _valid}) == {{"id": "PHI-DEID-001", "urn": _pod_urn, "msg": _msg("but names no dataset: without a verified de-identification manifest its data is treated as PHI")}}
}

# EncryptedStorage classified deidentified, naming `dataset` when it is a string.
_storage(dataset) := fx.component("phistack:storage:EncryptedStorage", "scans", object.union(
	{"storage_class_name": "scans", "csi_driver": "gcp-pd", "data_classification": "deidentified", "encrypted": true},
	_dataset_prop(dataset),
))

_dataset_prop(dataset) := {"dataset": dataset} if is_string(dataset)

else := {}

_storage_urn := fx.urn("phistack:storage:EncryptedStorage", "scans")

test_allowed_storage_with_a_verified_manifest if {
	_deny([_storage("chest")], {"chest": _valid}) == set()
	not _ctx([_storage("chest")], {"chest": _valid}).handles_phi
}

# Relabelling the storage that holds PHI must not take the stack out of HIPAA scope.
test_denied_storage_without_dataset_is_phi if {
	_deny([_storage(null)], {"chest": _valid}) == {{"id": "PHI-DEID-001", "urn": _storage_urn, "msg": "PHI-DEID-001: storage scans is classified deidentified but names no dataset: without a verified de-identification manifest its data is treated as PHI"}}
	c := _ctx([_storage(null)], {"chest": _valid})
	c.handles_phi
	lib.scope(c).classifications == ["deidentified", "phi"]
}

test_denied_storage_with_an_invalid_manifest if {
	_deny([_storage("chest")], {"chest": _tampered}) == {{"id": "PHI-DEID-001", "urn": _storage_urn, "msg": "PHI-DEID-001: storage scans is classified deidentified and names dataset chest, whose de-identification manifest is not valid: manifest signature does not match: the manifest was altered or forged"}}
	_ctx([_storage("chest")], {"chest": _tampered}).handles_phi
}
