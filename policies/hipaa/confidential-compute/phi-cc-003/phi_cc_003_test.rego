package phistack.rules.confidential_compute.phi_cc_003_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.confidential_compute.phi_cc_003

_deny(resources) := phi_cc_003.findings(fx.ctx(resources))

_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

_with_env(env) := fx.deployment("nlp", "phi", fx.pod("kata-qemu-nvidia-gpu-snp", [fx.container(fx.image, env)], []))

_denied := {{"id": "PHI-CC-003", "urn": _urn, "msg": "PHI-CC-003: PHI workload nlp does not gate its data key on attestation: no container's effective environment sets PHISTACK_KEY_BROKER_URL to an https URL together with a non-empty PHISTACK_ATTESTATION_POLICY"}}

test_allowed_broker_and_policy if {
	_deny([fx.phi_deployment]) == set()
}

test_allowed_non_phi_without_broker if {
	_deny([fx.deployment("sim", "none", fx.pod("runc", [fx.container(fx.image, [])], []))]) == set()
}

test_denied_plain_http_broker if {
	_deny([_with_env([{"name": "PHISTACK_KEY_BROKER_URL", "value": "http://kbs:8080"}, {"name": "PHISTACK_ATTESTATION_POLICY", "value": "p"}])]) == _denied
}

test_missing_attestation_policy if {
	_deny([_with_env([{"name": "PHISTACK_KEY_BROKER_URL", "value": "https://kbs"}])]) == _denied
}

test_missing_env if {
	_deny([_with_env([])]) == _denied
}

test_unknown_broker_url if {
	_deny([_with_env([{"name": "PHISTACK_KEY_BROKER_URL", "value": fx.unknown}, {"name": "PHISTACK_ATTESTATION_POLICY", "value": "p"}])]) == {{"id": "PHI-CC-003", "urn": _urn, "msg": "PHI-CC-003: the key broker or attestation policy is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.template.spec.containers[0].env[0].value"]}}
}

# Kubernetes uses the last of duplicate env entries: an http broker after the https one is what runs.
test_denied_duplicate_http_broker_after_https if {
	_deny([_with_env(array.concat(fx.env, [{"name": "PHISTACK_KEY_BROKER_URL", "value": "http://kbs.example-hospital.org"}]))]) == _denied
}

test_denied_duplicate_empty_attestation_policy if {
	_deny([_with_env(array.concat(fx.env, [{"name": "PHISTACK_ATTESTATION_POLICY", "value": ""}]))]) == _denied
}

test_denied_duplicate_policy_without_value if {
	_deny([_with_env(array.concat(fx.env, [{"name": "PHISTACK_ATTESTATION_POLICY"}]))]) == _denied
}

test_allowed_https_broker_after_http if {
	env := array.concat([{"name": "PHISTACK_KEY_BROKER_URL", "value": "http://old"}], fx.env)
	_deny([_with_env(env)]) == set()
}

test_denied_https_scheme_without_host if {
	_deny([_with_env([{"name": "PHISTACK_KEY_BROKER_URL", "value": "https://"}, {"name": "PHISTACK_ATTESTATION_POLICY", "value": "p"}])]) == _denied
}

_config_map(name, data) := fx.resource("kubernetes:core/v1:ConfigMap", name, {
	"apiVersion": "v1",
	"kind": "ConfigMap",
	"metadata": {"name": name, "namespace": "clinical"},
	"data": data,
})

_with_container(c) := fx.deployment("nlp", "phi", fx.pod("kata-qemu-nvidia-gpu-snp", [c], []))

_policy_env := [{"name": "PHISTACK_ATTESTATION_POLICY", "value": "p"}]

test_allowed_broker_from_config_map_key if {
	env := array.concat([{"name": "PHISTACK_KEY_BROKER_URL", "valueFrom": {"configMapKeyRef": {"name": "kbs", "key": "url"}}}], _policy_env)
	_deny([_with_env(env), _config_map("kbs", {"url": "https://kbs.example-hospital.org"})]) == set()
}

test_denied_broker_from_config_map_key_http if {
	env := array.concat([{"name": "PHISTACK_KEY_BROKER_URL", "valueFrom": {"configMapKeyRef": {"name": "kbs", "key": "url"}}}], _policy_env)
	_deny([_with_env(env), _config_map("kbs", {"url": "http://kbs.example-hospital.org"})]) == _denied
}

test_unknown_broker_from_config_map_outside_plan if {
	env := array.concat([{"name": "PHISTACK_KEY_BROKER_URL", "valueFrom": {"configMapKeyRef": {"name": "kbs", "key": "url"}}}], _policy_env)
	{f.unknown | some f in _deny([_with_env(env)])} == {["spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef"]}
}

test_unknown_broker_from_secret if {
	env := array.concat([{"name": "PHISTACK_KEY_BROKER_URL", "valueFrom": {"secretKeyRef": {"name": "kbs", "key": "url"}}}], _policy_env)
	{f.unknown | some f in _deny([_with_env(env)])} == {["spec.template.spec.containers[0].env[0].valueFrom"]}
}

test_denied_env_from_config_map_overrides_nothing_but_says_http if {
	c := object.union(fx.container(fx.image, _policy_env), {"envFrom": [{"configMapRef": {"name": "kbs"}}]})
	_deny([_with_container(c), _config_map("kbs", {"PHISTACK_KEY_BROKER_URL": "http://kbs"})]) == _denied
}

test_allowed_env_overrides_env_from if {
	c := object.union(fx.container(fx.image, fx.env), {"envFrom": [{"configMapRef": {"name": "kbs"}}]})
	_deny([_with_container(c), _config_map("kbs", {"PHISTACK_KEY_BROKER_URL": "http://kbs"})]) == set()
}

test_denied_env_from_prefix if {
	c := object.union(fx.container(fx.image, _policy_env), {"envFrom": [{"configMapRef": {"name": "kbs"}, "prefix": "PHISTACK_"}]})
	_deny([_with_container(c), _config_map("kbs", {"KEY_BROKER_URL": "http://kbs"})]) == _denied
}

test_unknown_env_from_config_map_outside_plan if {
	c := object.union(fx.container(fx.image, _policy_env), {"envFrom": [{"configMapRef": {"name": "elsewhere"}}]})
	{f.unknown | some f in _deny([_with_container(c)])} == {["spec.template.spec.containers[0].envFrom[0].configMapRef"]}
}

test_unknown_env_from_secret_after_broker if {
	c := object.union(fx.container(fx.image, fx.env), {"envFrom": [{"secretRef": {"name": "creds"}}]})

	# env entries win over envFrom, so a Secret source cannot override the literal broker URL.
	_deny([_with_container(c)]) == set()
}

test_unknown_env_entry_name if {
	env := array.concat(fx.env, [{"name": fx.unknown, "value": "http://kbs"}])
	{f.unknown | some f in _deny([_with_env(env)])} == {["spec.template.spec.containers[0].env[5].name"]}
}

# ConfigMaps are found by type, namespace and name through the context's name index: a ConfigMap of the
# same name in another namespace, a Secret of that name, or two ConfigMaps of that name (which one would
# the API server keep?) resolve nothing, and the value stays unknown.
_broker_from_kbs := array.concat([{"name": "PHISTACK_KEY_BROKER_URL", "valueFrom": {"configMapKeyRef": {"name": "kbs", "key": "url"}}}], _policy_env)

_kbs_unknown := {["spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef"]}

test_unknown_broker_from_config_map_in_another_namespace if {
	elsewhere := fx.resource("kubernetes:core/v1:ConfigMap", "kbs", {"metadata": {"name": "kbs", "namespace": "research"}, "data": {"url": "https://kbs.example-hospital.org"}})
	{f.unknown | some f in _deny([_with_env(_broker_from_kbs), elsewhere])} == _kbs_unknown
}

test_unknown_broker_from_a_secret_named_like_the_config_map if {
	secret := fx.resource("kubernetes:core/v1:Secret", "kbs", {"metadata": {"name": "kbs", "namespace": "clinical"}, "stringData": {"url": "https://kbs.example-hospital.org"}})
	{f.unknown | some f in _deny([_with_env(_broker_from_kbs), secret])} == _kbs_unknown
}

test_unknown_broker_from_a_config_map_declared_twice if {
	first := _config_map("kbs", {"url": "https://kbs.example-hospital.org"})
	second := object.union(_config_map("kbs", {"url": "http://kbs.example-hospital.org"}), {"urn": fx.urn("kubernetes:core/v1:ConfigMap", "kbs-2"), "name": "kbs-2"})
	{f.unknown | some f in _deny([_with_env(_broker_from_kbs), first, second])} == _kbs_unknown
}

test_broker_from_config_map_named_by_its_resource_name if {
	unnamed := fx.resource("kubernetes:core/v1:ConfigMap", "kbs", {"metadata": {"namespace": "clinical"}, "data": {"url": "http://kbs.example-hospital.org"}})
	_deny([_with_env(_broker_from_kbs), unnamed]) == _denied
}
