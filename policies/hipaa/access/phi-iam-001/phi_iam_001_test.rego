package phistack.rules.access.phi_iam_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.access.phi_iam_001

_deny(resources) := phi_iam_001.findings(fx.ctx(resources))

_role(rules) := fx.resource("kubernetes:rbac.authorization.k8s.io/v1:Role", "analyst", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "analyst", "namespace": "clinical"}, "rules": rules})

_urn := fx.urn("kubernetes:rbac.authorization.k8s.io/v1:Role", "analyst")

test_allowed_named_grants if {
	_deny([fx.phi_deployment, _role([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}])]) == set()
}

test_allowed_no_rules if {
	_deny([fx.phi_deployment, fx.resource("kubernetes:rbac.authorization.k8s.io/v1:Role", "analyst", {"kind": "Role", "metadata": {"name": "analyst"}})]) == set()
}

test_denied_wildcards if {
	_deny([fx.phi_deployment, _role([{"apiGroups": ["*"], "resources": ["pods"], "verbs": ["*"]}])]) == {{"id": "PHI-IAM-001", "urn": _urn, "msg": "PHI-IAM-001: Role analyst grants a wildcard in apiGroups, verbs"}}
}

test_missing_verbs_is_no_grant if {
	_deny([fx.phi_deployment, _role([{"apiGroups": [""], "resources": ["*"]}])]) == {{"id": "PHI-IAM-001", "urn": _urn, "msg": "PHI-IAM-001: Role analyst grants a wildcard in resources"}}
}

test_unknown_rules if {
	_deny([fx.phi_deployment, _role(fx.unknown)]) == {{"id": "PHI-IAM-001", "urn": _urn, "msg": "PHI-IAM-001: the role rules is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["rules"]}}
}

# An unknown rule, grant list or item may be a wildcard: each fails closed with its path.
test_unknown_rule_entries if {
	rules := [
		fx.unknown,
		{"apiGroups": [""], "resources": ["pods"], "verbs": fx.unknown},
		{"apiGroups": [""], "resources": ["pods", fx.unknown], "verbs": ["get"]},
	]
	_deny([fx.phi_deployment, _role(rules)]) == {{"id": "PHI-IAM-001", "urn": _urn, "msg": "PHI-IAM-001: the role rules is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["rules[0]", "rules[1].verbs", "rules[2].resources[1]"]}}
}

test_denied_wildcard_beside_a_malformed_rule if {
	_deny([fx.phi_deployment, _role(["get pods", {"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}])]) == {{"id": "PHI-IAM-001", "urn": _urn, "msg": "PHI-IAM-001: Role analyst grants a wildcard in resources"}}
}
