package phistack.rules.access.phi_iam_002_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.access.phi_iam_002

_deny(resources) := phi_iam_002.findings(fx.ctx(resources))

_crb_type := "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"

_rb_type := "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"

_binding(role, subjects) := _cluster_binding("ClusterRole", role, subjects)

_cluster_binding(kind, role, subjects) := fx.resource(_crb_type, "admins", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "admins"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role}, "subjects": subjects})

_role_binding(ns, kind, role, subjects) := fx.resource(_rb_type, "grant", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "grant", "namespace": ns}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role}, "subjects": subjects})

_role(name, rules) := fx.resource("kubernetes:rbac.authorization.k8s.io/v1:Role", name, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name, "namespace": "clinical"}, "rules": rules})

_cluster_role(name, labels, rules) := fx.resource("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", name, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name, "labels": labels}, "rules": rules})

_group := {"kind": "Group", "name": "oncall"}

_urn := fx.urn(_crb_type, "admins")

_rb_urn := fx.urn(_rb_type, "grant")

_read_only := [{"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list", "watch"]}]

_phi := [fx.phi_namespace, fx.phi_deployment]

_found(urn, msg) := {{"id": "PHI-IAM-002", "urn": urn, "msg": concat("", ["PHI-IAM-002: ", msg])}}

_test_unknown(urn, paths) := {{"id": "PHI-IAM-002", "urn": urn, "msg": "PHI-IAM-002: the role or subjects of a binding in PHI scope is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": paths}}

# --- allowed ---

test_allowed_viewer_for_people if {
	_deny([fx.phi_deployment, _binding("view", [{"kind": "Group", "name": "clinicians"}])]) == set()
}

test_allowed_scoped_role_for_people if {
	_deny(array.concat(_phi, [_role("phistack-operator", _read_only), _role_binding("clinical", "Role", "phistack-operator", [_group])])) == set()
}

# The log forwarder's grant: a read-only ClusterRole of the plan bound to its ServiceAccount.
test_allowed_read_only_cluster_role_for_service_account if {
	forwarder := {"kind": "ServiceAccount", "name": "log-forwarder", "namespace": "phistack-logging"}
	_deny(array.concat(_phi, [_cluster_role("phistack-log-forwarder", {}, _read_only), _binding("phistack-log-forwarder", [forwarder])])) == set()
}

test_allowed_admin_outside_phi_namespaces if {
	_deny(array.concat(_phi, [fx.namespace("research", "none"), _role_binding("research", "ClusterRole", "admin", [_group])])) == set()
}

test_allowed_admin_in_a_stack_without_phi if {
	_deny([fx.deployment("sim", "none", fx.cc_pod), _binding("cluster-admin", [{"kind": "User", "name": "alice@example-hospital.org"}])]) == set()
}

# --- denied: built-in roles ---

test_denied_people_admins if {
	_deny([fx.phi_deployment, _binding("cluster-admin", [{"kind": "User", "name": "alice@example-hospital.org"}, {"kind": "Group", "name": "oncall"}])]) == _found(_urn, "ClusterRoleBinding admins gives ClusterRole cluster-admin to Group oncall, User alice@example-hospital.org: that built-in role can read Secrets and escalate privileges")
}

# Whoever holds a ServiceAccount's token holds its roles: cluster-admin for a controller is a
# standing grant over every Secret of the PHI namespaces (this test allowed it before PHI-IAM-002
# failed closed).
test_denied_admin_for_service_account if {
	_deny([fx.phi_deployment, _binding("cluster-admin", [{"kind": "ServiceAccount", "name": "operator", "namespace": "kube-system"}])]) == _found(_urn, "ClusterRoleBinding admins gives ClusterRole cluster-admin to ServiceAccount kube-system/operator: that built-in role can read Secrets and escalate privileges")
}

test_denied_admin_to_a_group if {
	_deny([fx.phi_deployment, _binding("admin", [{"kind": "Group", "name": "research-staff"}])]) == _found(_urn, "ClusterRoleBinding admins gives ClusterRole admin to Group research-staff: that built-in role can read Secrets and escalate privileges")
}

test_denied_edit_in_the_phi_namespace if {
	_deny(array.concat(_phi, [_role_binding("clinical", "ClusterRole", "edit", [{"kind": "User", "name": "contractor@example.net"}])])) == _found(_rb_urn, "RoleBinding grant gives ClusterRole edit to User contractor@example.net: that built-in role can read Secrets and escalate privileges")
}

# The namespace a PHI workload runs in is a PHI namespace, labelled or not.
test_denied_admin_where_a_phi_workload_runs if {
	_deny([fx.phi_deployment, _role_binding("clinical", "ClusterRole", "admin", [_group])]) == _found(_rb_urn, "RoleBinding grant gives ClusterRole admin to Group oncall: that built-in role can read Secrets and escalate privileges")
}

test_denied_system_role if {
	_deny([fx.phi_deployment, _binding("system:controller:clusterrole-aggregation-controller", [_group])]) == _found(_urn, "ClusterRoleBinding admins gives ClusterRole system:controller:clusterrole-aggregation-controller to Group oncall: built-in system: roles serve cluster components, and several read Secrets or escalate privileges")
}

test_denied_every_client if {
	_deny([fx.phi_deployment, _binding("view", [{"kind": "Group", "name": "system:authenticated"}, {"kind": "User", "name": "system:anonymous"}])]) == _found(_urn, "ClusterRoleBinding admins binds ClusterRole view to Group system:authenticated, User system:anonymous: every client that can reach the API server gets it in PHI scope")
}

# --- denied: roles of the plan ---

test_denied_role_reading_secrets if {
	rules := [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]
	_deny(array.concat(_phi, [_role("reader", rules), _role_binding("clinical", "Role", "reader", [_group])])) == _found(_rb_urn, "RoleBinding grant gives Role reader to Group oncall: it grants read access to Secrets")
}

test_denied_cluster_role_escalating if {
	rules := [
		{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["escalate", "bind"]},
		{"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]},
		{"apiGroups": ["apps"], "resources": ["*"], "verbs": ["*"]},
	]
	_deny([fx.phi_deployment, _cluster_role("escalator", {}, rules), _binding("escalator", [_group])]) == _found(_urn, "ClusterRoleBinding admins gives ClusterRole escalator to Group oncall: it grants every resource (*), every verb (*), the bind verb, the escalate verb, the impersonate verb")
}

test_denied_exec_proxy_and_tokens if {
	rules := [
		{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
		{"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
		{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
	]
	_deny([fx.phi_deployment, _cluster_role("debugger", {}, rules), _binding("debugger", [_group])]) == _found(_urn, "ClusterRoleBinding admins gives ClusterRole debugger to Group oncall: it grants ServiceAccount token creation, exec or attach into pods, the kubelet API (nodes/proxy)")
}

test_denied_role_not_in_the_plan if {
	_deny(array.concat(_phi, [_role_binding("clinical", "Role", "ghost", [_group])])) == _found(_rb_urn, "RoleBinding grant gives Role ghost to Group oncall: it is neither built-in nor created by this plan in namespace clinical, so what it grants cannot be verified")
}

# A Role of the same name in another namespace is not the one the binding names.
test_denied_role_of_another_namespace if {
	elsewhere := fx.resource("kubernetes:rbac.authorization.k8s.io/v1:Role", "reader", {"kind": "Role", "metadata": {"name": "reader", "namespace": "research"}, "rules": _read_only})
	_deny(array.concat(_phi, [elsewhere, _role_binding("clinical", "Role", "reader", [_group])])) == _found(_rb_urn, "RoleBinding grant gives Role reader to Group oncall: it is neither built-in nor created by this plan in namespace clinical, so what it grants cannot be verified")
}

test_denied_cluster_role_not_in_the_plan if {
	_deny([fx.phi_deployment, _binding("platform-admin", [_group])]) == _found(_urn, "ClusterRoleBinding admins gives ClusterRole platform-admin to Group oncall: it is neither built-in nor created by this plan, so what it grants cannot be verified")
}

test_denied_aggregated_cluster_role if {
	aggregated := fx.resource("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "monitoring", {"kind": "ClusterRole", "metadata": {"name": "monitoring"}, "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}]}, "rules": []})
	_deny([fx.phi_deployment, aggregated, _binding("monitoring", [_group])]) == _found(_urn, "ClusterRoleBinding admins gives ClusterRole monitoring to Group oncall: it grants unverifiable rules (an aggregationRule gathers them from other ClusterRoles)")
}

# A ClusterRole labelled aggregate-to-view adds its rules to the built-in view role.
test_denied_view_widened_by_aggregation if {
	secrets := _cluster_role("secret-peek", {"rbac.authorization.k8s.io/aggregate-to-view": "true"}, [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}])
	_deny([fx.phi_deployment, secrets, _binding("view", [_group])]) == _found(_urn, "ClusterRoleBinding admins gives ClusterRole view to Group oncall: ClusterRole secret-peek of the plan aggregates into it and grants read access to Secrets")
}

test_denied_cluster_binding_to_a_role if {
	_deny(array.concat(_phi, [_role("phistack-operator", _read_only), _cluster_binding("Role", "phistack-operator", [_group])])) == _found(_urn, "ClusterRoleBinding admins gives Role phistack-operator to Group oncall: a ClusterRoleBinding cannot reference a Role, so what it grants cannot be verified")
}

test_denied_role_with_unknown_rules if {
	_deny(array.concat(_phi, [_role("reader", fx.unknown), _role_binding("clinical", "Role", "reader", [_group])])) == _found(_rb_urn, "RoleBinding grant gives Role reader to Group oncall: it grants unverifiable rules (unknown at plan time)")
}

test_denied_role_with_unknown_verbs if {
	_deny(array.concat(_phi, [_role("reader", [{"resources": ["secrets"], "verbs": fx.unknown}]), _role_binding("clinical", "Role", "reader", [_group])])) == _found(_rb_urn, "RoleBinding grant gives Role reader to Group oncall: it grants an unverifiable rule (verbs or resources unknown or not a list)")
}

# --- missing ---

test_missing_subjects if {
	_deny([fx.phi_deployment, fx.resource(_crb_type, "admins", {"kind": "ClusterRoleBinding", "metadata": {"name": "admins"}, "roleRef": {"name": "cluster-admin"}})]) == set()
}

test_missing_role_ref if {
	_deny(array.concat(_phi, [fx.resource(_rb_type, "grant", {"kind": "RoleBinding", "metadata": {"name": "grant", "namespace": "clinical"}, "subjects": [_group]})])) == _found(_rb_urn, "RoleBinding grant gives a role it does not name to Group oncall: its roleRef names no Role or ClusterRole, so what it grants cannot be verified")
}

# --- unknown values ---

test_unknown_subjects if {
	_deny([fx.phi_deployment, _binding("cluster-admin", fx.unknown)]) == _test_unknown(_urn, ["subjects"])
}

# Who holds even a scoped role must be known: it could be every client.
test_unknown_subjects_of_a_scoped_role if {
	_deny(array.concat(_phi, [_role("phistack-operator", _read_only), _role_binding("clinical", "Role", "phistack-operator", fx.unknown)])) == _test_unknown(_rb_urn, ["subjects"])
}

test_unknown_subject_name if {
	_deny([fx.phi_deployment, _binding("view", [{"kind": "Group", "name": fx.unknown}])]) == _test_unknown(_urn, ["subjects[0].name"])
}

test_unknown_role_ref_name if {
	binding := fx.resource(_rb_type, "grant", {"kind": "RoleBinding", "metadata": {"name": "grant", "namespace": "clinical"}, "roleRef": {"kind": "Role", "name": fx.unknown}, "subjects": [_group]})
	_deny(array.concat(_phi, [binding])) == _test_unknown(_rb_urn, ["roleRef.name"])
}

test_unknown_role_ref_kind_for_a_service_account if {
	binding := fx.resource(_crb_type, "admins", {"kind": "ClusterRoleBinding", "metadata": {"name": "admins"}, "roleRef": {"kind": fx.unknown, "name": "view"}, "subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "kube-system"}]})
	_deny([fx.phi_deployment, binding]) == _test_unknown(_urn, ["roleRef.kind"])
}

test_unknown_binding_namespace if {
	binding := fx.resource(_rb_type, "grant", {"kind": "RoleBinding", "metadata": {"name": "grant", "namespace": fx.unknown}, "roleRef": {"kind": "ClusterRole", "name": "admin"}, "subjects": [_group]})
	_deny(array.concat(_phi, [binding])) == {{"id": "PHI-IAM-002", "urn": _rb_urn, "msg": "PHI-IAM-002: the namespace, role or subjects of a binding in PHI scope is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["metadata.namespace"]}}
}

test_allowed_unknown_binding_namespace_of_a_safe_grant if {
	binding := fx.resource(_rb_type, "grant", {"kind": "RoleBinding", "metadata": {"name": "grant", "namespace": fx.unknown}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [_group]})
	_deny(array.concat(_phi, [binding])) == set()
}

test_denied_malformed_subject if {
	_deny([fx.phi_deployment, _binding("cluster-admin", ["alice"])]) == _found(_urn, "ClusterRoleBinding admins gives ClusterRole cluster-admin to subjects[0] (not a subject object): that built-in role can read Secrets and escalate privileges")
}

# Bindings of the same shape are judged once per namespace: the Role they name exists in one only.
test_denied_same_binding_where_the_role_is_missing if {
	other := fx.resource(_rb_type, "grant-2", {"kind": "RoleBinding", "metadata": {"name": "grant", "namespace": "oncology"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "phistack-operator"}, "subjects": [_group]})
	resources := array.concat(_phi, [fx.namespace("oncology", "phi"), _role("phistack-operator", _read_only), _role_binding("clinical", "Role", "phistack-operator", [_group]), other])
	_deny(resources) == _found(fx.urn(_rb_type, "grant-2"), "RoleBinding grant gives Role phistack-operator to Group oncall: it is neither built-in nor created by this plan in namespace oncology, so what it grants cannot be verified")
}
