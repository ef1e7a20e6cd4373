# METADATA
# title: GPU attestation appraisal
# description: >-
#   Decides whether verified attestation claims (NRAS EAT claims, or the same claims produced by the
#   offline verifier) are good enough for the key broker to release a data key. Fails closed: every
#   check is written as "deny unless the expected value is present", so a missing claim denies.
#   The caller supplies "now" (epoch seconds) and the nonce it issued; data.attestation_allowlist
#   lists the accepted driver and VBIOS versions and the maximum evidence age.
# related_resources:
#   - ref: https://docs.nvidia.com/attestation/
#     description: NVIDIA attestation documentation (EAT claims)
package phistack.attestation

import rego.v1

# The appraisal is a function of the request, `appraise(req)`, so tests call it with fixture
# requests instead of `with input as` (regopy 1.5.2 crashes on that over these rules). Messages
# are built with concat, not sprintf: regopy quotes `%s` of function arguments.

# Without the allow-list no version is accepted and no evidence age is checked (as an undefined
# data document would give); the appraisal itself stays defined.

default _allowlist := {}

_allowlist := data.attestation_allowlist

# The appraisal of the current input: {"allow": bool, "reasons": [sorted strings]}.
result := appraise(input)

allow if result.allow

# The appraisal of a request against data.attestation_allowlist.
appraise(req) := appraise_with(req, _allowlist)

# The appraisal of a request against an allow-list; allow only with no reason to deny.
appraise_with(req, allowlist) := {"allow": count(rs) == 0, "reasons": sort([r | some r in rs])} if {
	rs := reasons(req, allowlist)
}

# Every reason to deny a request, as a set.
reasons(req, allowlist) := (_request_reasons(req) | _overall_reasons(req, allowlist)) | _gpu_reasons(req, allowlist)

# --- the request as a whole ------------------------------------------------------------------------

_request_reasons(req) := ((nonce | now) | overall) | gpus if {
	nonce := {"no expected nonce in the input" | not is_string(req.nonce)}
	now := {"no evaluation time in the input" | not is_number(req.now)}
	overall := {"overall claims missing" | not is_object(req.overall)}
	gpus := {"no GPU claims presented" | not _has_gpus(req)}
}

_has_gpus(req) if {
	is_object(req.gpus)
	count(req.gpus) > 0
}

_overall_reasons(req, allowlist) := {msg |
	is_object(req.overall)
	not req.overall["x-nvidia-overall-att-result"] == true
	msg := concat("", ["overall: attestation result is ", _show(req.overall, "x-nvidia-overall-att-result"), ", not true"])
} | {msg |
	is_object(req.overall)
	some problem in _common_problems(req, allowlist, req.overall)
	msg := concat("", ["overall: ", problem])
}

# --- every GPU ---------------------------------------------------------------------------------------

_gpu_reasons(req, allowlist) := {msg |
	gpus := _gpus(req)
	some name
	claims := gpus[name]
	some problem in _gpu_problems(req, allowlist, claims)
	msg := concat("", [name, ": ", problem])
}

_gpu_problems(req, allowlist, claims) := _claim_problems(allowlist, claims) | _common_problems(req, allowlist, claims)

_claim_problems(allowlist, claims) := (required | listed) | certificates if {
	required := {msg |
		some c in _required_claims
		not claims[c.claim] == c.value
		msg := concat("", [c.before, _show(claims, c.claim), c.after])
	}
	listed := {msg |
		some c in _allow_listed_claims
		not claims[c.claim] in allowlist[c.list]
		msg := concat("", [c.before, _show(claims, c.claim), " is not allow-listed"])
	}
	certificates := {"attestation certificate chain is not valid" | not _certificates_valid(claims)}
}

# Claims that must hold exactly one value; a reason shows the value presented between `before`
# and `after`.
_required_claims := [
	{"claim": "measres", "value": "success", "before": "measurement result is ", "after": ", not success"},
	{"claim": "secboot", "value": true, "before": "secure boot is ", "after": ", not true"},
	{"claim": "dbgstat", "value": "disabled", "before": "debug status is ", "after": ", not disabled"},
	{"claim": "x-nvidia-gpu-attestation-report-nonce-match", "value": true, "before": "the report's nonce did not match (", "after": ")"},
	{"claim": "x-nvidia-gpu-attestation-report-signature-verified", "value": true, "before": "report signature not verified (", "after": ")"},
]

# Claims whose value must be in a list of data.attestation_allowlist.
_allow_listed_claims := [
	{"claim": "x-nvidia-gpu-driver-version", "list": "driver_versions", "before": "driver version "},
	{"claim": "x-nvidia-gpu-vbios-version", "list": "vbios_versions", "before": "VBIOS version "},
]

# --- checks of both the overall claims and every GPU's claims -----------------------------------------

_common_problems(req, allowlist, claims) := {msg |
	not _nonce_matches(req, claims)
	msg := concat("", ["eat_nonce ", _show(claims, "eat_nonce"), " does not match the issued nonce"])
} | _time_problems(req, allowlist, claims)

# --- helpers -----------------------------------------------------------------------------------------

_gpus(req) := req.gpus if is_object(req.gpus)

_gpus(req) := {} if not is_object(req.gpus)

_nonce_matches(req, claims) if {
	is_string(req.nonce)
	lower(claims.eat_nonce) == lower(req.nonce)
}

# NRAS v3 reports the chain as an object with a status; the older shape as one boolean.
_certificates_valid(claims) if claims["x-nvidia-gpu-attestation-report-cert-chain"]["x-nvidia-cert-status"] == "valid"

_certificates_valid(claims) if claims["x-nvidia-gpu-attestation-report-cert-chain-validated"] == true

# Empty when either half is undefined (an allow-list without a maximum age).
_time_problems(req, allowlist, claims) := {problem |
	some problem in _expiry_problems(req, claims) | _age_problems(req, allowlist, claims)
}

_expiry_problems(req, claims) := {"evidence expiry (exp) missing"} if not is_number(claims.exp)

_expiry_problems(req, claims) := {"evidence expired"} if {
	is_number(claims.exp)
	is_number(req.now)
	claims.exp <= req.now
}

_expiry_problems(req, claims) := {"evidence not yet valid (nbf)"} if {
	is_number(claims.exp)
	is_number(req.now)
	claims.exp > req.now
	is_number(claims.nbf)
	claims.nbf > req.now
}

_expiry_problems(req, claims) := set() if {
	is_number(claims.exp)
	is_number(req.now)
	claims.exp > req.now
	not _not_yet_valid(req, claims)
}

_expiry_problems(req, claims) := set() if {
	is_number(claims.exp)
	not is_number(req.now)
}

_not_yet_valid(req, claims) if {
	is_number(claims.nbf)
	claims.nbf > req.now
}

_age_problems(req, allowlist, claims) := {"evidence issue time (iat) missing"} if not is_number(claims.iat)

_age_problems(req, allowlist, claims) := {"evidence is older than the allowed maximum age"} if {
	is_number(claims.iat)
	is_number(req.now)
	req.now - claims.iat > allowlist.max_evidence_age_s
}

_age_problems(req, allowlist, claims) := set() if {
	is_number(claims.iat)
	is_number(req.now)
	req.now - claims.iat <= allowlist.max_evidence_age_s
}

_age_problems(req, allowlist, claims) := set() if {
	is_number(claims.iat)
	not is_number(req.now)
}

# A claim's value for messages. Strings are shown only when plainly printable: regopy does not
# escape quotes inside strings in its JSON output, so a quote must never reach a message.
_show(obj, key) := obj[key] if _printable_string(obj[key])

# sprintf("%v") only ever sees a boolean, number or null here, never a string.
_show(obj, key) := sprintf("%v", [obj[key]]) if {
	_has(obj, key)
	not is_string(obj[key])
	_scalar(obj[key])
}

_show(obj, key) := "of an unexpected form" if {
	_has(obj, key)
	not _printable(obj[key])
}

_show(obj, key) := "missing" if not _has(obj, key)

_printable(value) if _printable_string(value)

_printable(value) if {
	not is_string(value)
	_scalar(value)
}

_printable_string(value) if {
	is_string(value)
	regex.match(`^[A-Za-z0-9 ._:+-]*$`, value)
}

_scalar(value) if is_boolean(value)

_scalar(value) if is_number(value)

_scalar(value) if is_null(value)

_has(obj, key) if {
	_ = obj[key]
}
