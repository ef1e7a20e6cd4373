package phistack.rules.flow.phi_flow_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.flow.phi_flow_001

_deny(resources) := phi_flow_001.findings(fx.ctx(resources))

_pvc(name, class) := fx.resource("kubernetes:core/v1:PersistentVolumeClaim", name, {"metadata": {"name": name, "namespace": "clinical", "labels": {"phistack.io/data-classification": class}}, "spec": {"storageClassName": "phi-encrypted"}})

_mounting(claim) := fx.deployment("nlp", "phi", fx.pod("kata-qemu-nvidia-gpu-snp", [fx.container(fx.image, fx.env)], [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]))

_bucket := fx.resource("aws:s3/bucket:Bucket", "exports", {"bucket": "exports"})

_report := fx.deployment("report", "deidentified", fx.cc_pod)

test_allowed_phi_storage if {
	_deny([_mounting("notes"), _pvc("notes", "phi")]) == set()
}

test_allowed_configuration_stops_the_mark if {
	ns := fx.namespace("clinical", "phi")
	_deny([fx.depends(fx.phi_deployment, [ns]), fx.depends(_report, [ns])]) == set()
}

test_denied_deidentified_claim if {
	_deny([_mounting("notes"), _pvc("notes", "deidentified")]) == {{"id": "PHI-FLOW-001", "urn": fx.urn("kubernetes:core/v1:PersistentVolumeClaim", "notes"), "msg": "PHI-FLOW-001: storage notes receives data from a PHI workload but is classified deidentified"}}
}

test_denied_unverifiable_sink if {
	_deny([fx.depends(fx.phi_deployment, [_bucket]), _bucket]) == {{"id": "PHI-FLOW-001", "urn": _bucket.urn, "msg": "PHI-FLOW-001: exports (aws:s3/bucket:Bucket) is reachable from a PHI workload but no HIPAA rule verifies resources of this type"}}
}

test_denied_misclassified_workload_through_storage if {
	component := fx.component("phistack:storage:EncryptedStorage", "store", {"data_classification": "phi"})
	pvc := fx.child(_pvc("notes", "phi"), component)
	reader := fx.depends(_report, [component])
	_deny([fx.depends(fx.phi_deployment, [pvc]), pvc, component, reader]) == {{"id": "PHI-FLOW-001", "urn": reader.urn, "msg": "PHI-FLOW-001: workload report is reachable from a PHI workload but classified deidentified, so the confidential-computing rules skip it"}}
}

test_missing_storage_class_label if {
	pvc := fx.resource("kubernetes:core/v1:PersistentVolumeClaim", "notes", {"metadata": {"name": "notes", "namespace": "clinical"}, "spec": {}})
	_deny([_mounting("notes"), pvc]) == set()
}

test_denied_label_contradicts_namespace if {
	w := fx.deployment("nlp", "deidentified", fx.cc_pod)
	{f.msg | some f in phi_flow_001.findings(fx.ctx([fx.phi_namespace, w]))} == {"PHI-FLOW-001: workload nlp is labelled deidentified but its component or namespace declares phi: the label contradicts the classification the rules apply"}
}

# The cloud backends' key material and audit routes are verified by PHI-CLOUD-001..004: the mark may reach them.
test_allowed_mark_reaches_verified_cloud_resources if {
	des := fx.resource("azure-native:compute:DiskEncryptionSet", "des", {"encryptionType": "EncryptionAtRestWithCustomerKey"})
	key := fx.resource("gcp:kms/cryptoKey:CryptoKey", "disks", {"name": "disks", "rotationPeriod": "7776000s"})
	_deny([fx.depends(fx.phi_deployment, [des, key]), des, key]) == set()
}

# A cloud type no rule checks is not covered by the cloud backends' rules: a bucket of Google Cloud denies.
test_denied_unverified_cloud_type if {
	bucket := fx.resource("gcp:storage/bucket:Bucket", "exports", {"name": "exports"})
	_deny([fx.depends(fx.phi_deployment, [bucket]), bucket]) == {{"id": "PHI-FLOW-001", "urn": bucket.urn, "msg": "PHI-FLOW-001: exports (gcp:storage/bucket:Bucket) is reachable from a PHI workload but no HIPAA rule verifies resources of this type"}}
}
