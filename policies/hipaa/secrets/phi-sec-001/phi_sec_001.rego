# METADATA
# title: No credentials in clear in PHI pod specs
# description: 'No PHI or genetic pod workload carries a credential in its pod spec, where anyone who can read
#   the workload reads it: no env entry (of any container: init, sidecar, ephemeral) sets a literal value for
#   a credential-named variable (PASSWORD, SECRET, TOKEN, API_KEY, ACCESS_KEY, PRIVATE_KEY, CREDENTIALS, AUTH,
#   CONNECTION_STRING, DSN ... as a part of the name) or a value shaped like one (a PEM private key, an AWS
#   access key id, a JWT, a URL with a password, GitHub, GitLab, Slack, Stripe, Google or Hugging Face tokens,
#   a key=value or Authorization header with a secret, a long random base64 or hex string that is no digest),
#   a Pulumi secret written as a literal, or a credential from a ConfigMap (valueFrom.configMapKeyRef, or
#   envFrom of a plan ConfigMap that holds one); and no command or args element passes one (--password=...,
#   or --password followed by the value). Credentials come from Secrets: valueFrom.secretKeyRef, envFrom
#   secretRef, a secret volume, or $(VAR) references to such variables. Unknown values that may hold a
#   credential deny. Findings name the variable and path, never the value.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(1)
#   description: '45 CFR 164.312(a)(1) Access control: Implement technical policies and procedures for electronic
#     information systems that maintain electronic protected health information to allow access only to
#     those persons or software programs that have been granted access rights as specified in § 164.308(a)(4).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(d)
#   description: '45 CFR 164.312(d) Person or entity authentication: Implement procedures to verify that
#     a person or entity seeking access to electronic protected health information is the one claimed.'
# custom:
#   id: PHI-SEC-001
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   - cfr: 45 CFR 164.312(d)
#     title: Person or entity authentication
#     type: required
#   remediation: 'Put the credential in a Kubernetes Secret and reference it (env[].valueFrom.secretKeyRef, envFrom
#     secretRef, or a secret volume; pass it to args as $(VAR) of such a variable); rotate any credential that
#     was written into a plan.'
package phistack.rules.phi_sec_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in ctx.phi_workloads
	f := _sec1_finding(ctx, w)
}

# One finding per workload: unknown values fail closed, else every credential in clear, sorted.
_sec1_finding(ctx, w) := lib.unknown_finding("PHI-SEC-001", w.urn, "a value that may hold a credential", lib.sorted(paths)) if {
	paths := _sec1_unknown(ctx, w)
	count(paths) > 0
} else := f if {
	problems := _sec1_problems(ctx, w)
	count(problems) > 0
	f := lib.finding("PHI-SEC-001", w.urn, concat("", [
		"PHI workload ", _sec1_text(lib.name_of(w), w.name), " has credentials in clear in its pod spec: ",
		concat("; ", lib.sorted(problems)),
		"; reference a Secret (valueFrom.secretKeyRef, envFrom secretRef or a secret volume) instead",
	]))
}

_sec1_label(name) := name if name != ""

else := "unnamed"

_sec1_text(x, fallback) := x if is_string(x)

else := fallback

_sec1_prefix(w) := concat(".", lib.pod_spec_path(w))

_sec1_container_fields := ["initContainers", "containers", "ephemeralContainers"]

# lib.containers reads every container list by index: only call it when each list is an array.
_sec1_containers(w) := [c | some c in lib.containers(w); is_object(c.container)] if {
	spec := lib.pod_spec(w)
	is_object(spec)
	every field in _sec1_container_fields {
		_sec1_list_or_absent(object.get(spec, field, null))
	}
} else := []

_sec1_list_or_absent(x) if x == null

_sec1_list_or_absent(x) if is_array(x)

_sec1_list(container, field) := object.get(container, field, [])

# --- unknown values -------------------------------------------------------------------------------

_sec1_unknown(ctx, w) := {path} if {
	path := lib.unknown_path(w.inputs, lib.pod_spec_path(w))
} else := paths if {
	spec := lib.pod_spec(w)
	is_object(spec)
	lists := {path |
		some field in _sec1_container_fields
		listed := object.get(spec, field, [])
		some path in _sec1_unknown_items(listed, concat(".", [_sec1_prefix(w), field]))
	}
	count(lists) > 0
	paths := lists
} else := {path |
	some c in _sec1_containers(w)
	some path in _sec1_container_unknown(ctx, w, c)
}

# The path of a list that is unknown, or of its unknown items. (Comprehension heads here are variables
# bound in their bodies: regopy 1.5.2 mixes up function arguments used in a comprehension head.)
_sec1_unknown_items(listed, path) := {p |
	lib.is_unknown(listed)
	p := path
} | {p |
	is_array(listed)
	some i
	item := listed[i] # bound first: regopy does not pass listed[i] to a function here
	lib.is_unknown(item)
	p := concat("", [path, "[", format_int(i, 10), "]"])
}

_sec1_container_unknown(ctx, w, c) := (((_sec1_env_unknown(c) | _sec1_env_from_unknown(ctx, w, c)) | _sec1_argv_unknown(c)) | _sec1_handler_unknown(c)) | {path |
	some field in ["env", "envFrom", "command", "args"]
	some path in _sec1_unknown_items(_sec1_list(c.container, field), concat(".", [c.path, field]))
}

# Probes and lifecycle hooks run commands and send headers too.
_sec1_handlers := [["livenessProbe"], ["readinessProbe"], ["startupProbe"], ["lifecycle", "postStart"], ["lifecycle", "preStop"]]

_sec1_handler_unknown(c) := {path |
	some handler in _sec1_handlers
	some field in [["exec", "command"], ["httpGet", "httpHeaders"]]
	rel := lib.unknown_path(c.container, array.concat(handler, field))
	path := concat(".", [c.path, rel])
} | {path |
	some handler in _sec1_handlers
	some field in [["exec", "command"], ["httpGet", "httpHeaders"]]
	listed := object.get(c.container, array.concat(handler, field), [])
	some path in _sec1_unknown_items(listed, concat(".", array.concat([c.path], array.concat(handler, field))))
} | {path |
	some header in _sec1_headers(c)
	lib.is_unknown(header.name)
	path := concat("", [header.path, ".name"])
} | {path |
	some header in _sec1_headers(c)
	lib.is_unknown(header.value)
	not _sec1_credential_header(header.name)
	path := concat("", [header.path, ".value"])
}

# An env entry whose name is unknown, or whose literal value is unknown under a name that does not say
# credential (one that does is a literal credential whatever its value: a problem, not an unknown).
_sec1_env_unknown(c) := {path |
	env := _sec1_list(c.container, "env")
	is_array(env)
	some i
	entry := env[i]
	is_object(entry)
	some path in _sec1_entry_unknown(entry, concat("", [c.path, ".env[", format_int(i, 10), "]"]))
}

_sec1_entry_unknown(entry, path) := {concat("", [path, ".name"])} if {
	lib.is_unknown(object.get(entry, "name", null))
} else := {concat("", [path, ".value"])} if {
	lib.is_unknown(object.get(entry, "value", null))
	not _sec1_credential_name(entry.name)
} else := {concat("", [path, ".valueFrom"])} if {
	lib.is_unknown(object.get(entry, "valueFrom", null))
	_sec1_credential_name(entry.name)
} else := set()

_sec1_env_from_unknown(ctx, w, c) := {path |
	some source in _sec1_config_map_sources(c)
	some path in _sec1_source_unknown(ctx, w, source)
}

_sec1_source_unknown(ctx, w, source) := {concat("", [source.path, ".configMapRef.name"])} if {
	lib.is_unknown(source.name)
} else := {concat("", [source.path, ".prefix"])} if {
	lib.is_unknown(source.prefix)
} else := {path |
	some cm in _sec1_config_maps(ctx, w, source.name)
	lib.is_unknown(object.get(cm.inputs, "data", {}))
	path := concat("", ["ConfigMap ", source.name, " data"])
} | {path |
	is_string(source.prefix)
	some cm in _sec1_config_maps(ctx, w, source.name)
	values := object.get(cm.inputs, "data", {})
	is_object(values)
	some key
	value := values[key] # bound first: regopy does not pass values[key] to a function here
	lib.is_unknown(value)
	not _sec1_credential_name(concat("", [source.prefix, key]))
	path := concat("", ["ConfigMap ", source.name, " data.", key])
}

_sec1_argv_unknown(c) := {path |
	some argv in _sec1_argvs(c)
	some arg in argv
	lib.is_unknown(arg.value)
	path := arg.path
}

# --- problems -------------------------------------------------------------------------------------

_sec1_problems(ctx, w) := {msg |
	some c in _sec1_containers(w)
	some msg in _sec1_container_problems(ctx, w, c)
}

_sec1_container_problems(ctx, w, c) := ((_sec1_env_problems(c) | _sec1_env_from_problems(ctx, w, c)) | _sec1_argv_problems(c)) | _sec1_header_problems(c)

_sec1_env_problems(c) := {msg |
	env := _sec1_list(c.container, "env")
	is_array(env)
	some i
	entry := env[i]
	is_object(entry)
	name := object.get(entry, "name", "") # a missing name is no excuse: the value is still checked
	is_string(name)
	some problem in _sec1_entry_problems(entry, name)
	msg := concat("", [c.path, ".env[", format_int(i, 10), "] (", _sec1_label(name), ") ", problem])
}

_sec1_entry_problems(entry, name) := {"sets a credential-named variable to a literal value" |
	"value" in object.keys(entry)
	_sec1_credential_name(name)
	not _sec1_harmless(name, entry.value)
} | {"holds a value shaped like a credential" |
	value := object.get(entry, "value", null)
	is_string(value)
	_sec1_credential_value(value, name)
} | {"sets a Pulumi secret as a literal value, which lands in clear in the pod spec" |
	_sec1_pulumi_secret(object.get(entry, "value", null))
} | {p |
	ref := object.get(entry, ["valueFrom", "configMapKeyRef"], null)
	is_object(ref)
	_sec1_credential_name(name)
	p := "takes a credential from a ConfigMap (stored in clear), not a Secret"
}

# Literal values that carry no credential: empty, a reference to another variable ($(VAR), which
# Kubernetes expands from the container's environment), a file path or a URL under a *_FILE, *_PATH,
# *_URL... name. The value is still checked for credential shapes.
_sec1_harmless(_, value) if value in {"", null}

_sec1_harmless(_, value) if _sec1_reference(value)

_sec1_harmless(name, value) if {
	is_string(value)
	_sec1_last_token(name) in {"FILE", "FILENAME", "PATH", "DIR", "DIRECTORY"}
	regex.match(`^/[^\s]*$`, value)
}

_sec1_harmless(name, value) if {
	is_string(value)
	_sec1_last_token(name) in {"URL", "URI", "ENDPOINT", "ISSUER"}
	regex.match(`^[a-z][a-z0-9+.-]*://[^\s@/?#]+([/?#][^\s]*)?$`, value)
}

_sec1_reference(value) if {
	is_string(value)
	regex.match(`^\$(\([A-Za-z_][A-Za-z0-9_.-]*\)|\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$`, value)
}

_sec1_pulumi_secret(value) if {
	is_object(value)
	value.__secret__ == true
}

# --- envFrom: a ConfigMap of the plan loaded whole into the environment ----------------------------

# The configMapRef sources of a container's envFrom with their paths, names and prefixes.
_sec1_config_map_sources(c) := [entry |
	sources := _sec1_list(c.container, "envFrom")
	is_array(sources)
	some i
	source := sources[i]
	is_object(source)
	ref := object.get(source, "configMapRef", null)
	is_object(ref)
	path := concat("", [c.path, ".envFrom[", format_int(i, 10), "]"])
	entry := {"path": path, "name": object.get(ref, "name", null), "prefix": object.get(source, "prefix", "")}
]

# The ConfigMaps the plan creates under `name` in the workload's namespace.
_sec1_config_maps(ctx, w, name) := [cm |
	is_string(name)
	some cm in lib.of_type(ctx, "kubernetes:core/v1:ConfigMap")
	lib.name_of(cm) == name
	lib.namespace_of(cm) == lib.namespace_of(w)
]

_sec1_env_from_problems(ctx, w, c) := {msg |
	some source in _sec1_config_map_sources(c)
	is_string(source.prefix)
	some cm in _sec1_config_maps(ctx, w, source.name)
	values := object.get(cm.inputs, "data", {})
	is_object(values)
	some key
	value := values[key]
	variable := concat("", [source.prefix, key])
	_sec1_config_map_credential(variable, value)
	msg := concat("", [source.path, " (", variable, ") loads a credential from ConfigMap ", source.name, ", which stores it in clear"])
}

_sec1_config_map_credential(variable, value) if {
	_sec1_credential_name(variable)
	not _sec1_harmless(variable, value)
}

_sec1_config_map_credential(variable, value) if {
	is_string(value)
	_sec1_credential_value(value, variable)
}

_sec1_config_map_credential(_, value) if _sec1_pulumi_secret(value)

# --- command and args: what the container runs, command first ---------------------------------------

_sec1_argv(c) := array.concat(_sec1_args(c, "command"), _sec1_args(c, "args"))

# Every command line of a container: its own, then its probes' and lifecycle hooks' exec commands.
_sec1_argvs(c) := array.concat([_sec1_argv(c)], [argv |
	some handler in _sec1_handlers
	listed := object.get(c.container, array.concat(handler, ["exec", "command"]), [])
	is_array(listed)
	prefix := concat(".", array.concat([c.path], handler))
	argv := [arg |
		some i
		value := listed[i]
		arg := {"path": concat("", [prefix, ".exec.command[", format_int(i, 10), "]"]), "value": value}
	]
])

_sec1_args(c, field) := [arg |
	listed := _sec1_list(c.container, field)
	is_array(listed)
	some i
	value := listed[i]
	arg := {"path": concat("", [c.path, ".", field, "[", format_int(i, 10), "]"]), "value": value}
]

_sec1_argv_problems(c) := {msg |
	some argv in _sec1_argvs(c)
	some arg in argv
	is_string(arg.value)
	_sec1_credential_value(arg.value, "")
	msg := concat("", [arg.path, " passes a credential on the command line"])
} | {msg |
	some argv in _sec1_argvs(c)
	some arg in argv
	_sec1_pulumi_secret(arg.value)
	msg := concat("", [arg.path, " passes a Pulumi secret on the command line, in clear in the pod spec"])
} | {msg |
	some argv in _sec1_argvs(c)
	some i in numbers.range(0, count(argv) - 2)
	flag := argv[i].value
	is_string(flag)
	regex.match(`^--?[A-Za-z][A-Za-z0-9_.-]*$`, flag)
	_sec1_credential_name(flag)
	value := argv[i + 1].value
	_sec1_flag_value(flag, value)
	msg := concat("", [argv[i + 1].path, " passes the value of ", flag, " on the command line"])
}

# HTTP headers of probes and lifecycle hooks, with their paths.
_sec1_headers(c) := [header |
	some handler in _sec1_handlers
	listed := object.get(c.container, array.concat(handler, ["httpGet", "httpHeaders"]), [])
	is_array(listed)
	prefix := concat(".", array.concat([c.path], handler))
	some i
	entry := listed[i]
	is_object(entry)
	header := {
		"path": concat("", [prefix, ".httpGet.httpHeaders[", format_int(i, 10), "]"]),
		"name": object.get(entry, "name", ""),
		"value": object.get(entry, "value", ""),
	}
]

_sec1_credential_header(name) if {
	is_string(name)
	lower(name) in {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"}
}

_sec1_credential_header(name) if _sec1_credential_name(name)

_sec1_header_problems(c) := {msg |
	some header in _sec1_headers(c)
	is_string(header.name)
	_sec1_credential_header(header.name)
	not _sec1_harmless(header.name, header.value)
	msg := concat("", [header.path, " (", header.name, ") sends a literal credential"])
} | {msg |
	some header in _sec1_headers(c)
	is_string(header.name)
	is_string(header.value)
	_sec1_credential_value(header.value, header.name)
	msg := concat("", [header.path, " (", header.name, ") sends a value shaped like a credential"])
}

# The element after a credential flag is its value unless it is another flag or harmless.
_sec1_flag_value(_, value) if not is_string(value)

_sec1_flag_value(flag, value) if {
	is_string(value)
	not startswith(value, "-")
	not _sec1_harmless(flag, value)
}

# --- credential names -------------------------------------------------------------------------------

# The words of a name, upper-cased: split at non-alphanumerics and at camelCase boundaries.
_sec1_tokens(name) := [token |
	some part in regex.split(`[^A-Za-z0-9]+`, name)
	some t in regex.find_n(`[A-Z]?[a-z0-9]+|[A-Z]+`, part, -1)
	token := upper(t)
]

_sec1_last_token(name) := tokens[count(tokens) - 1] if {
	is_string(name)
	tokens := _sec1_tokens(name)
	count(tokens) > 0
}

# Words that make a name a credential's name anywhere in it (PGPASSWORD, AWS_SECRET_ACCESS_KEY) ...
_sec1_infixes := {"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "APIKEY", "ACCESSKEY", "PRIVATEKEY", "CONNSTRING", "CONNECTIONSTRING"}

# ... words that do as a whole word of it (AUTH but not AUTHOR, PASS but not BYPASS) ...
_sec1_words := {"PASS", "AUTH", "DSN", "BEARER", "CREDS", "CONNSTR"}

# ... words that do at the end of a word of it (AUTHTOKEN, DBPWD but not TOKENIZER) ...
_sec1_suffixes := {"TOKEN", "TOKENS", "PWD"}

# ... and pairs of words that do together.
_sec1_pairs := {
	["API", "KEY"], ["API", "KEYS"], ["ACCESS", "KEY"], ["PRIVATE", "KEY"], ["SIGNING", "KEY"],
	["ENCRYPTION", "KEY"], ["MASTER", "KEY"], ["ACCOUNT", "KEY"], ["SHARED", "KEY"], ["CLIENT", "KEY"],
	["SESSION", "KEY"], ["CONN", "STR"], ["CONN", "STRING"], ["CONNECTION", "STRING"],
}

_sec1_credential_name(name) if {
	is_string(name)
	some infix in _sec1_infixes
	contains(upper(name), infix)
}

_sec1_credential_name(name) if {
	is_string(name)
	some t in _sec1_tokens(name)
	t in _sec1_words
}

# PWD alone is the shell's working directory; DB_PWD is a password.
_sec1_credential_name(name) if {
	is_string(name)
	some t in _sec1_tokens(name)
	some suffix in _sec1_suffixes
	endswith(t, suffix)
	upper(name) != "PWD"
}

_sec1_credential_name(name) if {
	is_string(name)
	tokens := _sec1_tokens(name)
	some i in numbers.range(0, count(tokens) - 2)
	[tokens[i], tokens[i + 1]] in _sec1_pairs
}

# --- credential shapes ------------------------------------------------------------------------------

# `s` holds something shaped like a credential; `name` (the variable, "" for an argument) only
# exempts hex digests under names that say so.
_sec1_credential_value(s, _) if regex.match(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY`, s)

_sec1_credential_value(s, _) if regex.match(`(^|[^A-Za-z0-9])(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}([^A-Za-z0-9]|$)`, s)

_sec1_credential_value(s, _) if regex.match(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`, s)

_sec1_credential_value(s, _) if regex.match(`(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20,})`, s)

_sec1_credential_value(s, _) if regex.match(`(xox[abposr]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/[A-Za-z0-9_/]+)`, s)

_sec1_credential_value(s, _) if regex.match(`((sk|rk)_live_[A-Za-z0-9]{20,}|AIza[A-Za-z0-9_-]{35}|hf_[A-Za-z0-9]{30,})`, s)

_sec1_credential_value(s, _) if regex.match(`(authorization|authentication):\s*(bearer|basic|token|digest)\s+[^\s'"]+`, lower(s))

# A URL with a password in its user info (a $(VAR) password is a reference, not a literal).
_sec1_credential_value(s, _) if {
	some m in regex.find_all_string_submatch_n(`[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@`, s, -1)
	not _sec1_reference(m[1])
}

# key=value (flags, query strings, connection strings) or "key": "value" (JSON) with a credential key.
_sec1_credential_value(s, _) if {
	some m in regex.find_all_string_submatch_n(`([A-Za-z][A-Za-z0-9_.-]*)=([^\s;&|'",]+)`, s, -1)
	_sec1_credential_name(m[1])
	not _sec1_harmless(m[1], m[2])
}

# Double quotes are turned into single ones first: regopy matches a string's `"` as `\"`.
_sec1_credential_value(s, _) if {
	some m in regex.find_all_string_submatch_n(`'([A-Za-z][A-Za-z0-9_.-]*)'\s*:\s*'([^']+)'`, replace(s, "\"", "'"), -1)
	_sec1_credential_name(m[1])
	not _sec1_harmless(m[1], m[2])
}

# A long random-looking run: base64 with upper case, lower case and digits (not a path), or hex that
# is no algorithm-tagged digest and is not under a name that says digest.
_sec1_credential_value(s, name) if {
	not _sec1_public_key(s)
	some run in regex.find_n(`[A-Za-z0-9+/_=-]{32,}`, s, -1)
	_sec1_random(s, run, name)
}

# Certificates and public keys are long base64 but no secret (a private key in the same value is).
_sec1_public_key(s) if regex.match(`-----BEGIN (CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY)-----`, s)

_sec1_public_key(s) if regex.match(`^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp[0-9]+) AAAA[A-Za-z0-9+/=]+( [^\s]*)?$`, s)

_sec1_random(_, run, _) if {
	not startswith(run, "/")
	regex.match(`[A-Z]`, run)
	regex.match(`[a-z]`, run)
	regex.match(`[0-9]`, run)
}

_sec1_random(s, run, name) if {
	regex.match(`^[0-9a-fA-F]{32,}$`, run)
	not _sec1_digest(s, run, name)
}

_sec1_digest(s, run, _) if {
	some algorithm in ["sha1:", "sha256:", "sha384:", "sha512:", "md5:"]
	contains(s, concat("", [algorithm, run]))
}

_sec1_digest(_, _, name) if {
	is_string(name)
	some t in _sec1_tokens(name)
	t in {"DIGEST", "SHA", "SHA1", "SHA256", "SHA512", "HASH", "CHECKSUM", "COMMIT", "REVISION", "REV", "FINGERPRINT", "ETAG"}
}
