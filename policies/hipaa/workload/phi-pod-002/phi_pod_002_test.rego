package phistack.rules.workload.phi_pod_002_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.workload.phi_pod_002

_deny(resources) := phi_pod_002.findings(fx.ctx(resources))

_enforce := "pod-security.kubernetes.io/enforce"

_version := "pod-security.kubernetes.io/enforce-version"

_ns_type := "kubernetes:core/v1:Namespace"

# A Namespace resource (logical name `id`) named `name` with exactly these labels.
_ns_as(id, name, labels) := fx.resource(_ns_type, id, {
	"apiVersion": "v1",
	"kind": "Namespace",
	"metadata": {"name": name, "labels": labels},
})

_ns(name, labels) := _ns_as(name, name, labels)

_restricted(class) := {"phistack.io/data-classification": class, _enforce: "restricted", _version: "latest"}

_labels(class, enforce, version) := {"phistack.io/data-classification": class, _enforce: enforce, _version: version}

_clinical(labels) := _ns("clinical", labels)

_cluster(namespaces) := fx.component("phistack:cluster:ConfidentialGpuCluster", "gpu", {"namespaces": namespaces})

_ns_urn(name) := fx.urn(_ns_type, name)

_w_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

_not_restricted(name, problems) := {"id": "PHI-POD-002", "urn": _ns_urn(name), "msg": concat("", [
	"PHI-POD-002: Namespace ", name,
	" holds PHI or genetic data but does not enforce the restricted Pod Security Standard: ",
	concat("; ", problems),
])}

_enforce_problem := "label pod-security.kubernetes.io/enforce must be restricted"

_version_problem := "label pod-security.kubernetes.io/enforce-version must be latest or v1.25 or later"

_fails_closed(urn, what, paths) := {
	"id": "PHI-POD-002",
	"urn": urn,
	"msg": concat("", ["PHI-POD-002: ", what, " is unknown at plan time; the control cannot be verified, so it fails closed"]),
	"unknown": paths,
}

# --- allowed ---

test_allowed_restricted_phi_namespace if {
	_deny([fx.phi_deployment, _clinical(_restricted("phi"))]) == set()
}

test_allowed_version_unset_or_recent if {
	_deny([fx.phi_deployment, _clinical({"phistack.io/data-classification": "phi", _enforce: "restricted"})]) == set()
	_deny([fx.phi_deployment, _clinical(_labels("phi", "restricted", "v1.25"))]) == set()
	_deny([fx.phi_deployment, _clinical(_labels("phi", "restricted", "v1.31"))]) == set()
}

test_allowed_privileged_namespace_without_phi if {
	tools := _ns("tools", {"phistack.io/data-classification": "none", _enforce: "privileged"})
	logging := _ns("phistack-logging", {_enforce: "privileged"})
	_deny([fx.phi_deployment, _clinical(_restricted("phi")), tools, logging]) == set()
}

test_allowed_deidentified_workload_in_baseline_namespace if {
	w := fx.deployment("sim", "deidentified", fx.cc_pod)
	_deny([w, _clinical({"phistack.io/data-classification": "deidentified", _enforce: "baseline"})]) == set()
}

test_allowed_cluster_declared_namespaces_created if {
	cluster := _cluster([{"name": "clinical", "data_classification": "phi"}, {"name": "research", "data_classification": "none"}])
	_deny([cluster, fx.phi_deployment, _clinical(_restricted("phi"))]) == set()
}

# --- denied: the namespace's admission level ---

test_denied_enforce_privileged if {
	_deny([fx.phi_deployment, _clinical(_labels("phi", "privileged", "latest"))]) == {_not_restricted("clinical", [_enforce_problem])}
}

test_denied_enforce_baseline if {
	_deny([fx.phi_deployment, _clinical(_labels("phi", "baseline", "latest"))]) == {_not_restricted("clinical", [_enforce_problem])}
}

test_denied_enforce_wrong_case if {
	_deny([fx.phi_deployment, _clinical(_labels("phi", "Restricted", "latest"))]) == {_not_restricted("clinical", [_enforce_problem])}
}

# warn and audit labels only report; only enforce rejects pods.
test_missing_enforce_label if {
	labels := {"phistack.io/data-classification": "phi", "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted"}
	_deny([fx.phi_deployment, _clinical(labels)]) == {_not_restricted("clinical", [_enforce_problem])}
}

test_missing_labels if {
	ns := fx.resource(_ns_type, "clinical", {"metadata": {"name": "clinical"}})
	cluster := _cluster([{"name": "clinical", "data_classification": "phi"}])
	_deny([cluster, ns]) == {_not_restricted("clinical", [_enforce_problem])}
}

test_denied_enforce_version_too_old if {
	_deny([fx.phi_deployment, _clinical(_labels("phi", "restricted", "v1.22"))]) == {_not_restricted("clinical", [_version_problem])}
}

test_denied_enforce_version_malformed if {
	_deny([fx.phi_deployment, _clinical(_labels("phi", "restricted", "1.30"))]) == {_not_restricted("clinical", [_version_problem])}
	_deny([fx.phi_deployment, _clinical(_labels("phi", "restricted", "v2.0"))]) == {_not_restricted("clinical", [_version_problem])}
}

test_denied_both_labels if {
	_deny([fx.phi_deployment, _clinical(_labels("phi", "baseline", "v1.0"))]) == {_not_restricted("clinical", [_enforce_problem, _version_problem])}
}

# A genetic namespace needs the standard even before a workload runs in it.
test_denied_genetic_namespace_without_workload if {
	_deny([_ns("genomics", _labels("genetic", "privileged", "latest"))]) == {_not_restricted("genomics", [_enforce_problem])}
}

# The namespace says it holds nothing sensitive, but a PHI workload runs there.
test_denied_namespace_of_phi_workload_labelled_none if {
	_deny([fx.phi_deployment, _clinical(_labels("none", "privileged", "latest"))]) == {_not_restricted("clinical", [_enforce_problem])}
}

# The same namespace created twice: whichever applies last wins, so each must be restricted.
test_denied_duplicate_namespace_resource if {
	second := _ns_as("clinical-again", "clinical", _labels("phi", "privileged", "latest"))
	expected := object.union(_not_restricted("clinical", [_enforce_problem]), {"urn": _ns_urn("clinical-again")})
	_deny([fx.phi_deployment, _clinical(_restricted("phi")), second]) == {expected}
}

# A class label outside the four classes counts as phi.
test_denied_unrecognised_class_label if {
	_deny([_ns("lab", _labels("confidential", "privileged", "latest"))]) == {_not_restricted("lab", [_enforce_problem])}
}

# --- denied: namespaces the plan does not create cannot be verified ---

test_denied_workload_in_namespace_not_created if {
	_deny([fx.phi_deployment]) == {{"id": "PHI-POD-002", "urn": _w_urn, "msg": "PHI-POD-002: PHI workload nlp runs in namespace clinical, which the plan does not create, so its Pod Security admission level cannot be verified"}}
}

test_denied_workload_without_namespace_runs_in_default if {
	w := fx.resource("kubernetes:apps/v1:Deployment", "nlp", {
		"metadata": {"name": "nlp"},
		"spec": {"template": {"metadata": {"labels": {"phistack.io/data-classification": "phi"}}, "spec": fx.cc_pod}},
	})
	_deny([w, _clinical(_restricted("phi"))]) == {{"id": "PHI-POD-002", "urn": _w_urn, "msg": "PHI-POD-002: PHI workload nlp runs in namespace default, which the plan does not create, so its Pod Security admission level cannot be verified"}}
}

test_denied_cluster_declares_namespace_not_created if {
	cluster := _cluster([{"name": "clinical", "data_classification": "phi"}, {"name": "genomics", "data_classification": "genetic"}])
	_deny([cluster, _clinical(_restricted("phi"))]) == {{"id": "PHI-POD-002", "urn": cluster.urn, "msg": "PHI-POD-002: ConfidentialGpuCluster gpu declares namespace genomics for PHI or genetic data but the plan creates no Namespace genomics, so its Pod Security admission level cannot be verified"}}
}

# --- unknown values fail closed ---

test_unknown_enforce_label if {
	labels := {"phistack.io/data-classification": "phi", _enforce: fx.unknown}
	_deny([fx.phi_deployment, _clinical(labels)]) == {_fails_closed(_ns_urn("clinical"), "the Pod Security admission labels of a PHI namespace", ["metadata.labels.pod-security.kubernetes.io/enforce"])}
}

test_unknown_labels if {
	ns := fx.resource(_ns_type, "clinical", {"metadata": {"name": "clinical", "labels": fx.unknown}})
	_deny([fx.phi_deployment, ns]) == {_fails_closed(_ns_urn("clinical"), "the Pod Security admission labels of a PHI namespace", ["metadata.labels"])}
}

test_unknown_workload_namespace if {
	w := fx.resource("kubernetes:apps/v1:Deployment", "nlp", {
		"metadata": {"name": "nlp", "namespace": fx.unknown},
		"spec": {"template": {"metadata": {"labels": {"phistack.io/data-classification": "phi"}}, "spec": fx.cc_pod}},
	})
	_deny([w, _clinical(_restricted("phi"))]) == {_fails_closed(_w_urn, "the namespace of a PHI workload", ["metadata.namespace"])}
}

test_unknown_name_of_phi_namespace if {
	ns := fx.resource(_ns_type, "clinical", {"metadata": {"name": fx.unknown, "labels": _labels("phi", "privileged", "latest")}})
	_deny([ns]) == {_fails_closed(_ns_urn("clinical"), "the name of a namespace that may hold PHI", ["metadata.name"])}
}

test_unknown_cluster_namespace_name if {
	cluster := _cluster([{"name": "clinical", "data_classification": "phi"}, {"name": fx.unknown, "data_classification": "phi"}])
	_deny([cluster, _clinical(_restricted("phi"))]) == {_fails_closed(cluster.urn, "the namespaces a cluster declares", ["namespaces[1].name"])}
}

test_unknown_cluster_namespaces if {
	_deny([_cluster(fx.unknown)]) == {_fails_closed(fx.urn("phistack:cluster:ConfidentialGpuCluster", "gpu"), "the namespaces a cluster declares", ["namespaces"])}
}

# --- each workload and namespace is judged on its own ---

test_denied_each_namespace_on_its_own if {
	other := fx.resource("kubernetes:apps/v1:Deployment", "etl", {
		"metadata": {"name": "etl", "namespace": "etl"},
		"spec": {"template": {"metadata": {"labels": {"phistack.io/data-classification": "phi"}}, "spec": fx.cc_pod}},
	})
	resources := [fx.phi_deployment, other, _clinical(_restricted("phi")), _ns("etl", _labels("none", "baseline", "v1.24"))]
	_deny(resources) == {_not_restricted("etl", [_enforce_problem, _version_problem])}
}
