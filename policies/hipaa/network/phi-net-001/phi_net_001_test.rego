package phistack.rules.network.phi_net_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.network.phi_net_001

_deny(resources) := phi_net_001.findings(fx.ctx(resources))

_type := "kubernetes:networking.k8s.io/v1:NetworkPolicy"

_urn(name) := fx.urn(_type, name)

_policy(name, ns, spec) := fx.resource(_type, name, {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": {"name": name, "namespace": ns},
	"spec": spec,
})

# The policies ConfidentialGpuCluster creates for a PHI namespace.
_default_deny := _policy("default-deny", "clinical", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})

_dns_peer := {
	"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
	"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}

_allow_dns := _egress("allow-dns", [_dns_peer])

_allow_key_broker := _egress("allow-key-broker", [{"ipBlock": {"cidr": "10.40.0.10/32"}}])

_allow_gateway := _policy("allow-gateway", "clinical", {
	"podSelector": {},
	"policyTypes": ["Ingress"],
	"ingress": [{
		"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}}],
		"ports": [{"port": 8443, "protocol": "TCP"}],
	}],
})

_egress(name, peers) := _policy(name, "clinical", {
	"podSelector": {},
	"policyTypes": ["Egress"],
	"egress": [{"ports": [{"port": 443, "protocol": "TCP"}], "to": peers}],
})

_ingress(name, peers) := _policy(name, "clinical", {
	"podSelector": {},
	"policyTypes": ["Ingress"],
	"ingress": [{"ports": [{"port": 8443, "protocol": "TCP"}], "from": peers}],
})

_cidr(cidr) := {"ipBlock": {"cidr": cidr}}

_platform := [fx.phi_namespace, fx.phi_deployment, _default_deny, _allow_dns, _allow_key_broker, _allow_gateway]

# The platform plus one more policy.
_with(policy) := array.concat(_platform, [policy])

_broad(name, problems) := {{"id": "PHI-NET-001", "urn": _urn(name), "msg": concat("", [
	"PHI-NET-001: NetworkPolicy ", name, " in PHI namespace clinical allows traffic beyond narrow peers: ",
	concat("; ", problems),
])}}

_missing(urn, ns) := {{"id": "PHI-NET-001", "urn": urn, "msg": concat("", [
	"PHI-NET-001: PHI namespace ", ns,
	" has no default-deny egress NetworkPolicy (podSelector {}, policyTypes including Egress, no egress rules), so its pods may send data anywhere the network reaches",
])}}

_namespace_urn := fx.urn("kubernetes:core/v1:Namespace", "clinical")

_test_unknown(urn, what, paths) := {{"id": "PHI-NET-001", "urn": urn, "msg": concat("", ["PHI-NET-001: ", what, " is unknown at plan time; the control cannot be verified, so it fails closed"]), "unknown": paths}}

# --- allowed ---

test_allowed_platform_policies if {
	_deny(_platform) == set()
}

test_allowed_non_phi_namespace_without_policies if {
	_deny([fx.namespace("research", "none"), fx.deployment("sim", "none", fx.cc_pod)]) == set()
}

test_allowed_deidentified_namespace_with_open_egress if {
	_deny([fx.namespace("clinical", "deidentified"), fx.deployment("sim", "deidentified", fx.cc_pod), _egress("open", [_cidr("0.0.0.0/0")])]) == set()
}

test_allowed_same_namespace_pods if {
	_deny(_with(_egress("peers", [{"podSelector": {}}, {"podSelector": {"matchLabels": {"app": "db"}}}]))) == set()
}

test_allowed_limit_prefixes if {
	_deny(_with(_egress("hosts", [_cidr("10.40.1.0/24"), _cidr("2001:db8:1:2::/64"), _cidr("fd00:10:40::10/128")]))) == set()
}

test_allowed_in_expression_selectors if {
	peer := {
		"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["kube-system"]}]},
		"podSelector": {"matchExpressions": [{"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]},
	}
	_deny(_with(_egress("dns-expr", [peer]))) == set()
}

# Ports and except lists only narrow a peer: unknown there changes nothing.
test_allowed_unknown_ports_and_except if {
	policy := _policy("kbs", "clinical", {
		"podSelector": {},
		"policyTypes": ["Egress"],
		"egress": [{"ports": fx.unknown, "to": [{"ipBlock": {"cidr": "10.40.0.0/24", "except": fx.unknown}}]}],
	})
	_deny(_with(policy)) == set()
}

test_allowed_default_deny_with_empty_lists if {
	deny_all := _policy("default-deny", "clinical", {"podSelector": {"matchLabels": {}}, "policyTypes": ["Egress"], "egress": []})
	_deny([fx.phi_namespace, fx.phi_deployment, deny_all]) == set()
}

# --- denied: broad egress ---

test_denied_egress_to_every_ipv4_address if {
	_deny(_with(_egress("open", [_cidr("0.0.0.0/0")]))) == _broad("open", ["spec.egress[0].to[0].ipBlock.cidr 0.0.0.0/0 covers every IPv4 address (an except list never narrows it enough)"])
}

test_denied_except_leaves_a_broad_block if {
	peer := {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}
	_deny(_with(_egress("open", [peer]))) == _broad("open", ["spec.egress[0].to[0].ipBlock.cidr 0.0.0.0/0 covers every IPv4 address (an except list never narrows it enough)"])
}

test_denied_egress_to_every_ipv6_address if {
	_deny(_with(_egress("open", [_cidr("::/0")]))) == _broad("open", ["spec.egress[0].to[0].ipBlock.cidr ::/0 covers every IPv6 address (an except list never narrows it enough)"])
}

test_denied_whole_private_ranges if {
	_deny(_with(_egress("private", [_cidr("10.0.0.0/8"), _cidr("172.16.0.0/12"), _cidr("192.168.0.0/16"), _cidr("fc00::/7")]))) == _broad("private", [
		"spec.egress[0].to[0].ipBlock.cidr 10.0.0.0/8 covers the private range 10.0.0.0/8 (an except list never narrows it enough)",
		"spec.egress[0].to[1].ipBlock.cidr 172.16.0.0/12 covers the private range 172.16.0.0/12 (an except list never narrows it enough)",
		"spec.egress[0].to[2].ipBlock.cidr 192.168.0.0/16 covers the private range 192.168.0.0/16 (an except list never narrows it enough)",
		"spec.egress[0].to[3].ipBlock.cidr fc00::/7 covers the private range fc00::/7 (an except list never narrows it enough)",
	])
}

test_denied_broader_than_the_limit if {
	_deny(_with(_egress("wide", [_cidr("10.40.0.0/23"), _cidr("2001:db8::/48")]))) == _broad("wide", [
		"spec.egress[0].to[0].ipBlock.cidr 10.40.0.0/23 is broader than /24 (an except list never narrows it enough)",
		"spec.egress[0].to[1].ipBlock.cidr 2001:db8::/48 is broader than /64 (an except list never narrows it enough)",
	])
}

# An IPv6 spelling of IPv4 space is judged as the IPv4 block it maps.
test_denied_ipv4_mapped_blocks if {
	_deny(_with(_egress("mapped", [_cidr("::ffff:0:0/96"), _cidr("::FFFF:a00:0/104"), _cidr("::ffff:0:0/80")]))) == _broad("mapped", [
		"spec.egress[0].to[0].ipBlock.cidr ::ffff:0:0/96 covers every IPv4 address (an except list never narrows it enough)",
		"spec.egress[0].to[1].ipBlock.cidr ::FFFF:a00:0/104 covers the private range 10.0.0.0/8 (an except list never narrows it enough)",
		"spec.egress[0].to[2].ipBlock.cidr ::ffff:0:0/80 covers every IPv4 address (IPv4-mapped) (an except list never narrows it enough)",
	])
}

test_denied_cloud_metadata_address if {
	_deny(_with(_egress("imds", [_cidr("169.254.169.254/32"), _cidr("fe80::1/128")]))) == _broad("imds", [
		"spec.egress[0].to[0].ipBlock.cidr 169.254.169.254/32 reaches link-local addresses (cloud instance metadata)",
		"spec.egress[0].to[1].ipBlock.cidr fe80::1/128 reaches link-local addresses (cloud instance metadata)",
	])
}

test_denied_unparseable_cidrs if {
	peers := [_cidr("10.40.0.10"), _cidr("010.40.0.10/32"), _cidr("10.40.0.10/33"), _cidr("1::2::3/128"), _cidr("::ffff:10.0.0.1/128"), {"ipBlock": {}}]
	_deny(_with(_egress("odd", peers))) == _broad("odd", [
		"spec.egress[0].to[0].ipBlock.cidr 10.40.0.10 is not an IPv4 or IPv6 CIDR the gate can verify",
		"spec.egress[0].to[1].ipBlock.cidr 010.40.0.10/32 is not an IPv4 or IPv6 CIDR the gate can verify",
		"spec.egress[0].to[2].ipBlock.cidr 10.40.0.10/33 is not an IPv4 or IPv6 CIDR the gate can verify",
		"spec.egress[0].to[3].ipBlock.cidr 1::2::3/128 is not an IPv4 or IPv6 CIDR the gate can verify",
		"spec.egress[0].to[4].ipBlock.cidr ::ffff:10.0.0.1/128 is not an IPv4 or IPv6 CIDR the gate can verify",
		"spec.egress[0].to[5].ipBlock.cidr (none) is not an IPv4 or IPv6 CIDR the gate can verify",
	])
}

test_denied_rule_without_peers if {
	no_to := _policy("any", "clinical", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 443}]}, {"to": []}]})
	_deny(_with(no_to)) == _broad("any", [
		"spec.egress[0] lists no peers in to, so it allows every address",
		"spec.egress[1] lists no peers in to, so it allows every address",
	])
}

test_denied_empty_peer if {
	_deny(_with(_egress("any", [{}]))) == _broad("any", ["spec.egress[0].to[0] is an empty peer, which matches every address"])
}

test_denied_every_namespace if {
	peer := {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "db"}}}
	_deny(_with(_egress("all-ns", [peer]))) == _broad("all-ns", ["spec.egress[0].to[0].namespaceSelector is empty, so it selects every namespace"])
}

test_denied_namespaces_by_exclusion if {
	peer := {
		"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["nothing"]}]},
		"podSelector": {"matchLabels": {"app": "db"}},
	}
	_deny(_with(_egress("not-in", [peer]))) == _broad("not-in", ["spec.egress[0].to[0].namespaceSelector names no namespace (no matchLabels, no In expression), so it selects every namespace it does not exclude"])
}

test_denied_every_pod_of_another_namespace if {
	peers := [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}, {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {}}]
	_deny(_with(_egress("kube-system", peers))) == _broad("kube-system", [
		"spec.egress[0].to[0] selects every pod of the namespaces it names; egress to another namespace names the pods too (podSelector with matchLabels)",
		"spec.egress[0].to[1] selects every pod of the namespaces it names; egress to another namespace names the pods too (podSelector with matchLabels)",
	])
}

# A second policy selecting every pod adds its allowances to the default deny (policies are additive).
test_denied_broad_policy_beside_default_deny if {
	_deny(_with(_policy("extra", "clinical", {"podSelector": {"matchLabels": {"app": "nlp"}}, "egress": [{}]}))) == _broad("extra", ["spec.egress[0] lists no peers in to, so it allows every address"])
}

test_denied_malformed_rules if {
	policy := _policy("odd", "clinical", {"podSelector": {}, "egress": {"to": []}, "ingress": ["all", {"from": {"ipBlock": {}}}, {"from": ["x"]}]})
	_deny(_with(policy)) == _broad("odd", [
		"spec.egress is not a list of rules",
		"spec.ingress[0] is not a rule",
		"spec.ingress[1].from is not a list of peers",
		"spec.ingress[2].from[0] is not a peer",
	])
}

# --- denied: broad ingress (same rule, same limits; a named namespace is enough as a source) ---

test_denied_ingress_from_everywhere if {
	_deny(_with(_ingress("public", [_cidr("0.0.0.0/0")]))) == _broad("public", ["spec.ingress[0].from[0].ipBlock.cidr 0.0.0.0/0 covers every IPv4 address (an except list never narrows it enough)"])
}

test_denied_ingress_without_sources if {
	policy := _policy("public", "clinical", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]})
	_deny(_with(policy)) == _broad("public", ["spec.ingress[0] lists no peers in from, so it allows every address"])
}

test_denied_ingress_from_every_namespace if {
	_deny(_with(_ingress("mesh", [{"namespaceSelector": {}}]))) == _broad("mesh", ["spec.ingress[0].from[0].namespaceSelector is empty, so it selects every namespace"])
}

# --- PHI scope: classified namespaces and the namespaces PHI workloads run in ---

test_denied_broad_policy_where_a_phi_workload_runs if {
	_deny([fx.phi_deployment, _default_deny, _egress("open", [_cidr("0.0.0.0/0")])]) == _broad("open", ["spec.egress[0].to[0].ipBlock.cidr 0.0.0.0/0 covers every IPv4 address (an except list never narrows it enough)"])
}

test_denied_genetic_namespace if {
	resources := [fx.namespace("clinical", "genetic"), _default_deny, _egress("open", [_cidr("0.0.0.0/0")])]
	_deny(resources) == _broad("open", ["spec.egress[0].to[0].ipBlock.cidr 0.0.0.0/0 covers every IPv4 address (an except list never narrows it enough)"])
}

# --- missing default deny ---

test_missing_default_deny if {
	_deny([fx.phi_namespace, fx.phi_deployment, _allow_dns, _allow_key_broker]) == _missing(_namespace_urn, "clinical")
}

test_missing_default_deny_for_egress if {
	ingress_only := _policy("default-deny", "clinical", {"podSelector": {}, "policyTypes": ["Ingress"]})
	_deny([fx.phi_namespace, fx.phi_deployment, ingress_only]) == _missing(_namespace_urn, "clinical")
}

test_missing_default_deny_for_every_pod if {
	some_pods := _policy("default-deny", "clinical", {"podSelector": {"matchLabels": {"app": "nlp"}}, "policyTypes": ["Egress"]})
	_deny([fx.phi_namespace, fx.phi_deployment, some_pods]) == _missing(_namespace_urn, "clinical")
}

# Without metadata.namespace a policy lands in "default", not beside the PHI workload.
test_missing_default_deny_in_the_workload_namespace if {
	elsewhere := fx.resource(_type, "default-deny", {"kind": "NetworkPolicy", "metadata": {"name": "default-deny"}, "spec": {"podSelector": {}, "policyTypes": ["Egress"]}})
	_deny([fx.phi_namespace, fx.phi_deployment, elsewhere]) == _missing(_namespace_urn, "clinical")
}

# A "default deny" with an allow-all egress rule denies nothing.
test_missing_default_deny_with_allow_all_rule if {
	leaky := _policy("default-deny", "clinical", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{}]})
	_deny([fx.phi_namespace, fx.phi_deployment, leaky]) == _missing(_namespace_urn, "clinical") | _broad("default-deny", ["spec.egress[0] lists no peers in to, so it allows every address"])
}

test_missing_default_deny_where_a_phi_workload_runs if {
	batch := fx.resource("kubernetes:batch/v1:Job", "etl", {
		"apiVersion": "batch/v1",
		"kind": "Job",
		"metadata": {"name": "etl", "namespace": "batch"},
		"spec": {"template": {"metadata": {"labels": {"phistack.io/data-classification": "phi"}}, "spec": fx.cc_pod}},
	})
	_deny(array.concat(_platform, [batch])) == _missing(fx.urn("kubernetes:batch/v1:Job", "etl"), "batch")
}

test_missing_default_deny_of_a_declared_namespace if {
	cluster := fx.component("phistack:cluster:ConfidentialGpuCluster", "gpu", {"namespaces": [{"name": "clinical", "data_classification": "phi"}]})
	_deny([cluster]) == _missing(fx.stack_urn, "clinical")
}

# --- unknown values ---

test_unknown_cidr if {
	_deny(_with(_egress("kbs", [_cidr(fx.unknown)]))) == _test_unknown(_urn("kbs"), "a peer of a NetworkPolicy in a PHI namespace", ["spec.egress[0].to[0].ipBlock.cidr"])
}

test_unknown_peers_and_selectors if {
	policy := _policy("peers", "clinical", {"podSelector": {}, "egress": [
		{"to": fx.unknown},
		{"to": [{"namespaceSelector": {"matchLabels": {"team": fx.unknown, "kubernetes.io/metadata.name": fx.unknown}}, "podSelector": fx.unknown}]},
	]})
	_deny(_with(policy)) == _test_unknown(_urn("peers"), "a peer of a NetworkPolicy in a PHI namespace", [
		"spec.egress[0].to",
		"spec.egress[1].to[0].namespaceSelector.matchLabels.team",
		"spec.egress[1].to[0].namespaceSelector.matchLabels[\"kubernetes.io/metadata.name\"]",
		"spec.egress[1].to[0].podSelector",
	])
}

test_unknown_spec if {
	_deny(_with(_policy("opaque", "clinical", fx.unknown))) == _test_unknown(_urn("opaque"), "a peer of a NetworkPolicy in a PHI namespace", ["spec"])
}

test_unknown_default_deny_policy_types if {
	maybe := _policy("default-deny", "clinical", {"podSelector": {}, "policyTypes": fx.unknown})
	_deny([fx.phi_namespace, fx.phi_deployment, maybe]) == _test_unknown(_urn("default-deny"), "whether a NetworkPolicy denies egress by default", ["spec.policyTypes"])
}

test_unknown_policy_namespace if {
	policy := fx.resource(_type, "open", {"kind": "NetworkPolicy", "metadata": {"name": "open", "namespace": fx.unknown}, "spec": {"podSelector": {}, "egress": [{}]}})
	_deny(_with(policy)) == _test_unknown(_urn("open"), "the namespace of a NetworkPolicy in a stack with PHI namespaces", ["metadata.namespace"])
}

test_unknown_workload_namespace if {
	w := fx.resource("kubernetes:apps/v1:Deployment", "nlp", {
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {"name": "nlp", "namespace": fx.unknown},
		"spec": {"template": {"metadata": {"labels": {"phistack.io/data-classification": "phi"}}, "spec": fx.cc_pod}},
	})
	_deny([w]) == _test_unknown(fx.urn("kubernetes:apps/v1:Deployment", "nlp"), "the namespace of a PHI workload", ["metadata.namespace"])
}

test_unknown_namespace_name if {
	ns := fx.resource("kubernetes:core/v1:Namespace", "clinical", {"kind": "Namespace", "metadata": {"name": fx.unknown, "labels": {"phistack.io/data-classification": "phi"}}})
	_deny([ns]) == _test_unknown(_namespace_urn, "the name of a PHI namespace", ["metadata.name"])
}

# Policies of the same shape are judged once but reported in each PHI namespace they open.
test_denied_same_policy_in_two_namespaces if {
	open := {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}
	deny_all := {"podSelector": {}, "policyTypes": ["Egress"]}
	resources := [
		fx.namespace("clinical", "phi"), fx.namespace("oncology", "phi"),
		_policy("default-deny", "clinical", deny_all), fx.resource(_type, "default-deny-2", {"kind": "NetworkPolicy", "metadata": {"name": "default-deny", "namespace": "oncology"}, "spec": deny_all}),
		_policy("open", "clinical", open), fx.resource(_type, "open-2", {"kind": "NetworkPolicy", "metadata": {"name": "open", "namespace": "oncology"}, "spec": open}),
	]
	_deny(resources) == _broad("open", ["spec.egress[0].to[0].ipBlock.cidr 0.0.0.0/0 covers every IPv4 address (an except list never narrows it enough)"]) | {{"id": "PHI-NET-001", "urn": _urn("open-2"), "msg": "PHI-NET-001: NetworkPolicy open in PHI namespace oncology allows traffic beyond narrow peers: spec.egress[0].to[0].ipBlock.cidr 0.0.0.0/0 covers every IPv4 address (an except list never narrows it enough)"}}
}
