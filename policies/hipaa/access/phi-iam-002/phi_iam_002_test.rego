package phistack.rules.phi_iam_002_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.phi_iam_002

_deny(resources) := phi_iam_002.findings(fx.ctx(resources))

_binding(role, subjects) := fx.resource("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "admins", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "admins"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}, "subjects": subjects})

_urn := fx.urn("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "admins")

test_allowed_viewer_for_people if {
	_deny([fx.phi_deployment, _binding("view", [{"kind": "Group", "name": "clinicians"}])]) == set()
}

test_allowed_admin_for_controller if {
	_deny([fx.phi_deployment, _binding("cluster-admin", [{"kind": "ServiceAccount", "name": "operator", "namespace": "kube-system"}])]) == set()
}

test_denied_people_admins if {
	_deny([fx.phi_deployment, _binding("cluster-admin", [{"kind": "User", "name": "alice@example-hospital.org"}, {"kind": "Group", "name": "oncall"}])]) == {{"id": "PHI-IAM-002", "urn": _urn, "msg": "PHI-IAM-002: ClusterRoleBinding admins gives cluster-admin to Group oncall, User alice@example-hospital.org"}}
}

test_missing_subjects if {
	_deny([fx.phi_deployment, fx.resource("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "admins", {"kind": "ClusterRoleBinding", "metadata": {"name": "admins"}, "roleRef": {"name": "cluster-admin"}})]) == set()
}

test_unknown_subjects if {
	_deny([fx.phi_deployment, _binding("cluster-admin", fx.unknown)]) == {{"id": "PHI-IAM-002", "urn": _urn, "msg": "PHI-IAM-002: the subjects of a cluster-admin binding is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["subjects"]}}
}
