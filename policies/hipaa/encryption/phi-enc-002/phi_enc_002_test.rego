package phistack.rules.encryption.phi_enc_002_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.encryption.phi_enc_002

_deny(resources) := phi_enc_002.findings(fx.ctx(resources))

_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

_with(volumes) := fx.deployment("nlp", "phi", fx.pod("kata-qemu-nvidia-gpu-snp", [fx.container(fx.image, fx.env)], volumes))

test_allowed_pvc_and_memory if {
	_deny([_with([{"name": "data", "persistentVolumeClaim": {"claimName": "notes"}}, {"name": "tmp", "emptyDir": {"medium": "Memory"}}])]) == set()
}

test_allowed_non_phi_host_path if {
	_deny([fx.deployment("sim", "none", fx.pod("runc", [], [{"name": "h", "hostPath": {"path": "/data"}}]))]) == set()
}

test_denied_host_path if {
	_deny([_with([{"name": "cache", "hostPath": {"path": "/var/cache"}}])]) == {{"id": "PHI-ENC-002", "urn": _urn, "msg": "PHI-ENC-002: PHI workload nlp volume cache is a hostPath on the node's disk"}}
}

test_denied_disk_empty_dir if {
	_deny([_with([{"name": "scratch", "emptyDir": {"sizeLimit": "10Gi"}}])]) == {{"id": "PHI-ENC-002", "urn": _urn, "msg": "PHI-ENC-002: PHI workload nlp volume scratch is a disk-backed emptyDir (unencrypted node scratch space); use medium: Memory or an encrypted PVC"}}
}

test_missing_medium if {
	_deny([_with([{"name": "scratch", "emptyDir": {}}])]) == {{"id": "PHI-ENC-002", "urn": _urn, "msg": "PHI-ENC-002: PHI workload nlp volume scratch is a disk-backed emptyDir (unencrypted node scratch space); use medium: Memory or an encrypted PVC"}}
}

test_unknown_volumes if {
	_deny([_with(fx.unknown)]) == {{"id": "PHI-ENC-002", "urn": _urn, "msg": "PHI-ENC-002: the pod volumes is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.template.spec.volumes"]}}
}
