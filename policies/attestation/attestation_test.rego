package phistack.attestation_test

import data.phistack.attestation
import rego.v1

_nonce := "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66"

_now := 1772366400

# Claims in the shape NRAS returns (recorded hopperClaimsv3 values, re-bound to the test nonce and time).
_gpu := {
	"iss": "https://nras.attestation.nvidia.com",
	"iat": _now,
	"nbf": _now,
	"exp": _now + 3600,
	"eat_nonce": _nonce,
	"measres": "success",
	"secboot": true,
	"dbgstat": "disabled",
	"hwmodel": "GH100 A01 GSP BROM",
	"x-nvidia-gpu-driver-version": "550.90.07",
	"x-nvidia-gpu-vbios-version": "96.00.9F.00.01",
	"x-nvidia-gpu-attestation-report-nonce-match": true,
	"x-nvidia-gpu-attestation-report-signature-verified": true,
	"x-nvidia-gpu-attestation-report-cert-chain": {"x-nvidia-cert-status": "valid"},
}

_overall := {
	"iat": _now,
	"nbf": _now,
	"exp": _now + 3600,
	"eat_nonce": _nonce,
	"x-nvidia-overall-att-result": true,
}

_input(overall, gpus) := {"nonce": _nonce, "now": _now, "overall": overall, "gpus": gpus}

# The tests call the appraisal function with fixture requests, so they run alike on regorus and
# regopy (regopy 1.5.2 crashes on `with input as` over these rules).
_result(overall, gpus) := attestation.appraise(_input(overall, gpus))

_denied(gpu, reasons) if {
	_result(_overall, {"GPU-0": gpu}) == {"allow": false, "reasons": reasons}
}

test_passing_claims_allowed if {
	_result(_overall, {"GPU-0": _gpu}) == {"allow": true, "reasons": []}
}

test_two_gpus_each_appraised if {
	_result(_overall, {"GPU-0": _gpu, "GPU-1": object.union(_gpu, {"secboot": false})}) == {"allow": false, "reasons": ["GPU-1: secure boot is false, not true"]}
}

test_older_claims_shape_allowed if {
	gpu := object.union(object.remove(_gpu, ["x-nvidia-gpu-attestation-report-cert-chain"]), {"x-nvidia-gpu-attestation-report-cert-chain-validated": true})
	_result(_overall, {"GPU-0": gpu}) == {"allow": true, "reasons": []}
}

test_measurement_failure_denied if {
	_denied(object.union(_gpu, {"measres": "fail"}), ["GPU-0: measurement result is fail, not success"])
}

test_secure_boot_off_denied if {
	_denied(object.union(_gpu, {"secboot": false}), ["GPU-0: secure boot is false, not true"])
}

test_debug_enabled_denied if {
	_denied(object.union(_gpu, {"dbgstat": "enabled"}), ["GPU-0: debug status is enabled, not disabled"])
}

test_driver_not_allow_listed_denied if {
	_denied(object.union(_gpu, {"x-nvidia-gpu-driver-version": "535.54.03"}), ["GPU-0: driver version 535.54.03 is not allow-listed"])
}

test_vbios_not_allow_listed_denied if {
	_denied(object.union(_gpu, {"x-nvidia-gpu-vbios-version": "96.00.74.00.1C"}), ["GPU-0: VBIOS version 96.00.74.00.1C is not allow-listed"])
}

test_bad_certificate_denied if {
	_denied(object.union(_gpu, {"x-nvidia-gpu-attestation-report-cert-chain": {"x-nvidia-cert-status": "revoked"}}), ["GPU-0: attestation certificate chain is not valid"])
}

test_wrong_nonce_denied if {
	other := "0000000000000000000000000000000000000000000000000000000000000000"
	_denied(object.union(_gpu, {"eat_nonce": other}), [concat("", ["GPU-0: eat_nonce ", other, " does not match the issued nonce"])])
}

test_report_nonce_mismatch_denied if {
	_denied(object.union(_gpu, {"x-nvidia-gpu-attestation-report-nonce-match": false}), ["GPU-0: the report's nonce did not match (false)"])
}

test_expired_evidence_denied if {
	_denied(object.union(_gpu, {"exp": _now}), ["GPU-0: evidence expired"])
}

test_stale_evidence_denied if {
	_denied(object.union(_gpu, {"iat": _now - 7200}), ["GPU-0: evidence is older than the allowed maximum age"])
}

test_missing_claims_denied if {
	_denied(object.remove(_gpu, ["measres", "secboot"]), [
		"GPU-0: measurement result is missing, not success",
		"GPU-0: secure boot is missing, not true",
	])
}

test_no_claims_at_all_denied if {
	attestation.appraise({}) == {"allow": false, "reasons": [
		"no GPU claims presented",
		"no evaluation time in the input",
		"no expected nonce in the input",
		"overall claims missing",
	]}
}

test_empty_gpu_claims_denied if {
	_result(_overall, {}) == {"allow": false, "reasons": ["no GPU claims presented"]}
}

test_overall_failure_denied if {
	overall := object.union(_overall, {"x-nvidia-overall-att-result": false})
	_result(overall, {"GPU-0": _gpu}) == {"allow": false, "reasons": ["overall: attestation result is false, not true"]}
}

test_allow_list_comes_from_data if {
	req := _input(_overall, {"GPU-0": object.union(_gpu, {"x-nvidia-gpu-driver-version": "999.1"})})
	attestation.appraise(req) == {"allow": false, "reasons": ["GPU-0: driver version 999.1 is not allow-listed"]}
	allowlist := object.union(data.attestation_allowlist, {"driver_versions": ["999.1"]})
	attestation.appraise_with(req, allowlist) == {"allow": true, "reasons": []}
}
