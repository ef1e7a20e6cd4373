# METADATA
# title: PHI namespaces deny egress by default and reach only narrow peers
# description: 'Every namespace that holds PHI or genetic data (classified phi or genetic, or running a PHI
#   workload) has a default-deny egress NetworkPolicy (podSelector {}, policyTypes including Egress, no egress
#   rules), and every NetworkPolicy in it allows traffic only with narrow peers: an ipBlock whose prefix is at
#   least the length in policies/data/hipaa_parameters.json (/24 for IPv4, /64 for IPv6) and covers no whole
#   private range, pods picked by a namespaceSelector that names namespaces together with a podSelector that
#   names pods (egress), a namespaceSelector that names namespaces (ingress), or pods of the same namespace.
#   A rule with no peers (every address), an empty peer, an empty namespaceSelector (every namespace), a broad
#   or unparseable CIDR (an except list never narrows it) or link-local addresses (cloud instance metadata)
#   deny; selectors, peers or CIDRs unknown at plan time deny.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(1)
#   description: '45 CFR 164.312(e)(1) Transmission security: Implement technical security measures to guard
#     against unauthorized access to electronic protected health information that is being transmitted over an
#     electronic communications network.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(1)
#   description: '45 CFR 164.312(a)(1) Access control: Implement technical policies and procedures for electronic
#     information systems that maintain electronic protected health information to allow access only to
#     those persons or software programs that have been granted access rights as specified in § 164.308(a)(4).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(B)
#   description: '45 CFR 164.308(a)(1)(ii)(B) Risk management (Required): Implement security measures sufficient
#     to reduce risks and vulnerabilities to a reasonable and appropriate level to comply with § 164.306(a).'
# custom:
#   id: PHI-NET-001
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(e)(1)
#     title: Transmission security
#     type: required
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   - cfr: 45 CFR 164.308(a)(1)(ii)(B)
#     title: Risk management
#     type: required
#   remediation: Keep ConfidentialGpuCluster.default_deny_network true and list each peer in network_allows
#     as a host or small CIDR (peer_cidr, /24 or longer for IPv4, /64 for IPv6) or, for ingress, a namespace
#     (peer_namespace); egress to another namespace names its pods as well as the namespace (as allow-dns
#     does for kube-dns).
package phistack.rules.network.phi_net_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

_type := "kubernetes:networking.k8s.io/v1:NetworkPolicy"

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := _policy_findings(ctx, ctx.phi_namespaces, lib.of_type(ctx, _type))

_policy_findings(ctx, phi_ns, policies) := _policy_report(ctx, phi_ns, policies, phi_policies, verdicts, covered) if {
	phi_policies := [p | some p in policies; lib.namespace_of(p) in phi_ns]
	verdicts := _verdicts(phi_policies)
	covered := {lib.namespace_of(p) | some p in phi_policies; verdicts[_key(p)].default_deny}
}

# `verdicts` judges each distinct spec of the PHI namespaces' policies once (see _spec_verdict);
# `covered` are the PHI namespaces with a default-deny egress policy.
_policy_report(ctx, phi_ns, policies, phi_policies, verdicts, covered) := {f |
	some ns in phi_ns
	not ns in covered
	some f in _missing_default_deny(ctx, phi_policies, verdicts, ns)
} | {f |
	some p in phi_policies
	f := _policy_finding(p, verdicts[_key(p)])
} | {f |
	count(phi_ns) > 0
	some p in policies
	path := lib.unknown_path(p.inputs, ["metadata", "namespace"])
	f := lib.unknown_finding("PHI-NET-001", p.urn, "the namespace of a NetworkPolicy in a stack with PHI namespaces", [path])
} | _unknown_scope(ctx)

# --- scope ------------------------------------------------------------------------------------------

# A namespace that may hold PHI, or a PHI workload, whose name the plan cannot tell: fail closed.
_unknown_scope(ctx) := {f |
	some r in lib.of_type(ctx, "kubernetes:core/v1:Namespace")
	path := lib.unknown_path(r.inputs, ["metadata", "name"])
	_maybe_sensitive(r)
	f := lib.unknown_finding("PHI-NET-001", r.urn, "the name of a PHI namespace", [path])
} | {f |
	some w in ctx.phi_workloads
	path := lib.unknown_path(w.inputs, ["metadata", "namespace"])
	f := lib.unknown_finding("PHI-NET-001", w.urn, "the namespace of a PHI workload", [path])
}

_maybe_sensitive(r) if count(lib.declared_classes(r) & lib.sensitive) > 0

_maybe_sensitive(r) if lib.unknown_path(r.inputs, ["metadata", "labels", lib.class_label])

# --- (a) default-deny egress ------------------------------------------------------------------------

# An unknown selector, policy type or egress list may hide the default deny: fail closed on the
# policies that could be it, else deny for the missing policy.
_missing_default_deny(ctx, phi_policies, verdicts, ns) := fs if {
	fs := {f |
		some p in phi_policies
		lib.namespace_of(p) == ns
		paths := verdicts[_key(p)].deny_unknown
		count(paths) > 0
		f := lib.unknown_finding("PHI-NET-001", p.urn, "whether a NetworkPolicy denies egress by default", paths)
	}
	count(fs) > 0
} else := {lib.finding("PHI-NET-001", _anchor(ctx, ns), concat("", [
	"PHI namespace ", ns,
	" has no default-deny egress NetworkPolicy (podSelector {}, policyTypes including Egress, no egress rules), so its pods may send data anywhere the network reaches",
]))}

# Selects every pod of its namespace, governs egress and allows none.
_default_deny(spec) if {
	is_object(spec)
	_empty_selector(object.get(spec, "podSelector", {}))
	types := object.get(spec, "policyTypes", [])
	is_array(types)
	"Egress" in types
	_none(object.get(spec, "egress", []))
}

_deny_relevant(path) if count(path) == 0

_deny_relevant(path) if path[0] in {"podSelector", "policyTypes"}

_deny_relevant(path) if path == ["egress"]

# Where a missing policy is reported: the Namespace, else a PHI workload in it, else the stack.
_anchor(ctx, ns) := urns[0] if {
	urns := sort([r.urn | some r in lib.of_type(ctx, "kubernetes:core/v1:Namespace"); lib.name_of(r) == ns])
	count(urns) > 0
} else := urns[0] if {
	urns := sort([w.urn | some w in ctx.phi_workloads; lib.namespace_of(w) == ns])
	count(urns) > 0
} else := ctx.stack_urn

# --- (b) narrow peers -------------------------------------------------------------------------------

# One pass per policy: unknown peers fail closed, else broad peers deny.
_policy_finding(p, verdict) := lib.unknown_finding("PHI-NET-001", p.urn, "a peer of a NetworkPolicy in a PHI namespace", verdict.peer_unknown) if {
	count(verdict.peer_unknown) > 0
} else := lib.finding("PHI-NET-001", p.urn, concat("", [
	"NetworkPolicy ", _name(p), " in PHI namespace ", lib.namespace_of(p),
	" allows traffic beyond narrow peers: ", concat("; ", verdict.problems),
])) if {
	count(verdict.problems) > 0
}

# --- one verdict per distinct spec -------------------------------------------------------------------

# Plans repeat a few policy shapes across many namespaces and clones: each distinct spec and each
# distinct CIDR is judged once. Verdicts are keyed by the spec itself (json.marshal would be a
# cheaper key, but regopy's fails on input values holding arrays of objects).
_key(p) := object.get(p.inputs, "spec", null)

_verdicts(phi_policies) := _judge_specs(specs, _judged_cidrs(specs)) if {
	specs := {_key(p) | some p in phi_policies}
}

_judge_specs(specs, judged) := {spec: verdict |
	some spec in specs
	verdict := _spec_verdict(spec, judged)
}

# {"default_deny", "deny_unknown": unknown paths that may hide a default deny, "peer_unknown":
# unknown paths that decide a peer, "problems": broad peers}, paths relative to the policy's inputs.
_spec_verdict(spec, judged) := {
	"default_deny": _is_default_deny(spec),
	"deny_unknown": lib.sorted({_path(path) | some path in unknown; _deny_relevant(path)}),
	"peer_unknown": lib.sorted({_path(path) | some path in unknown; _peer_relevant(path)}),
	"problems": lib.sorted(_direction_problems(spec, "egress", "to", judged) | _direction_problems(spec, "ingress", "from", judged)),
} if {
	unknown := _unknown_paths(spec)
}

_is_default_deny(spec) if _default_deny(spec)

else := false

# Where under spec a policy has values unknown at plan time.
_unknown_paths(spec) := [path |
	walk(spec, [path, value])
	lib.is_unknown(value)
]

# Unknown values under spec that decide a policy's peers; ports and except lists cannot widen them.
_peer_relevant(path) if count(path) == 0

_peer_relevant(path) if {
	path[0] in {"egress", "ingress"}
	not _narrowing(path)
}

_narrowing(path) if path[2] == "ports"

_narrowing(path) if {
	path[4] == "ipBlock"
	path[5] == "except"
}

_path(path) := concat("", array.concat(["spec"], [s | some x in path; s := _segment(x)]))

_segment(x) := concat("", ["[", format_int(x, 10), "]"]) if is_number(x)

else := concat("", ["[\"", x, "\"]"]) if regex.match(`[./\[]`, x) # a label key such as kubernetes.io/metadata.name

else := concat("", [".", x])

# Every CIDR of the specs' peers, judged once: what is wrong with it ("" when it is narrow).
_judged_cidrs(specs) := {cidr: _cidr_problem(cidr) | some cidr in _cidrs(specs)}

_cidrs(specs) := {cidr |
	some spec in specs
	is_object(spec)
	some direction in ["egress", "ingress"]
	rules := object.get(spec, direction, [])
	is_array(rules)
	some rule in rules
	is_object(rule)
	some field in ["to", "from"]
	peers := object.get(rule, field, [])
	is_array(peers)
	some peer in peers
	is_object(peer)
	cidr := object.get(peer, ["ipBlock", "cidr"], null)
	is_string(cidr)
}

_direction_problems(spec, direction, field, judged) := set() if not is_object(spec)

else := {concat("", ["spec.", direction, " is not a list of rules"])} if {
	rules := object.get(spec, direction, [])
	not is_array(rules)
	rules != null
} else := {msg |
	rules := object.get(spec, direction, [])
	is_array(rules)
	some i
	rule := rules[i]
	some msg in _rule_problems(rule, concat("", ["spec.", direction, "[", format_int(i, 10), "]"]), direction, field, judged)
}

_rule_problems(rule, path, direction, field, judged) := {concat("", [path, " is not a rule"])} if not is_object(rule)

else := {concat("", [path, " lists no peers in ", field, ", so it allows every address"])} if {
	_none(object.get(rule, field, null))
} else := {concat("", [path, ".", field, " is not a list of peers"])} if {
	not is_array(object.get(rule, field, null))
} else := _peers_problems(object.get(rule, field, []), concat("", [path, ".", field]), direction, judged)

# (A separate function: regopy misreads `rule[field][j]` with `field` an argument.)
_peers_problems(peers, path, direction, judged) := {msg |
	some j
	peer := peers[j]
	some msg in _peer_problems(peer, concat("", [path, "[", format_int(j, 10), "]"]), direction, judged)
}

_peer_problems(peer, path, direction, judged) := {concat("", [path, " is not a peer"])} if not is_object(peer)

else := {concat("", [path, " is an empty peer, which matches every address"])} if {
	count([k | some k in ["ipBlock", "namespaceSelector", "podSelector"]; object.get(peer, k, null) != null]) == 0
} else := _block_problems(peer, path, judged) | _peer_selector_problems(peer, path, direction)

_block_problems(peer, path, judged) := {msg |
	block := object.get(peer, "ipBlock", null)
	block != null
	msg := _block_problem(block, concat("", [path, ".ipBlock"]), judged)
}

_block_problem(block, path, judged) := concat("", [path, " is not an ipBlock"]) if not is_object(block)

else := concat("", [path, ".cidr ", _text(cidr), _unparsed]) if {
	cidr := object.get(block, "cidr", null)
	not is_string(cidr)
} else := concat("", [path, ".cidr ", block.cidr, judged[block.cidr]]) if {
	judged[block.cidr] != ""
}

_unparsed := " is not an IPv4 or IPv6 CIDR the gate can verify"

# What is wrong with a CIDR as a peer, as the end of a sentence; "" when it is narrow.
_cidr_problem(cidr) := _net_problem(_parsed(cidr))

_net_problem(net) := _unparsed if {
	net == {}
} else := concat("", [" covers ", covered[0], " (an except list never narrows it enough)"]) if {
	covered := [b.label | some b in _broad; _contains(net, b.net)]
	count(covered) > 0
} else := " reaches link-local addresses (cloud instance metadata)" if {
	some b in _link_local
	_overlap(net, b)
} else := concat("", [" is broader than /", format_int(minimum, 10), " (an except list never narrows it enough)"]) if {
	minimum := _min_prefix(net.family)
	net.len < minimum
} else := ""

_parsed(cidr) := net if {
	net := _parse(cidr)
} else := {}

_peer_selector_problems(peer, path, direction) := {msg |
	sel := object.get(peer, "namespaceSelector", null)
	sel != null
	some msg in _namespace_problems(peer, sel, path, direction)
}

_namespace_problems(peer, sel, path, direction) := {concat("", [path, ".namespaceSelector is empty, so it selects every namespace"])} if {
	_empty_selector(sel)
} else := {concat("", [path, ".namespaceSelector names no namespace (no matchLabels, no In expression), so it selects every namespace it does not exclude"])} if {
	not _narrow(sel)
} else := {concat("", [path, " selects every pod of the namespaces it names; egress to another namespace names the pods too (podSelector with matchLabels)"])} if {
	direction == "egress"
	not _narrow(object.get(peer, "podSelector", null))
} else := set()

# --- selectors --------------------------------------------------------------------------------------

_none(value) if value == null

_none(value) if value == []

_none(value) if value == {}

_empty_selector(sel) if {
	is_object(sel)
	_none(object.get(sel, "matchLabels", null))
	_none(object.get(sel, "matchExpressions", null))
}

# A selector that names what it selects: a label to match, or an In expression with values.
_narrow(sel) if {
	labels := sel.matchLabels
	is_object(labels)
	count(labels) > 0
}

_narrow(sel) if {
	is_array(sel.matchExpressions)
	some e in sel.matchExpressions
	e.operator == "In"
	is_array(e.values)
	count(e.values) > 0
}

# --- CIDRs (parsed here: regopy has no net.cidr_* builtins) ----------------------------------------

_min_prefix(4) := n if {
	n := data.hipaa_parameters.network_policy_min_ipv4_prefix_length
	is_number(n)
} else := 32

_min_prefix(6) := n if {
	n := data.hipaa_parameters.network_policy_min_ipv6_prefix_length
	is_number(n)
} else := 128

# Blocks that reach a whole address family or private range, however long the limit allows;
# broadest first (a finding names the first one a block covers).
_broad := [{"label": b[1], "net": _raw(b[0])} |
	some b in [
		["0.0.0.0/0", "every IPv4 address"],
		["::/0", "every IPv6 address"],
		["::ffff:0:0/96", "every IPv4 address (IPv4-mapped)"],
		["10.0.0.0/8", "the private range 10.0.0.0/8"],
		["172.16.0.0/12", "the private range 172.16.0.0/12"],
		["192.168.0.0/16", "the private range 192.168.0.0/16"],
		["fc00::/7", "the private range fc00::/7"],
	]
]

_link_local := [_raw("169.254.0.0/16"), _raw("fe80::/10")]

# {"family": 4 or 6, "bits": the address as a string of 0 and 1, "len": the prefix length}; an
# IPv4-mapped IPv6 block is read as the IPv4 block it maps. Undefined for anything else.
_parse(cidr) := _unmapped(_raw(cidr))

_unmapped(net) := {"family": 4, "bits": substring(net.bits, 96, 32), "len": net.len - 96} if {
	net.family == 6
	net.len >= 96
	substring(net.bits, 0, 96) == _mapped_prefix
} else := net

_mapped_prefix := substring(_raw("::ffff:0:0/96").bits, 0, 96)

_raw(cidr) := {"family": 4, "bits": bits, "len": to_number(parts[1])} if {
	is_string(cidr)
	regex.match(`^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$`, cidr)
	parts := split(cidr, "/")
	bits := concat("", [b | some octet in split(parts[0], "."); b := _octets[octet]])
}

_raw(cidr) := {"family": 6, "bits": bits, "len": to_number(parts[1])} if {
	is_string(cidr)
	regex.match(`^[0-9A-Fa-f:]+/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$`, cidr)
	parts := split(lower(cidr), "/")
	groups := _groups(parts[0])
	count(groups) == 8
	count([g | some g in groups; not regex.match(`^[0-9a-f]{1,4}$`, g)]) == 0
	bits := concat("", [b | some g in groups; b := _group_bits(g)])
}

# The eight groups of an IPv6 address, "::" expanded.
_groups(addr) := array.concat(array.concat(left, ["0" | some _ in numbers.range(1, missing)]), right) if {
	halves := split(addr, "::")
	count(halves) == 2
	left := _split_groups(halves[0])
	right := _split_groups(halves[1])
	missing := (8 - count(left)) - count(right)
	missing >= 1
} else := split(addr, ":") if not contains(addr, "::")

_split_groups(s) := [] if s == ""

else := split(s, ":")

# "0".."255" to their eight bits, computed once per query.
_octets := {format_int(n, 10): _octet_bits(n) | some n in numbers.range(0, 255)}

_weights := [128, 64, 32, 16, 8, 4, 2, 1]

_octet_bits(n) := concat("", [b | some k in numbers.range(0, 7); b := _bit(n, _weights[k])])

_bit(n, weight) := "1" if {
	floor(n / weight) % 2 == 1
} else := "0"

_group_bits(g) := concat("", [_hex[c] | some k in numbers.range(0, 3); c := substring(padded, k, 1)]) if {
	long := concat("", ["000", g])
	padded := substring(long, count(long) - 4, 4)
}

_hex := {
	"0": "0000", "1": "0001", "2": "0010", "3": "0011", "4": "0100", "5": "0101", "6": "0110", "7": "0111",
	"8": "1000", "9": "1001", "a": "1010", "b": "1011", "c": "1100", "d": "1101", "e": "1110", "f": "1111",
}

# Block `a` contains block `b`.
_contains(a, b) if {
	a.family == b.family
	a.len <= b.len
	substring(a.bits, 0, a.len) == substring(b.bits, 0, a.len)
}

_overlap(a, b) if _contains(a, b)

_overlap(a, b) if _contains(b, a)

# --- text -------------------------------------------------------------------------------------------

_name(r) := name if {
	name := lib.name_of(r)
	is_string(name)
} else := r.name

_text(value) := value if is_string(value)

else := "(none)" if value == null

else := "(not a string)"
