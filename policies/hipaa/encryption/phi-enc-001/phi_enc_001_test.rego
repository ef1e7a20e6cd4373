package phistack.rules.encryption.phi_enc_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.encryption.phi_enc_001

_storage_class(provisioner, parameters) := fx.resource("kubernetes:storage.k8s.io/v1:StorageClass", "phi-encrypted", {
	"apiVersion": "storage.k8s.io/v1",
	"kind": "StorageClass",
	"metadata": {"name": "phi-encrypted"},
	"provisioner": provisioner,
	"parameters": parameters,
})

_pvc(class) := fx.resource("kubernetes:core/v1:PersistentVolumeClaim", "notes", {
	"apiVersion": "v1",
	"kind": "PersistentVolumeClaim",
	"metadata": {"name": "notes", "namespace": "clinical"},
	"spec": {"storageClassName": class},
})

_ebs := _storage_class("ebs.csi.aws.com", {"encrypted": "true", "kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/phi"})

_sc_urn := fx.urn("kubernetes:storage.k8s.io/v1:StorageClass", "phi-encrypted")

_pvc_urn := fx.urn("kubernetes:core/v1:PersistentVolumeClaim", "notes")

_deny(resources) := phi_enc_001.findings(fx.ctx(resources))

_sc_denied(msg) := {{"id": "PHI-ENC-001", "urn": _sc_urn, "msg": concat("", ["PHI-ENC-001: StorageClass phi-encrypted ", msg])}}

test_allowed_ebs_cmk if {
	_deny([fx.phi_deployment, _ebs, _pvc("phi-encrypted")]) == set()
}

test_allowed_ceph_luks if {
	_deny([fx.phi_deployment, _storage_class("rbd.csi.ceph.com", {"encrypted": "true", "encryptionType": "block", "encryptionKMSID": "vault-phi"})]) == set()
}

test_allowed_no_phi if {
	_deny([_storage_class("local.csi.example", {}), _pvc("standard")]) == set()
}

test_denied_encryption_off if {
	_deny([fx.phi_deployment, _storage_class("ebs.csi.aws.com", {"encrypted": "false", "kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/phi"})]) == _sc_denied("does not turn on encryption with a customer-managed key")
}

test_denied_unknown_provisioner if {
	_deny([fx.phi_deployment, _storage_class("local.csi.example", {})]) == _sc_denied("uses a provisioner with no known AES-256 customer-managed-key encryption")
}

test_denied_default_class if {
	_deny([fx.phi_deployment, _ebs, _pvc("standard")]) == {{"id": "PHI-ENC-001", "urn": _pvc_urn, "msg": "PHI-ENC-001: PersistentVolumeClaim notes uses a StorageClass that the plan does not declare, so its encryption cannot be verified"}}
}

test_missing_kms_key if {
	_deny([fx.phi_deployment, _storage_class("ebs.csi.aws.com", {"encrypted": "true"})]) == _sc_denied("does not turn on encryption with a customer-managed key")
}

test_missing_storage_class_name if {
	pvc := fx.resource("kubernetes:core/v1:PersistentVolumeClaim", "notes", {"metadata": {"name": "notes", "namespace": "clinical"}, "spec": {}})
	_deny([fx.phi_deployment, _ebs, pvc]) == {{"id": "PHI-ENC-001", "urn": _pvc_urn, "msg": "PHI-ENC-001: PersistentVolumeClaim notes uses a StorageClass that the plan does not declare, so its encryption cannot be verified"}}
}

test_unknown_kms_key if {
	_deny([fx.phi_deployment, _storage_class("ebs.csi.aws.com", {"encrypted": "true", "kmsKeyId": fx.unknown})]) == {{"id": "PHI-ENC-001", "urn": _sc_urn, "msg": "PHI-ENC-001: the encryption parameters is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["parameters.kmsKeyId"]}}
}
