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
package phistack.rules.secrets.phi_sec_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in ctx.phi_workloads
	f := _finding(ctx, w)
}

# One finding per workload: unknown values fail closed, else every credential in clear, sorted.
_finding(ctx, w) := lib.unknown_finding("PHI-SEC-001", w.urn, "a value that may hold a credential", lib.sorted(paths)) if {
	paths := _unknowns_of(ctx, w)
	count(paths) > 0
} else := f if {
	problems := _problems(ctx, w)
	count(problems) > 0
	f := lib.finding("PHI-SEC-001", w.urn, concat("", [
		"PHI workload ", _string_or(lib.name_of(w), w.name), " has credentials in clear in its pod spec: ",
		concat("; ", lib.sorted(problems)),
		"; reference a Secret (valueFrom.secretKeyRef, envFrom secretRef or a secret volume) instead",
	]))
}

_label(name) := name if name != ""

else := "unnamed"

_string_or(x, fallback) := x if is_string(x)

else := fallback

_prefix(w) := concat(".", lib.pod_spec_path(w))

_container_fields := ["initContainers", "containers", "ephemeralContainers"]

# lib.containers reads every container list by index: only call it when each list is an array.
_containers(w) := [c | some c in lib.containers(w); is_object(c.container)] if {
	spec := lib.pod_spec(w)
	is_object(spec)
	every field in _container_fields {
		_list_or_absent(object.get(spec, field, null))
	}
} else := []

_list_or_absent(x) if x == null

_list_or_absent(x) if is_array(x)

_list(container, field) := object.get(container, field, [])

# --- unknown values -------------------------------------------------------------------------------

# Nothing in the workload's own inputs is unknown (no "__unknown__" key anywhere in them): only the
# ConfigMaps its envFrom loads can be. One serialisation instead of walking every path below.
_unknowns_of(ctx, w) := _config_map_unknowns(ctx, w) if {
	not lib.holds_unknown(w.inputs)
} else := {path} if {
	path := lib.unknown_path(w.inputs, lib.pod_spec_path(w))
} else := paths if {
	spec := lib.pod_spec(w)
	is_object(spec)
	lists := {path |
		some field in _container_fields
		listed := object.get(spec, field, [])
		some path in _unknown_items(listed, concat(".", [_prefix(w), field]))
	}
	count(lists) > 0
	paths := lists
} else := {path |
	some c in _containers(w)
	some path in _container_unknown(ctx, w, c)
}

_config_map_unknowns(ctx, w) := {path |
	some c in _containers(w)
	some path in _env_from_unknown(ctx, w, c)
}

# The path of a list that is unknown, or of its unknown items. (Comprehension heads here are variables
# bound in their bodies: regopy 1.5.2 mixes up function arguments used in a comprehension head.)
_unknown_items(listed, path) := {p |
	lib.is_unknown(listed)
	p := path
} | {p |
	is_array(listed)
	some i
	item := listed[i] # bound first: regopy does not pass listed[i] to a function here
	lib.is_unknown(item)
	p := concat("", [path, "[", format_int(i, 10), "]"])
}

_container_unknown(ctx, w, c) := (((_env_unknown(c) | _env_from_unknown(ctx, w, c)) | _argv_unknown(c)) | _handler_unknown(c)) | {path |
	some field in ["env", "envFrom", "command", "args"]
	some path in _unknown_items(_list(c.container, field), concat(".", [c.path, field]))
}

# Probes and lifecycle hooks run commands and send headers too.
_handlers := [["livenessProbe"], ["readinessProbe"], ["startupProbe"], ["lifecycle", "postStart"], ["lifecycle", "preStop"]]

_handler_unknown(c) := {path |
	some handler in _handlers
	some field in [["exec", "command"], ["httpGet", "httpHeaders"]]
	rel := lib.unknown_path(c.container, array.concat(handler, field))
	path := concat(".", [c.path, rel])
} | {path |
	some handler in _handlers
	some field in [["exec", "command"], ["httpGet", "httpHeaders"]]
	listed := object.get(c.container, array.concat(handler, field), [])
	some path in _unknown_items(listed, concat(".", array.concat([c.path], array.concat(handler, field))))
} | {path |
	some header in _headers(c)
	lib.is_unknown(header.name)
	path := concat("", [header.path, ".name"])
} | {path |
	some header in _headers(c)
	lib.is_unknown(header.value)
	not _credential_header(header.name)
	path := concat("", [header.path, ".value"])
}

# An env entry whose name is unknown, or whose literal value is unknown under a name that does not say
# credential (one that does is a literal credential whatever its value: a problem, not an unknown).
_env_unknown(c) := {path |
	env := _list(c.container, "env")
	is_array(env)
	some i
	entry := env[i]
	is_object(entry)
	some path in _entry_unknown(entry, concat("", [c.path, ".env[", format_int(i, 10), "]"]))
}

_entry_unknown(entry, path) := {concat("", [path, ".name"])} if {
	lib.is_unknown(object.get(entry, "name", null))
} else := {concat("", [path, ".value"])} if {
	lib.is_unknown(object.get(entry, "value", null))
	not _credential_name(entry.name)
} else := {concat("", [path, ".valueFrom"])} if {
	lib.is_unknown(object.get(entry, "valueFrom", null))
	_credential_name(entry.name)
} else := set()

_env_from_unknown(ctx, w, c) := {path |
	some source in _config_map_sources(c)
	some path in _source_unknown(ctx, w, source)
}

_source_unknown(ctx, w, source) := {concat("", [source.path, ".configMapRef.name"])} if {
	lib.is_unknown(source.name)
} else := {concat("", [source.path, ".prefix"])} if {
	lib.is_unknown(source.prefix)
} else := {path |
	some cm in _config_maps(ctx, w, source.name)
	lib.is_unknown(object.get(cm.inputs, "data", {}))
	path := concat("", ["ConfigMap ", source.name, " data"])
} | {path |
	is_string(source.prefix)
	some cm in _config_maps(ctx, w, source.name)
	values := object.get(cm.inputs, "data", {})
	is_object(values)
	some key
	value := values[key] # bound first: regopy does not pass values[key] to a function here
	lib.is_unknown(value)
	not _credential_name(concat("", [source.prefix, key]))
	path := concat("", ["ConfigMap ", source.name, " data.", key])
}

_argv_unknown(c) := {path |
	some argv in _argvs(c)
	some arg in argv
	lib.is_unknown(arg.value)
	path := arg.path
}

# --- problems -------------------------------------------------------------------------------------

_problems(ctx, w) := {msg |
	some c in _containers(w)
	some msg in _container_leaks(ctx, w, c)
}

# Each container's command lines and headers are gathered once here and handed on.
_container_leaks(ctx, w, c) := ((_env_problems(c) | _env_from_problems(ctx, w, c)) | _argv_problems(_argvs(c))) | _header_problems(_headers(c))

_env_problems(c) := {msg |
	env := _list(c.container, "env")
	is_array(env)
	some i
	entry := env[i]
	is_object(entry)
	name := object.get(entry, "name", "") # a missing name is no excuse: the value is still checked
	is_string(name)
	some problem in _entry_problems(entry, name)
	msg := concat("", [c.path, ".env[", format_int(i, 10), "] (", _label(name), ") ", problem])
}

_entry_problems(entry, name) := {"sets a credential-named variable to a literal value" |
	"value" in object.keys(entry)
	_credential_name(name)
	not _harmless(name, entry.value)
} | {"holds a value shaped like a credential" |
	value := object.get(entry, "value", null)
	is_string(value)
	_credential_value(value, name)
} | {"sets a Pulumi secret as a literal value, which lands in clear in the pod spec" |
	_pulumi_secret(object.get(entry, "value", null))
} | {p |
	ref := object.get(entry, ["valueFrom", "configMapKeyRef"], null)
	is_object(ref)
	_credential_name(name)
	p := "takes a credential from a ConfigMap (stored in clear), not a Secret"
}

# Literal values that carry no credential: empty, a reference to another variable ($(VAR), which
# Kubernetes expands from the container's environment), a file path or a URL under a *_FILE, *_PATH,
# *_URL... name. The value is still checked for credential shapes.
_harmless(_, value) if value in {"", null}

_harmless(_, value) if _reference(value)

_harmless(name, value) if {
	is_string(value)
	_last_token(name) in {"FILE", "FILENAME", "PATH", "DIR", "DIRECTORY"}
	regex.match(`^/[^\s]*$`, value)
}

_harmless(name, value) if {
	is_string(value)
	_last_token(name) in {"URL", "URI", "ENDPOINT", "ISSUER"}
	regex.match(`^[a-z][a-z0-9+.-]*://[^\s@/?#]+([/?#][^\s]*)?$`, value)
}

_reference(value) if {
	is_string(value)
	regex.match(`^\$(\([A-Za-z_][A-Za-z0-9_.-]*\)|\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$`, value)
}

_pulumi_secret(value) if {
	is_object(value)
	value.__secret__ == true
}

# --- envFrom: a ConfigMap of the plan loaded whole into the environment ----------------------------

# The configMapRef sources of a container's envFrom with their paths, names and prefixes.
_config_map_sources(c) := [entry |
	sources := _list(c.container, "envFrom")
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
_config_maps(ctx, w, name) := lib.named(ctx, "kubernetes:core/v1:ConfigMap", lib.namespace_of(w), name) if is_string(name)

else := []

_env_from_problems(ctx, w, c) := {msg |
	some source in _config_map_sources(c)
	is_string(source.prefix)
	some cm in _config_maps(ctx, w, source.name)
	values := object.get(cm.inputs, "data", {})
	is_object(values)
	some key
	value := values[key]
	variable := concat("", [source.prefix, key])
	_config_map_credential(variable, value)
	msg := concat("", [source.path, " (", variable, ") loads a credential from ConfigMap ", source.name, ", which stores it in clear"])
}

_config_map_credential(variable, value) if {
	_credential_name(variable)
	not _harmless(variable, value)
}

_config_map_credential(variable, value) if {
	is_string(value)
	_credential_value(value, variable)
}

_config_map_credential(_, value) if _pulumi_secret(value)

# --- command and args: what the container runs, command first ---------------------------------------

_argv(c) := array.concat(_args(c, "command"), _args(c, "args"))

# Every command line of a container: its own, then its probes' and lifecycle hooks' exec commands.
_argvs(c) := array.concat([_argv(c)], [argv |
	some handler in _handlers
	listed := object.get(c.container, array.concat(handler, ["exec", "command"]), [])
	is_array(listed)
	prefix := concat(".", array.concat([c.path], handler))
	argv := [arg |
		some i
		value := listed[i]
		arg := {"path": concat("", [prefix, ".exec.command[", format_int(i, 10), "]"]), "value": value}
	]
])

_args(c, field) := [arg |
	listed := _list(c.container, field)
	is_array(listed)
	some i
	value := listed[i]
	arg := {"path": concat("", [c.path, ".", field, "[", format_int(i, 10), "]"]), "value": value}
]

_argv_problems(argvs) := {msg |
	some argv in argvs
	some arg in argv
	is_string(arg.value)
	_credential_value(arg.value, "")
	msg := concat("", [arg.path, " passes a credential on the command line"])
} | {msg |
	some argv in argvs
	some arg in argv
	_pulumi_secret(arg.value)
	msg := concat("", [arg.path, " passes a Pulumi secret on the command line, in clear in the pod spec"])
} | {msg |
	some argv in argvs
	some i in numbers.range(0, count(argv) - 2)
	flag := argv[i].value
	is_string(flag)
	regex.match(`^--?[A-Za-z][A-Za-z0-9_.-]*$`, flag)
	_credential_name(flag)
	value := argv[i + 1].value
	_flag_value(flag, value)
	msg := concat("", [argv[i + 1].path, " passes the value of ", flag, " on the command line"])
}

# HTTP headers of probes and lifecycle hooks, with their paths.
_headers(c) := [header |
	some handler in _handlers
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

_credential_header(name) if {
	is_string(name)
	lower(name) in {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"}
}

_credential_header(name) if _credential_name(name)

_header_problems(headers) := {msg |
	some header in headers
	is_string(header.name)
	_credential_header(header.name)
	not _harmless(header.name, header.value)
	msg := concat("", [header.path, " (", header.name, ") sends a literal credential"])
} | {msg |
	some header in headers
	is_string(header.name)
	is_string(header.value)
	_credential_value(header.value, header.name)
	msg := concat("", [header.path, " (", header.name, ") sends a value shaped like a credential"])
}

# The element after a credential flag is its value unless it is another flag or harmless.
_flag_value(_, value) if not is_string(value)

_flag_value(flag, value) if {
	is_string(value)
	not startswith(value, "-")
	not _harmless(flag, value)
}

# --- credential names -------------------------------------------------------------------------------

# The words of a name, upper-cased: split at non-alphanumerics and at camelCase boundaries (a match of
# the word pattern never spans a non-alphanumeric, so one pass over the whole name splits at both).
_tokens(name) := [upper(t) | some t in regex.find_n(`[A-Z]?[a-z0-9]+|[A-Z]+`, name, -1)]

_last_token(name) := tokens[count(tokens) - 1] if {
	is_string(name)
	tokens := _tokens(name)
	count(tokens) > 0
}

# Words that make a name a credential's name anywhere in it (PGPASSWORD, AWS_SECRET_ACCESS_KEY) ...
_infixes := {"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "APIKEY", "ACCESSKEY", "PRIVATEKEY", "CONNSTRING", "CONNECTIONSTRING"}

# ... words that do as a whole word of it (AUTH but not AUTHOR, PASS but not BYPASS) ...
_words := {"PASS", "AUTH", "DSN", "BEARER", "CREDS", "CONNSTR"}

# ... words that do at the end of a word of it (AUTHTOKEN, DBPWD but not TOKENIZER) ...
_suffixes := {"TOKEN", "TOKENS", "PWD"}

# ... and pairs of words that do together.
_pairs := {
	["API", "KEY"], ["API", "KEYS"], ["ACCESS", "KEY"], ["PRIVATE", "KEY"], ["SIGNING", "KEY"],
	["ENCRYPTION", "KEY"], ["MASTER", "KEY"], ["ACCOUNT", "KEY"], ["SHARED", "KEY"], ["CLIENT", "KEY"],
	["SESSION", "KEY"], ["CONN", "STR"], ["CONN", "STRING"], ["CONNECTION", "STRING"],
}

# The name is split into words once: names are checked for every env entry, flag and header of every
# PHI workload, and an engine evaluates a function again at each call.
_credential_name(name) if {
	is_string(name)
	_credential_words(upper(name), _tokens(name))
}

_credential_words(upper_name, _) if {
	some infix in _infixes
	contains(upper_name, infix)
}

_credential_words(_, tokens) if {
	some t in tokens
	t in _words
}

# PWD alone is the shell's working directory; DB_PWD is a password.
_credential_words(upper_name, tokens) if {
	some t in tokens
	some suffix in _suffixes
	endswith(t, suffix)
	upper_name != "PWD"
}

_credential_words(_, tokens) if {
	some i in numbers.range(0, count(tokens) - 2)
	[tokens[i], tokens[i + 1]] in _pairs
}

# --- credential shapes ------------------------------------------------------------------------------

# `s` holds something shaped like a credential; `name` (the variable, "" for an argument) only
# exempts hex digests under names that say so.
# Each shape first checks something cheap that every match must have (a substring, a length): values are
# checked for every env entry, argument and header of every PHI workload, and most are short and plain.
_credential_value(s, _) if {
	contains(s, "PRIVATE KEY")
	regex.match(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY`, s)
}

_credential_value(s, _) if {
	count(s) >= 20
	regex.match(`(^|[^A-Za-z0-9])(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}([^A-Za-z0-9]|$)`, s)
}

_credential_value(s, _) if {
	contains(s, "eyJ")
	regex.match(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`, s)
}

_credential_value(s, _) if {
	count(s) >= 26
	regex.match(`(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20,})`, s)
}

_credential_value(s, _) if {
	count(s) >= 15
	regex.match(`(xox[abposr]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/[A-Za-z0-9_/]+)`, s)
}

_credential_value(s, _) if {
	count(s) >= 28
	regex.match(`((sk|rk)_live_[A-Za-z0-9]{20,}|AIza[A-Za-z0-9_-]{35}|hf_[A-Za-z0-9]{30,})`, s)
}

_credential_value(s, _) if {
	contains(s, ":")
	regex.match(`(authorization|authentication):\s*(bearer|basic|token|digest)\s+[^\s'"]+`, lower(s))
}

# A URL with a password in its user info (a $(VAR) password is a reference, not a literal).
_credential_value(s, _) if {
	contains(s, "@")
	some m in regex.find_all_string_submatch_n(`[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@`, s, -1)
	not _reference(m[1])
}

# key=value (flags, query strings, connection strings) or "key": "value" (JSON) with a credential key.
_credential_value(s, _) if {
	contains(s, "=")
	some m in regex.find_all_string_submatch_n(`([A-Za-z][A-Za-z0-9_.-]*)=([^\s;&|'",]+)`, s, -1)
	_credential_name(m[1])
	not _harmless(m[1], m[2])
}

# Double quotes are turned into single ones first: regopy matches a string's `"` as `\"`.
_credential_value(s, _) if {
	contains(s, ":")
	some m in regex.find_all_string_submatch_n(`'([A-Za-z][A-Za-z0-9_.-]*)'\s*:\s*'([^']+)'`, replace(s, "\"", "'"), -1)
	_credential_name(m[1])
	not _harmless(m[1], m[2])
}

# A long random-looking run: base64 with upper case, lower case and digits (not a path), or hex that
# is no algorithm-tagged digest and is not under a name that says digest.
_credential_value(s, name) if {
	count(s) >= 32
	not _public_key(s)
	some run in regex.find_n(`[A-Za-z0-9+/_=-]{32,}`, s, -1)
	_random(s, run, name)
}

# Certificates and public keys are long base64 but no secret (a private key in the same value is).
_public_key(s) if regex.match(`-----BEGIN (CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY)-----`, s)

_public_key(s) if regex.match(`^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp[0-9]+) AAAA[A-Za-z0-9+/=]+( [^\s]*)?$`, s)

_random(_, run, _) if {
	not startswith(run, "/")
	regex.match(`[A-Z]`, run)
	regex.match(`[a-z]`, run)
	regex.match(`[0-9]`, run)
}

_random(s, run, name) if {
	regex.match(`^[0-9a-fA-F]{32,}$`, run)
	not _digest_like(s, run, name)
}

_digest_like(s, run, _) if {
	some algorithm in ["sha1:", "sha256:", "sha384:", "sha512:", "md5:"]
	contains(s, concat("", [algorithm, run]))
}

_digest_like(_, _, name) if {
	is_string(name)
	some t in _tokens(name)
	t in {"DIGEST", "SHA", "SHA1", "SHA256", "SHA512", "HASH", "CHECKSUM", "COMMIT", "REVISION", "REV", "FINGERPRINT", "ETAG"}
}
