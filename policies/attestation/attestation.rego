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

_allowlist := data.attestation_allowlist

# The appraisal: {"allow": bool, "reasons": [sorted strings]}; allow only with no reason to deny.
result := {"allow": count(reasons) == 0, "reasons": sort(reasons)}

allow if count(reasons) == 0

# --- the request as a whole ------------------------------------------------------------------------

reasons contains "no expected nonce in the input" if not is_string(input.nonce)

reasons contains "no evaluation time in the input" if not is_number(input.now)

reasons contains "overall claims missing" if not is_object(input.overall)

reasons contains "no GPU claims presented" if not _has_gpus

_has_gpus if {
	is_object(input.gpus)
	count(input.gpus) > 0
}

reasons contains msg if {
	is_object(input.overall)
	not input.overall["x-nvidia-overall-att-result"] == true
	msg := sprintf("overall: attestation result is %s, not true", [_show(input.overall, "x-nvidia-overall-att-result")])
}

reasons contains msg if {
	is_object(input.overall)
	not _nonce_matches(input.overall)
	msg := sprintf("overall: eat_nonce %s does not match the issued nonce", [_show(input.overall, "eat_nonce")])
}

reasons contains msg if {
	is_object(input.overall)
	some problem in _time_problems(input.overall)
	msg := sprintf("overall: %s", [problem])
}

# --- every GPU ---------------------------------------------------------------------------------------

reasons contains msg if {
	some name, claims in _gpus
	not claims.measres == "success"
	msg := sprintf("%s: measurement result is %s, not success", [name, _show(claims, "measres")])
}

reasons contains msg if {
	some name, claims in _gpus
	not claims.secboot == true
	msg := sprintf("%s: secure boot is %s, not true", [name, _show(claims, "secboot")])
}

reasons contains msg if {
	some name, claims in _gpus
	not claims.dbgstat == "disabled"
	msg := sprintf("%s: debug status is %s, not disabled", [name, _show(claims, "dbgstat")])
}

reasons contains msg if {
	some name, claims in _gpus
	not claims["x-nvidia-gpu-driver-version"] in _allowlist.driver_versions
	msg := sprintf("%s: driver version %s is not allow-listed", [name, _show(claims, "x-nvidia-gpu-driver-version")])
}

reasons contains msg if {
	some name, claims in _gpus
	not claims["x-nvidia-gpu-vbios-version"] in _allowlist.vbios_versions
	msg := sprintf("%s: VBIOS version %s is not allow-listed", [name, _show(claims, "x-nvidia-gpu-vbios-version")])
}

reasons contains msg if {
	some name, claims in _gpus
	not _nonce_matches(claims)
	msg := sprintf("%s: eat_nonce %s does not match the issued nonce", [name, _show(claims, "eat_nonce")])
}

reasons contains msg if {
	some name, claims in _gpus
	not claims["x-nvidia-gpu-attestation-report-nonce-match"] == true
	msg := sprintf("%s: the report's nonce did not match (%s)", [name, _show(claims, "x-nvidia-gpu-attestation-report-nonce-match")])
}

reasons contains msg if {
	some name, claims in _gpus
	not claims["x-nvidia-gpu-attestation-report-signature-verified"] == true
	msg := sprintf("%s: report signature not verified (%s)", [name, _show(claims, "x-nvidia-gpu-attestation-report-signature-verified")])
}

reasons contains msg if {
	some name, claims in _gpus
	not _certificates_valid(claims)
	msg := sprintf("%s: attestation certificate chain is not valid", [name])
}

reasons contains msg if {
	some name, claims in _gpus
	some problem in _time_problems(claims)
	msg := sprintf("%s: %s", [name, problem])
}

# --- helpers -----------------------------------------------------------------------------------------

_gpus := input.gpus if is_object(input.gpus)

_gpus := {} if not is_object(input.gpus)

_nonce_matches(claims) if {
	is_string(input.nonce)
	lower(claims.eat_nonce) == lower(input.nonce)
}

# NRAS v3 reports the chain as an object with a status; the older shape as one boolean.
_certificates_valid(claims) if claims["x-nvidia-gpu-attestation-report-cert-chain"]["x-nvidia-cert-status"] == "valid"

_certificates_valid(claims) if claims["x-nvidia-gpu-attestation-report-cert-chain-validated"] == true

_time_problems(claims) := {problem |
	some problem in _expiry_problems(claims) | _age_problems(claims)
}

_expiry_problems(claims) := {"evidence expiry (exp) missing"} if not is_number(claims.exp)

_expiry_problems(claims) := {"evidence expired"} if {
	is_number(claims.exp)
	is_number(input.now)
	claims.exp <= input.now
}

_expiry_problems(claims) := {"evidence not yet valid (nbf)"} if {
	is_number(claims.exp)
	is_number(input.now)
	claims.exp > input.now
	is_number(claims.nbf)
	claims.nbf > input.now
}

_expiry_problems(claims) := set() if {
	is_number(claims.exp)
	is_number(input.now)
	claims.exp > input.now
	not _not_yet_valid(claims)
}

_expiry_problems(claims) := set() if {
	is_number(claims.exp)
	not is_number(input.now)
}

_not_yet_valid(claims) if {
	is_number(claims.nbf)
	claims.nbf > input.now
}

_age_problems(claims) := {"evidence issue time (iat) missing"} if not is_number(claims.iat)

_age_problems(claims) := {"evidence is older than the allowed maximum age"} if {
	is_number(claims.iat)
	is_number(input.now)
	input.now - claims.iat > _allowlist.max_evidence_age_s
}

_age_problems(claims) := set() if {
	is_number(claims.iat)
	is_number(input.now)
	input.now - claims.iat <= _allowlist.max_evidence_age_s
}

_age_problems(claims) := set() if {
	is_number(claims.iat)
	not is_number(input.now)
}

# A claim's value for messages. Strings are shown only when plainly printable: regopy does not
# escape quotes inside strings in its JSON output, so a quote must never reach a message.
_show(obj, key) := obj[key] if {
	is_string(obj[key])
	regex.match(`^[A-Za-z0-9 ._:+-]*$`, obj[key])
}

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

_printable(value) if {
	is_string(value)
	regex.match(`^[A-Za-z0-9 ._:+-]*$`, value)
}

_printable(value) if {
	not is_string(value)
	_scalar(value)
}

_scalar(value) if is_boolean(value)

_scalar(value) if is_number(value)

_scalar(value) if is_null(value)

_has(obj, key) if {
	_ = obj[key]
}
