package phistack.rules.secrets.phi_sec_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.secrets.phi_sec_001

_deny(resources) := phi_sec_001.findings(fx.ctx(resources))

_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

_cc := "kata-qemu-nvidia-gpu-snp"

_phi(containers) := fx.deployment("nlp", "phi", fx.pod(_cc, containers, []))

# The fixture's runtime container with extra env entries after its five (the first is env[5]).
_with_env(extra) := _phi([fx.container(fx.image, array.concat(fx.env, extra))])

_with_container_fields(fields) := _phi([object.union(fx.container(fx.image, fx.env), fields)])

_env(name, value) := {"name": name, "value": value}

_c := "spec.template.spec.containers[0]"

_head := "PHI-SEC-001: PHI workload nlp has credentials in clear in its pod spec: "

_tail := "; reference a Secret (valueFrom.secretKeyRef, envFrom secretRef or a secret volume) instead"

_denied(problems) := {{"id": "PHI-SEC-001", "urn": _urn, "msg": concat("", [_head, concat("; ", sort(problems)), _tail])}}

_literal(i, name) := concat("", [_c, ".env[", format_int(i, 10), "] (", name, ") sets a credential-named variable to a literal value"])

_shaped(i, name) := concat("", [_c, ".env[", format_int(i, 10), "] (", name, ") holds a value shaped like a credential"])

_fails_closed(paths) := {{
	"id": "PHI-SEC-001",
	"urn": _urn,
	"msg": "PHI-SEC-001: a value that may hold a credential is unknown at plan time; the control cannot be verified, so it fails closed",
	"unknown": paths,
}}

_pem_key := "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----\n"

_pem_cert := "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----\n"

_config_map(name, data) := fx.resource("kubernetes:core/v1:ConfigMap", name, {
	"apiVersion": "v1",
	"kind": "ConfigMap",
	"metadata": {"name": name, "namespace": "clinical"},
	"data": data,
})

# --- allowed ---

test_allowed_reference_environment if {
	_deny([fx.phi_deployment]) == set()
}

test_allowed_credentials_from_secrets if {
	env := [
		{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
		_env("DB_PASSWORD_FILE", "/run/secrets/db/password"),
		_env("OIDC_TOKEN_URL", "https://login.example-hospital.org/oauth2/token"),
		_env("DATABASE_URL", "postgres://etl:$(DB_PASSWORD)@db.example-hospital.org:5432/notes"),
		_env("REDIS_AUTH", "$(REDIS_PASSWORD)"),
		_env("EMPTY_TOKEN", ""),
	]
	w := _phi([object.union(fx.container(fx.image, array.concat(fx.env, env)), {
		"envFrom": [{"secretRef": {"name": "api-keys"}}],
		"args": ["--db-password=$(DB_PASSWORD)", "--token-file", "/run/secrets/api/token"],
	})])
	_deny([w]) == set()
}

test_allowed_digests_identifiers_and_certificates if {
	env := [
		_env("PHISTACK_MODEL_DIGEST", "sha256:faa29b610e5365160086e4cde1fa31d70680702e50c75af396038aae94cb8adf"),
		_env("BUILD_COMMIT", "4c1d9e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e"),
		_env("REQUEST_ID", "123e4567-e89b-12d3-a456-426614174000"),
		_env("TOKENIZER_MODEL", "clinical-bert-base-uncased"),
		_env("KEYCLOAK_REALM", "hospital"),
		_env("CA_BUNDLE", _pem_cert),
		_env("PHISTACK_PURPOSE", "Extract problem lists and findings from notes for the treating care team"),
		_env("DATA_DIR", "/data/genomics/cohort-2024/variants/chr1/calls"),
		_env("PWD", "/workspace"),
	]
	_deny([_with_env(env)]) == set()
}

test_allowed_non_phi_workload_with_password if {
	w := fx.deployment("sim", "none", fx.pod("runc", [fx.container(fx.image, [_env("DB_PASSWORD", "Winter2026!clinical")])], []))
	_deny([w]) == set()
}

# --- denied: credential-named variables with literal values ---

test_denied_literal_password if {
	_deny([_with_env([_env("DB_PASSWORD", "Winter2026!clinical")])]) == _denied([_literal(5, "DB_PASSWORD")])
}

test_denied_names_as_word_parts if {
	env := [
		_env("dbPassword", "hunter2"),
		_env("API_TOKEN", "tok_live_x"),
		_env("STRIPE_API_KEY", "k"),
		_env("apiKey", "k"),
		_env("CLIENT_SECRET", "s"),
		_env("MYSQL_ROOT_PASSWD", "p"),
		_env("DB_PWD", "p"),
		_env("GOOGLE_CREDENTIALS", "c"),
		_env("NOTES_DSN", "host=db user=etl"),
		_env("SQL_CONNECTION_STRING", "Server=db;Database=notes"),
		_env("BASIC_AUTH", "etl:etl"),
	]
	_deny([_with_env(env)]) == _denied([
		_literal(5, "dbPassword"), _literal(6, "API_TOKEN"), _literal(7, "STRIPE_API_KEY"), _literal(8, "apiKey"),
		_literal(9, "CLIENT_SECRET"), _literal(10, "MYSQL_ROOT_PASSWD"), _literal(11, "DB_PWD"),
		_literal(12, "GOOGLE_CREDENTIALS"), _literal(13, "NOTES_DSN"), _literal(14, "SQL_CONNECTION_STRING"),
		_literal(15, "BASIC_AUTH"),
	])
}

# A *_FILE name does not excuse a value that is no path.
test_denied_password_file_name_with_literal if {
	_deny([_with_env([_env("DB_PASSWORD_FILE", "hunter2")])]) == _denied([_literal(5, "DB_PASSWORD_FILE")])
}

# An unknown literal under a credential name is a literal credential whatever its value.
test_denied_credential_name_with_unknown_literal if {
	_deny([_with_env([_env("DB_PASSWORD", fx.unknown)])]) == _denied([_literal(5, "DB_PASSWORD")])
}

test_denied_pulumi_secret_as_literal if {
	_deny([_with_env([_env("DB_PASSWORD", {"__secret__": true}), _env("LICENSE", {"__secret__": true})])]) == _denied([
		_literal(5, "DB_PASSWORD"),
		concat("", [_c, ".env[5] (DB_PASSWORD) sets a Pulumi secret as a literal value, which lands in clear in the pod spec"]),
		concat("", [_c, ".env[6] (LICENSE) sets a Pulumi secret as a literal value, which lands in clear in the pod spec"]),
	])
}

# The same variable from a Secret and again as a literal: Kubernetes uses the last one.
test_denied_duplicate_literal_after_secret_ref if {
	env := [
		{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
		_env("DB_PASSWORD", "Winter2026!clinical"),
	]
	_deny([_with_env(env)]) == _denied([_literal(6, "DB_PASSWORD")])
}

# --- denied: credential-shaped values under neutral names ---

test_denied_aws_access_key_id if {
	_deny([_with_env([_env("OBJECT_STORE_ID", "AKIAQ3EGWTPZ4X7NDR5K")])]) == _denied([_shaped(5, "OBJECT_STORE_ID")])
}

test_denied_aws_secret_access_key if {
	_deny([_with_env([_env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY")])]) == _denied([
		_literal(5, "AWS_SECRET_ACCESS_KEY"),
		_shaped(5, "AWS_SECRET_ACCESS_KEY"),
	])
}

test_denied_pem_private_key if {
	_deny([_with_env([_env("TLS_MATERIAL", _pem_key)])]) == _denied([_shaped(5, "TLS_MATERIAL")])
}

test_denied_url_with_password if {
	_deny([_with_env([_env("DATABASE_URL", "postgres://etl:S3cr3t-pw@db.example-hospital.org:5432/notes")])]) == _denied([_shaped(5, "DATABASE_URL")])
}

test_denied_token_in_query_and_connection_string if {
	env := [
		_env("FEED", "https://feeds.example.org/hl7?access_token=abc123"),
		_env("NOTES_DB", "Server=db;User Id=etl;Password=Winter2026;"),
		_env("SETTINGS", "{\"user\": \"etl\", \"password\": \"Winter2026\"}"),
	]
	_deny([_with_env(env)]) == _denied([_shaped(5, "FEED"), _shaped(6, "NOTES_DB"), _shaped(7, "SETTINGS")])
}

test_denied_token_shapes if {
	env := [
		_env("SESSION", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJldGwifQ.c2lnbmF0dXJl"),
		_env("GH", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
		_env("CHAT", "xoxb-123456789012-abcdefghij"),
		_env("HUB", "hf_abcdefghijklmnopqrstuvwxyzABCDEF"),
		_env("BLOB", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1O"),
		_env("SEED", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
	]
	_deny([_with_env(env)]) == _denied([
		_shaped(5, "SESSION"), _shaped(6, "GH"), _shaped(7, "CHAT"),
		_shaped(8, "HUB"), _shaped(9, "BLOB"), _shaped(10, "SEED"),
	])
}

# --- denied: credentials taken from ConfigMaps (stored in clear) ---

test_denied_config_map_key_ref_for_credential if {
	env := [{"name": "DB_PASSWORD", "valueFrom": {"configMapKeyRef": {"name": "db-settings", "key": "password"}}}]
	_deny([_with_env(env)]) == _denied([concat("", [_c, ".env[5] (DB_PASSWORD) takes a credential from a ConfigMap (stored in clear), not a Secret"])])
}

test_denied_env_from_config_map_with_password if {
	w := _with_container_fields({"envFrom": [{"configMapRef": {"name": "db-settings"}}]})
	cm := _config_map("db-settings", {"DB_HOST": "db.example-hospital.org", "DB_PASSWORD": "Winter2026!clinical"})
	_deny([w, cm]) == _denied([concat("", [_c, ".envFrom[0] (DB_PASSWORD) loads a credential from ConfigMap db-settings, which stores it in clear"])])
}

test_denied_env_from_config_map_prefix_makes_the_name if {
	w := _with_container_fields({"envFrom": [{"configMapRef": {"name": "db-settings"}, "prefix": "DB_"}]})
	cm := _config_map("db-settings", {"HOST": "db.example-hospital.org", "PASSWORD": "Winter2026!clinical"})
	_deny([w, cm]) == _denied([concat("", [_c, ".envFrom[0] (DB_PASSWORD) loads a credential from ConfigMap db-settings, which stores it in clear"])])
}

test_allowed_env_from_config_map_without_credentials if {
	w := _with_container_fields({"envFrom": [{"configMapRef": {"name": "settings"}}, {"configMapRef": {"name": "elsewhere"}}]})
	_deny([w, _config_map("settings", {"LOG_LEVEL": "info"})]) == set()
}

# --- denied: credentials on the command line ---

test_denied_args_password_flag if {
	_deny([_with_container_fields({"args": ["--password=Winter2026!clinical"]})]) == _denied([concat("", [_c, ".args[0] passes a credential on the command line"])])
}

test_denied_args_password_flag_then_value if {
	_deny([_with_container_fields({"args": ["--verbose", "--password", "Winter2026!clinical"]})]) == _denied([concat("", [_c, ".args[2] passes the value of --password on the command line"])])
}

# Kubernetes runs command followed by args: a flag at the end of command takes the first arg.
test_denied_flag_in_command_value_in_args if {
	_deny([_with_container_fields({"command": ["/app/run", "--api-key"], "args": ["k-1234"]})]) == _denied([concat("", [_c, ".args[0] passes the value of --api-key on the command line"])])
}

test_denied_authorization_header_in_shell_command if {
	fields := {"command": ["sh", "-c"], "args": ["curl -H 'Authorization: Bearer abc.def.ghi' https://kbs.example-hospital.org"]}
	_deny([_with_container_fields(fields)]) == _denied([concat("", [_c, ".args[0] passes a credential on the command line"])])
}

test_denied_pulumi_secret_in_args if {
	_deny([_with_container_fields({"args": ["--license", {"__secret__": true}]})]) == _denied([
		concat("", [_c, ".args[1] passes a Pulumi secret on the command line, in clear in the pod spec"]),
	])
}

# --- every container counts ---

test_denied_init_and_ephemeral_containers if {
	init := {"name": "migrate", "image": fx.image, "env": [_env("PGPASSWORD", "x")]}
	debug := {"name": "debug", "image": "busybox", "args": ["--token=abc"]}
	w := fx.deployment("nlp", "phi", {
		"runtimeClassName": _cc,
		"initContainers": [init],
		"containers": [fx.container(fx.image, fx.env)],
		"ephemeralContainers": [debug],
	})
	_deny([w]) == _denied([
		"spec.template.spec.ephemeralContainers[0].args[0] passes a credential on the command line",
		"spec.template.spec.initContainers[0].env[0] (PGPASSWORD) sets a credential-named variable to a literal value",
	])
}

# --- unknown values fail closed ---

test_unknown_value_under_neutral_name if {
	_deny([_with_env([_env("LICENSE_BLOB", fx.unknown)])]) == _fails_closed([concat("", [_c, ".env[5].value"])])
}

test_unknown_env_name if {
	_deny([_with_env([_env(fx.unknown, "x")])]) == _fails_closed([concat("", [_c, ".env[5].name"])])
}

test_unknown_env_list_and_args_element if {
	w := _phi([object.union(fx.container(fx.image, fx.unknown), {"args": ["--mode", fx.unknown]})])
	_deny([w]) == _fails_closed([concat("", [_c, ".args[1]"]), concat("", [_c, ".env"])])
}

test_unknown_containers if {
	_deny([_phi(fx.unknown)]) == _fails_closed(["spec.template.spec.containers"])
}

test_unknown_env_from_config_map_name if {
	w := _with_container_fields({"envFrom": [{"configMapRef": {"name": fx.unknown}}]})
	_deny([w]) == _fails_closed([concat("", [_c, ".envFrom[0].configMapRef.name"])])
}

test_unknown_config_map_value_under_neutral_key if {
	w := _with_container_fields({"envFrom": [{"configMapRef": {"name": "settings"}}]})
	_deny([w, _config_map("settings", {"LICENSE_BLOB": fx.unknown})]) == _fails_closed(["ConfigMap settings data.LICENSE_BLOB"])
}

test_unknown_value_from_under_credential_name if {
	_deny([_with_env([{"name": "DB_PASSWORD", "valueFrom": fx.unknown}])]) == _fails_closed([concat("", [_c, ".env[5].valueFrom"])])
}

# --- probes and lifecycle hooks run commands and send headers too ---

test_denied_probe_exec_and_header_credentials if {
	fields := {
		"readinessProbe": {"exec": {"command": ["mysqladmin", "ping", "--password=Winter2026"]}},
		"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8443, "httpHeaders": [{"name": "Authorization", "value": "Bearer abc"}]}},
		"lifecycle": {"preStop": {"exec": {"command": ["/bin/drain", "--token", "abc"]}}},
	}
	_deny([_with_container_fields(fields)]) == _denied([
		concat("", [_c, ".lifecycle.preStop.exec.command[2] passes the value of --token on the command line"]),
		concat("", [_c, ".livenessProbe.httpGet.httpHeaders[0] (Authorization) sends a literal credential"]),
		concat("", [_c, ".readinessProbe.exec.command[2] passes a credential on the command line"]),
	])
}

test_allowed_probe_headers_without_credentials if {
	fields := {"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8443, "httpHeaders": [{"name": "Accept", "value": "application/json"}]}}}
	_deny([_with_container_fields(fields)]) == set()
}

test_unknown_probe_command_and_header if {
	fields := {
		"readinessProbe": {"exec": {"command": ["check", fx.unknown]}},
		"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8443, "httpHeaders": [{"name": "X-Trace", "value": fx.unknown}]}},
		"startupProbe": fx.unknown,
	}
	_deny([_with_container_fields(fields)]) == _fails_closed([
		concat("", [_c, ".livenessProbe.httpGet.httpHeaders[0].value"]),
		concat("", [_c, ".readinessProbe.exec.command[1]"]),
		concat("", [_c, ".startupProbe"]),
	])
}

# --- each workload is judged on its own ---

test_denied_only_the_workload_with_the_credential if {
	clean := fx.deployment("clean", "phi", fx.pod(_cc, [fx.container(fx.image, array.concat(fx.env, [_env("MODE", "batch")]))], []))
	{f.urn | some f in _deny([clean, _with_env([_env("DB_PASSWORD", "x")]), _with_env([_env("DB_PASSWORD", "x")])])} == {_urn}
	_deny([_with_env([_env("DB_PASSWORD", "x")]), clean]) == _denied([_literal(5, "DB_PASSWORD")])
}

# --- missing fields fail closed ---

# An env entry without a name is still read for a credential-shaped value.
test_missing_env_name_still_checks_value if {
	_deny([_with_env([{"value": "AKIAQ3EGWTPZ4X7NDR5K"}])]) == _denied([concat("", [_c, ".env[5] (unnamed) holds a value shaped like a credential"])])
}

# A credential-named entry with neither value nor valueFrom carries nothing (Kubernetes sets ""),
# and a *_FILE name without a path value is no path.
test_missing_value_and_path if {
	_deny([_with_env([{"name": "DB_PASSWORD"}])]) == set()
	_deny([_with_env([_env("DB_PASSWORD_FILE", "relative/pw")])]) == _denied([_literal(5, "DB_PASSWORD_FILE")])
}
