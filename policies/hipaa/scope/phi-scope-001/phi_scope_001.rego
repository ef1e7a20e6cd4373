# METADATA
# title: Nothing classified PHI is of a type the rules cannot judge
# description: 'A resource that carries a PHI or genetic classification anywhere in its properties (a
#   label, annotation or tag whose value is phi or genetic, or a property named for PHI or genetic data) and
#   whose type no HIPAA rule understands denies, connected to a PHI workload or not: its encryption, access
#   and location cannot be verified. In a stack that handles PHI, a resource of such a type that runs
#   containers (it embeds a pod or container spec) denies as well, classified or not: the confidential-
#   computing rules cannot see its pods. The types the rules understand are listed in the HIPAA library
#   (understood_types); every report states the types outside it.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(A)
#   description: '45 CFR 164.308(a)(1)(ii)(A) Risk analysis (Required): Conduct an accurate and thorough
#     assessment of the potential risks and vulnerabilities to the confidentiality, integrity, and availability
#     of electronic protected health information held by the covered entity or business associate.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(1)
#   description: '45 CFR 164.312(a)(1) Access control: Implement technical policies and procedures for electronic
#     information systems that maintain electronic protected health information to allow access only to
#     those persons or software programs that have been granted access rights as specified in § 164.308(a)(4).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(2)(iv)
#   description: '45 CFR 164.312(a)(2)(iv) Encryption and decryption (Addressable): Implement a mechanism
#     to encrypt and decrypt electronic protected health information.'
# custom:
#   id: PHI-SCOPE-001
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.308(a)(1)(ii)(A)
#     title: Risk analysis
#     type: required
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   - cfr: 45 CFR 164.312(a)(2)(iv)
#     title: Encryption and decryption
#     type: addressable
#   remediation: Keep PHI and genetic data in resources phistack's rules verify (AttestedWorkload,
#     EncryptedStorage, Kubernetes workloads, claims and endpoints), or extend the policy set with a rule
#     for the new type before it holds PHI.
package phistack.rules.scope.phi_scope_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input). Only resources of
# types no rule understands are walked, so a plan of known types costs nothing here.
findings(ctx) := {f |
	some r in _unknown_typed(ctx)
	marks := _marks(r)
	count(marks) > 0
	f := lib.finding("PHI-SCOPE-001", r.urn, concat("", [lib.name_of(r), " (", r.type, ") is classified PHI or genetic at ", concat(", ", lib.sorted(marks)), " but no HIPAA rule understands resources of this type: its encryption, access and location cannot be verified"]))
} | {f |
	ctx.handles_phi
	some r in _unknown_typed(ctx)
	count(_marks(r)) == 0
	runs := _container_paths(r)
	count(runs) > 0
	f := lib.finding("PHI-SCOPE-001", r.urn, concat("", [lib.name_of(r), " (", r.type, ") runs containers (", concat(", ", lib.sorted(runs)), ") in a stack that handles PHI, but no HIPAA rule understands resources of this type: its pods escape the confidential-computing rules"]))
}

_unknown_typed(ctx) := [ctx.resources[i] |
	some t in object.keys(ctx.types)
	not lib.understood_type(t)
	some i in ctx.types[t]
]

# Paths (relative to the inputs) where a resource says it holds PHI or genetic data.
_marks(r) := {_path(path) |
	walk(r.inputs, [path, value])
	_marked(path, value)
}

# A value that names the class, wherever it sits (label, annotation, tag map or tag list).
_marked(_, value) if {
	is_string(value)
	lower(trim_space(value)) in _class_words
}

# A "key=value" tag string such as "data-classification=phi".
_marked(_, value) if {
	is_string(value)
	regex.match(`classification\s*[=:]\s*(e?phi|genetic)([^a-z0-9]|$)`, lower(value))
}

# A property named for PHI or genetic data, unless it plainly says no.
_marked(path, value) if {
	count(path) > 0
	key := path[count(path) - 1]
	is_string(key)
	_sensitive_key(key)
	not _says_no(value)
}

# snake_case, kebab-case and dotted keys ("phi_data", "x-phi") ...
_sensitive_key(key) if regex.match(`(^|[^a-z0-9])(e?phi|genetic|genomic)([^a-z0-9]|$)`, lower(key))

# ... and camelCase ones ("containsPhi", "geneticData").
_sensitive_key(key) if regex.match(`[a-z0-9](Phi|PHI|Ephi|Genetic|Genomic)([^a-z]|$)`, key)

_class_words := {"phi", "ephi", "genetic", "protected-health-information"}

_says_no(value) if value == false

_says_no(value) if {
	is_string(value)
	lower(trim_space(value)) in {"", "none", "false", "no", "deidentified"}
}

_says_no(value) if value == null

# Paths of container lists (arrays of objects with an image) anywhere in the inputs.
_container_paths(r) := {_path(path) |
	walk(r.inputs, [path, value])
	count(path) > 0
	path[count(path) - 1] in {"containers", "initContainers", "ephemeralContainers"}
	is_array(value)
	some c in value
	is_object(c)
	c.image
}

_path(path) := "(inputs)" if count(path) == 0

else := concat(".", [_segment(p) | some p in path])

_segment(p) := p if is_string(p)

else := format_int(p, 10)
