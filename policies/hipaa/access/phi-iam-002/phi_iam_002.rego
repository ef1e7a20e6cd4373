# METADATA
# title: No standing grants of roles that read Secrets or escalate
# description: 'In a stack that handles PHI, no ClusterRoleBinding (cluster-wide, always in PHI scope) and no
#   RoleBinding in a PHI namespace binds a role that can read Secrets or escalate privileges to anyone: a
#   User, a Group or a ServiceAccount (whoever holds its token). Such roles are the built-in cluster-admin,
#   admin and edit, the built-in system: roles, and any Role or ClusterRole of the plan that grants "*"
#   verbs or resources, reads Secrets (get, list, watch), uses the escalate, bind or impersonate verbs,
#   execs or attaches into pods, proxies to nodes or mints ServiceAccount tokens (also through a ClusterRole
#   of the plan aggregated into view, edit or admin). A role that is neither built-in nor in the plan,
#   that aggregates other roles, or whose rules are unknown cannot be verified and denies; so does a
#   roleRef, subject or RoleBinding namespace unknown at plan time, and any binding in PHI scope to
#   system:anonymous, system:unauthenticated or system:authenticated, whatever the role.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(1)
#   description: '45 CFR 164.312(a)(1) Access control: Implement technical policies and procedures for electronic
#     information systems that maintain electronic protected health information to allow access only to
#     those persons or software programs that have been granted access rights as specified in § 164.308(a)(4).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E/section-164.502#p-164.502(b)(1)
#   description: '45 CFR 164.502(b)(1) Minimum necessary applies: When using or disclosing protected health
#     information or when requesting protected health information from another covered entity or business
#     associate, a covered entity or business associate must make reasonable efforts to limit protected
#     health information to the minimum necessary to accomplish the intended purpose of the use, disclosure,
#     or request.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(4)(ii)(B)
#   description: '45 CFR 164.308(a)(4)(ii)(B) Access authorization (Addressable): Implement policies and
#     procedures for granting access to electronic protected health information, for example, through access
#     to a workstation, transaction, program, process, or other mechanism.'
# custom:
#   id: PHI-IAM-002
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   - cfr: 45 CFR 164.502(b)(1)
#     title: Minimum necessary
#     type: required
#   - cfr: 45 CFR 164.308(a)(4)(ii)(B)
#     title: Access authorization
#     type: addressable
#   remediation: Remove ConfidentialGpuCluster.cluster_admin_subjects and bindings of cluster-admin, admin,
#     edit or roles that read Secrets; grant people the viewer or operator role in their namespaces, and
#     create every role a binding names in the same stack so the gate can read it.
package phistack.rules.access.phi_iam_002

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

_crb := "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"

_rb := "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := _findings(ctx, ctx.phi_namespaces) if ctx.handles_phi

else := set()

# A ClusterRoleBinding is always in PHI scope, a RoleBinding when its namespace holds PHI; a
# RoleBinding whose namespace is unknown fails closed wherever it would deny in a PHI namespace.
_findings(ctx, phi_ns) := _scoped(ctx, _index(ctx), _in_scope(ctx, phi_ns))

_scoped(ctx, x, scoped) := _judged(scoped, _binding_verdicts(ctx, x, scoped)) | {f |
	some b in lib.of_type(ctx, _rb)
	path := lib.unknown_path(b.inputs, ["metadata", "namespace"])
	verdict := _binding_verdict(ctx, x, b)
	f := lib.unknown_finding("PHI-IAM-002", b.urn, "the namespace, role or subjects of a binding in PHI scope", lib.sorted({path} | object.get(verdict, "unknown", set())))
}

# Bindings in PHI scope whose namespace is known (a ClusterRoleBinding has none).
_in_scope(ctx, phi_ns) := array.concat(lib.of_type(ctx, _crb), [b |
	some b in lib.of_type(ctx, _rb)
	lib.namespace_of(b) in phi_ns
])

_judged(scoped, verdicts) := {f |
	some b in scoped
	verdict := verdicts[_shape_of(b)]
	f := _finding(b, verdict)
}

# A verdict depends on the binding's type, namespace, roleRef and subjects only: plans repeat a
# few binding shapes across many namespaces and clones, so each distinct shape (a binding with
# only those) is judged once; verdicts are keyed by the shape itself.
_shape_of(b) := {"type": b.type, "inputs": {
	"metadata": {"namespace": _scope_namespace(b)},
	"roleRef": object.get(b.inputs, "roleRef", null),
	"subjects": object.get(b.inputs, "subjects", null),
}}

_scope_namespace(b) := "" if b.type == _crb

else := lib.namespace_of(b)

_binding_verdicts(ctx, x, scoped) := {shape: verdict |
	some shape in {_shape_of(b) | some b in scoped}
	verdict := _binding_verdict(ctx, x, shape)
}

_finding(b, verdict) := lib.finding("PHI-IAM-002", b.urn, concat("", [_binding_text(b), verdict.violation])) if verdict.violation

else := lib.unknown_finding("PHI-IAM-002", b.urn, "the role or subjects of a binding in PHI scope", lib.sorted(verdict.unknown))

# --- one binding, assumed in PHI scope: {"violation": the message after the binding's kind and
# name}, {"unknown": paths} or undefined ------------------------------------------------------------

_binding_verdict(ctx, x, b) := _judge(ctx, x, b, _subjects(b))

_judge(ctx, x, b, subjects) := {"violation": concat("", [
	" binds ", _role_text(b), " to ", concat(", ", sort(anyone)),
	": every client that can reach the API server gets it in PHI scope",
])} if {
	anyone := [s.text | some s in subjects; s.anyone == true]
	count(anyone) > 0
} else := {"violation": concat("", [
	" gives ", _role_text(b), " to ", concat(", ", sort(holders)), ": ", reason,
])} if {
	holders := [s.text | some s in subjects; s.text]
	count(holders) > 0
	reason := _role_reason(ctx, x, b)
} else := {"unknown": paths} if {
	subject_paths := {s.unknown | some s in subjects; s.unknown} | _subjects_unknown(b)
	bound := count(subjects) + count(subject_paths)
	role_paths := {p | bound > 0; some p in _role_unknowns(b)}
	paths := subject_paths | role_paths
	count(paths) > 0
}

_binding_text(b) := concat("", [_text(object.get(b.inputs, "kind", "binding")), " ", _text(lib.name_of(b))])

_role_text(b) := concat(" ", [kind, name]) if {
	kind := b.inputs.roleRef.kind
	name := b.inputs.roleRef.name
	is_string(kind)
	is_string(name)
} else := "a role it does not name"

_text(value) := value if is_string(value)

else := "(unknown)"

# --- subjects -----------------------------------------------------------------------------------------

_subjects_unknown(b) := {"subjects"} if lib.is_unknown(object.get(b.inputs, "subjects", []))

else := set()

# Each subject as {"text"} (a person, a group or a ServiceAccount: whoever holds it reaches PHI),
# with "anyone" for a group every client belongs to, or as {"unknown": the path of a value unknown
# at plan time}.
_subjects(b) := [s |
	subjects := object.get(b.inputs, "subjects", [])
	is_array(subjects)
	some i
	subject := subjects[i]
	s := _subject(subject, concat("", ["subjects[", format_int(i, 10), "]"]))
]

_subject(subject, path) := {"unknown": path} if lib.is_unknown(subject)

else := {"text": concat("", [path, " (not a subject object)"])} if not is_object(subject)

else := {"unknown": concat("", [path, ".kind"])} if lib.is_unknown(subject.kind)

else := {"unknown": concat("", [path, ".name"])} if lib.is_unknown(subject.name)

else := {"text": concat("", ["ServiceAccount ", _text(object.get(subject, "namespace", "")), "/", _text(object.get(subject, "name", ""))])} if {
	subject.kind == "ServiceAccount"
} else := {"text": concat("", [kind, " ", name]), "anyone": _anyone(kind, name)} if {
	kind := _kind_text(object.get(subject, "kind", ""))
	name := _text(object.get(subject, "name", ""))
}

_kind_text(kind) := kind if {
	is_string(kind)
	kind != ""
} else := "subject"

# Every client of the API server belongs to one of these.
_anyone(kind, name) if [kind, name] in {["Group", "system:authenticated"], ["Group", "system:unauthenticated"], ["User", "system:anonymous"]}

else := false

# --- the role -------------------------------------------------------------------------------------

_role_unknowns(b) := {p |
	some key in [["roleRef"], ["roleRef", "kind"], ["roleRef", "name"]]
	p := lib.unknown_path(b.inputs, key)
}

# Why the role a binding names can read Secrets or escalate, or cannot be verified; undefined for a
# role that is known and safe (or a roleRef unknown at plan time).
_role_reason(ctx, x, b) := reason if {
	count(_role_unknowns(b)) == 0
	kind := object.get(b.inputs, ["roleRef", "kind"], null)
	name := object.get(b.inputs, ["roleRef", "name"], null)
	reason := _reason(ctx, x, b, kind, name)
}

_reason(ctx, x, b, kind, name) := "its roleRef names no Role or ClusterRole, so what it grants cannot be verified" if {
	not is_string(name)
} else := "its roleRef names no Role or ClusterRole, so what it grants cannot be verified" if {
	not kind in {"Role", "ClusterRole"}
} else := "a ClusterRoleBinding cannot reference a Role, so what it grants cannot be verified" if {
	kind == "Role"
	b.type == _crb
} else := "that built-in role can read Secrets and escalate privileges" if {
	kind == "ClusterRole"
	name in _powerful
} else := "built-in system: roles serve cluster components, and several read Secrets or escalate privileges" if {
	kind == "ClusterRole"
	startswith(name, "system:")
	not name in _harmless
} else := concat("", ["it grants ", concat(", ", lib.sorted(grants))]) if {
	_ref_key(kind, lib.namespace_of(b), name) in x.powerful
	grants := {g | some r in _plan_roles(ctx, b, kind, name); some g in x.grants[_shape(r)]}
} else := concat("", ["it is neither built-in nor created by this plan", _where(b, kind), ", so what it grants cannot be verified"]) if {
	not _ref_key(kind, lib.namespace_of(b), name) in x.present
	not _builtin(kind, name)
} else := concat("", ["ClusterRole ", concat(", ", lib.sorted(names)), " of the plan aggregates into it and ", concat(", ", lib.sorted(grants))]) if {
	kind == "ClusterRole"
	name in x.widened
	aggregated := [r | some r in lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"); _aggregates_into(r, name)]
	grants := {concat("", ["grants ", g]) | some r in aggregated; some g in x.grants[_shape(r)]}
	count(grants) > 0
	names := {_text(lib.name_of(r)) | some r in aggregated; count(x.grants[_shape(r)]) > 0}
}

_where(b, "Role") := concat("", [" in namespace ", _text(lib.namespace_of(b))])

_where(_, "ClusterRole") := ""

# Built-in ClusterRoles: cluster-admin, admin and edit read Secrets (admin and edit also impersonate
# ServiceAccounts); view and the discovery roles do not.
_powerful := {"cluster-admin", "admin", "edit"}

_harmless := {"system:basic-user", "system:discovery", "system:public-info-viewer"}

_builtin("ClusterRole", name) if name in ({"view"} | _harmless)

# The plan's roles, indexed once: the keys of all ([kind, namespace, name], namespace "" for a
# ClusterRole), those that grant what reads Secrets or escalates, and the built-in roles a ClusterRole
# of the plan that does aggregates into. Bindings look roles up by key; only a binding that denies
# scans the roles again, for the message.
_index(ctx) := _index_with(ctx, _grants_by_shape(_roles(ctx)))

_index_with(ctx, grants) := {
	"grants": grants,
	"present": {_role_key(r) | some r in _roles(ctx)},
	"powerful": {k |
		some r in _roles(ctx)
		count(grants[_shape(r)]) > 0
		k := _role_key(r)
	},
	"widened": {target |
		some r in lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
		count(grants[_shape(r)]) > 0
		some target in ["view", "edit", "admin"]
		_aggregates_into(r, target)
	},
}

# What a role grants depends on its aggregationRule and rules only: plans repeat a few shapes
# across many namespaces, so each distinct shape is judged once (keyed by the shape itself).
_shape(r) := [object.get(r.inputs, "aggregationRule", null), object.get(r.inputs, "rules", [])]

_grants_by_shape(roles) := {shape: grants |
	some shape in {_shape(r) | some r in roles}
	grants := _grants(shape[0], shape[1])
}

_roles(ctx) := array.concat(
	lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:Role"),
	lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"),
)

_role_key(r) := _ref_key("Role", lib.namespace_of(r), lib.name_of(r)) if {
	r.type == "kubernetes:rbac.authorization.k8s.io/v1:Role"
} else := _ref_key("ClusterRole", "", lib.name_of(r))

_ref_key("Role", ns, name) := ["Role", ns, name]

_ref_key("ClusterRole", _, name) := ["ClusterRole", "", name]

# The plan's roles a roleRef names: ClusterRoles by name, Roles by name in the binding's namespace.
_plan_roles(ctx, _, "ClusterRole", name) := [r |
	some r in lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
	lib.name_of(r) == name
]

_plan_roles(ctx, b, "Role", name) := lib.named(ctx, "kubernetes:rbac.authorization.k8s.io/v1:Role", lib.namespace_of(b), name)

# A ClusterRole whose labels may add its rules to the built-in role `name` (aggregate-to-<name>).
_aggregates_into(r, name) if {
	object.get(r.inputs, ["metadata", "labels", concat("", ["rbac.authorization.k8s.io/aggregate-to-", name])], null) in {"true", true}
}

_aggregates_into(r, name) if {
	lib.unknown_path(r.inputs, ["metadata", "labels", concat("", ["rbac.authorization.k8s.io/aggregate-to-", name])])
}

# What a role with these aggregationRule and rules grants that reads Secrets or escalates, or why
# that cannot be verified.
_grants(aggregation, rules) := {"unverifiable rules (an aggregationRule gathers them from other ClusterRoles)"} if {
	aggregation != null
} else := {"unverifiable rules (unknown at plan time)"} if {
	lib.is_unknown(rules)
} else := {"unverifiable rules (not a list)"} if {
	rules != null
	not is_array(rules)
} else := {g |
	is_array(rules)
	some rule in rules
	some g in _rule_grants(rule)
}

_rule_grants(rule) := {"an unverifiable rule (unknown at plan time)"} if lib.is_unknown(rule)

else := {"an unverifiable rule (not an object)"} if not is_object(rule)

else := {"an unverifiable rule (verbs or resources unknown or not a list)"} if {
	some field in ["verbs", "resources"]
	not is_array(object.get(rule, field, []))
} else := {"an unverifiable rule (verbs or resources unknown or not a list)"} if {
	some field in ["verbs", "resources"]
	some v in object.get(rule, field, [])
	not is_string(v)
} else := _verb_grants(object.get(rule, "verbs", []), object.get(rule, "resources", []))

_verb_grants(verbs, resources) := {check.grant |
	some check in _checks
	_hit(verbs, check.verbs)
	_hit(resources, check.resources)
}

_hit(_, "any") := true

_hit(values, wanted) if {
	is_set(wanted)
	some v in values
	v in wanted
}

# verbs x resources that read Secrets or escalate, and how a finding names them.
_checks := [
	{"verbs": {"*"}, "resources": "any", "grant": "every verb (*)"},
	{"verbs": "any", "resources": {"*"}, "grant": "every resource (*)"},
	{"verbs": {"get", "list", "watch"}, "resources": {"secrets"}, "grant": "read access to Secrets"},
	{"verbs": {"escalate"}, "resources": "any", "grant": "the escalate verb"},
	{"verbs": {"bind"}, "resources": "any", "grant": "the bind verb"},
	{"verbs": {"impersonate"}, "resources": "any", "grant": "the impersonate verb"},
	{"verbs": {"create", "get"}, "resources": {"pods/exec", "pods/attach"}, "grant": "exec or attach into pods"},
	{"verbs": {"get", "create"}, "resources": {"nodes/proxy"}, "grant": "the kubelet API (nodes/proxy)"},
	{"verbs": {"create"}, "resources": {"serviceaccounts/token"}, "grant": "ServiceAccount token creation"},
]
