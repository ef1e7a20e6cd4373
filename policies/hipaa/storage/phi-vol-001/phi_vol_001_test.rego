package phistack.rules.storage.phi_vol_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.storage.phi_vol_001

_deny(resources) := phi_vol_001.findings(fx.ctx(resources))

_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

_phi(volumes) := fx.deployment("nlp", "phi", fx.pod("kata-qemu-nvidia-gpu-snp", [fx.container(fx.image, fx.env)], volumes))

_pvc_spec(class) := {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Gi"}}, "storageClassName": class}

_pvc_with(name, namespace, spec) := fx.resource("kubernetes:core/v1:PersistentVolumeClaim", name, {
	"apiVersion": "v1",
	"kind": "PersistentVolumeClaim",
	"metadata": {"name": name, "namespace": namespace},
	"spec": spec,
})

_pvc(name, class) := _pvc_with(name, "clinical", _pvc_spec(class))

_storage_class(name) := fx.resource("kubernetes:storage.k8s.io/v1:StorageClass", name, {
	"apiVersion": "storage.k8s.io/v1",
	"kind": "StorageClass",
	"metadata": {"name": name},
	"provisioner": "rbd.csi.ceph.com",
	"parameters": {"encrypted": "true", "encryptionKMSID": "hospital-vault-kms"},
})

_claim(name, claim) := {"name": name, "persistentVolumeClaim": {"claimName": claim}}

_memory(name, limit) := {"name": name, "emptyDir": {"medium": "Memory", "sizeLimit": limit}}

# The PHI Deployment with the given volumes, the notes claim and its encrypted class.
_with_notes(volumes) := [_phi(volumes), _pvc("notes", "phi-encrypted"), _storage_class("phi-encrypted")]

_v(i) := concat("", ["spec.template.spec.volumes[", format_int(i, 10), "]"])

_head := "PHI-VOL-001: PHI workload nlp mounts storage that does not resolve to encrypted storage the plan declares: "

_denied(problems) := {{"id": "PHI-VOL-001", "urn": _urn, "msg": concat("", [_head, concat("; ", sort(problems))])}}

_fails_closed(paths) := {{
	"id": "PHI-VOL-001",
	"urn": _urn,
	"msg": "PHI-VOL-001: a volume of the pod or the storage it resolves to is unknown at plan time; the control cannot be verified, so it fails closed",
	"unknown": paths,
}}

_other_kind(i, name, kind) := concat("", [
	_v(i), " (", name, ") is a ", kind, " volume; PHI may live only on claims of the plan's StorageClasses, ",
	"memory emptyDirs, Secrets, ConfigMaps, projected and downward API volumes",
])

# --- allowed ---

test_allowed_declared_claim_and_safe_volumes if {
	volumes := [
		_claim("notes", "notes"),
		{"name": "tls", "secret": {"secretName": "runtime-tls"}},
		{"name": "cfg", "configMap": {"name": "runtime"}},
		{"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "audience": "kbs"}}]}},
		{"name": "labels", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
		_memory("tmp", "4Gi"),
		_memory("cache", "512Mi"),
		_memory("model", "4096Mi"),
		{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": _pvc_spec("phi-encrypted")}}},
	]
	_deny(_with_notes(volumes)) == set()
}

test_allowed_no_volumes if {
	_deny([_phi([])]) == set()
}

test_allowed_non_phi_workload_with_nfs if {
	w := fx.deployment("sim", "none", fx.pod("runc", [fx.container(fx.image, [])], [{"name": "share", "nfs": {"server": "10.0.0.5", "path": "/x"}}]))
	_deny([w]) == set()
}

_stateful_set(volumes, templates) := fx.resource("kubernetes:apps/v1:StatefulSet", "nlp", {
	"metadata": {"name": "nlp", "namespace": "clinical"},
	"spec": {
		"template": {
			"metadata": {"labels": {"phistack.io/data-classification": "phi"}},
			"spec": fx.pod("kata-qemu-nvidia-gpu-snp", [fx.container(fx.image, fx.env)], volumes),
		},
		"volumeClaimTemplates": templates,
	},
})

_template(name, class) := {"metadata": {"name": name}, "spec": _pvc_spec(class)}

# The controller replaces a pod volume named like a claim template with that template's claim.
test_allowed_stateful_set_claim_templates if {
	sts := _stateful_set([{"name": "data", "emptyDir": {}}], [_template("data", "phi-encrypted")])
	_deny([sts, _storage_class("phi-encrypted")]) == set()
}

# --- denied: claims that do not resolve ---

test_denied_claim_not_declared if {
	_deny(_with_notes([_claim("notes", "notes"), _claim("scratch", "scratch-undeclared")])) == _denied([concat("", [
		_v(1), " (scratch) mounts claim scratch-undeclared, which the plan does not declare in namespace clinical, so its storage cannot be verified",
	])])
}

test_denied_claim_of_another_namespace if {
	resources := [_phi([_claim("notes", "notes")]), _pvc_with("notes", "research", _pvc_spec("phi-encrypted")), _storage_class("phi-encrypted")]
	_deny(resources) == _denied([concat("", [
		_v(0), " (notes) mounts claim notes, which the plan does not declare in namespace clinical, so its storage cannot be verified",
	])])
}

test_missing_claim_storage_class if {
	resources := [_phi([_claim("notes", "notes")]), _pvc_with("notes", "clinical", object.remove(_pvc_spec(""), {"storageClassName"})), _storage_class("phi-encrypted")]
	_deny(resources) == _denied([concat("", [_v(0), " (notes) mounts claim notes that sets no storageClassName, so the cluster's default class (unverifiable) applies"])])
}

test_denied_claim_empty_storage_class if {
	resources := [_phi([_claim("notes", "notes")]), _pvc("notes", ""), _storage_class("phi-encrypted")]
	_deny(resources) == _denied([concat("", [_v(0), " (notes) mounts claim notes that sets no storageClassName, so the cluster's default class (unverifiable) applies"])])
}

test_denied_claim_of_undeclared_class if {
	resources := [_phi([_claim("notes", "notes")]), _pvc("notes", "standard"), _storage_class("phi-encrypted")]
	_deny(resources) == _denied([concat("", [_v(0), " (notes) mounts claim notes that uses StorageClass standard, which the plan does not declare"])])
}

test_denied_claim_pinned_to_existing_volume if {
	spec := object.union(_pvc_spec("phi-encrypted"), {"volumeName": "nfs-export-phi"})
	resources := [_phi([_claim("notes", "notes")]), _pvc_with("notes", "clinical", spec), _storage_class("phi-encrypted")]
	_deny(resources) == _denied([concat("", [
		_v(0), " (notes) mounts claim notes that binds a pre-existing PersistentVolume (spec.volumeName or spec.selector), which its StorageClass does not provision",
	])])
}

# The same claim declared twice: whichever applies last wins, so both must resolve.
test_denied_duplicate_claim_one_unencrypted if {
	second := object.union(_pvc("notes", "standard"), {"urn": fx.urn("kubernetes:core/v1:PersistentVolumeClaim", "notes-again"), "name": "notes-again"})
	_deny(array.concat(_with_notes([_claim("notes", "notes")]), [second])) == _denied([concat("", [_v(0), " (notes) mounts claim notes that uses StorageClass standard, which the plan does not declare"])])
}

test_missing_claim_name if {
	_deny(_with_notes([{"name": "notes", "persistentVolumeClaim": {"readOnly": true}}])) == _denied([concat("", [_v(0), " (notes) names no claim"])])
}

# --- denied: volume kinds that bypass the plan's storage ---

test_denied_inline_network_and_node_storage if {
	volumes := [
		{"name": "share", "nfs": {"server": "10.0.0.5", "path": "/exports/phi"}},
		{"name": "lun", "iscsi": {"targetPortal": "10.0.0.9:3260", "iqn": "iqn.2001-04.com.example:phi", "lun": 0}},
		{"name": "node", "hostPath": {"path": "/mnt/phi"}},
		{"name": "inline", "csi": {"driver": "nfs.csi.k8s.io", "volumeAttributes": {"server": "10.0.0.5"}}},
		{"name": "ebs", "awsElasticBlockStore": {"volumeID": "vol-0abc1234"}},
		{"name": "ceph", "cephfs": {"monitors": ["10.0.0.7:6789"]}},
		{"name": "img", "image": {"reference": "registry.example-hospital.org/data@sha256:00"}},
	]
	_deny([_phi(volumes)]) == _denied([
		_other_kind(0, "share", "nfs"), _other_kind(1, "lun", "iscsi"), _other_kind(2, "node", "hostPath"),
		_other_kind(3, "inline", "csi"), _other_kind(4, "ebs", "awsElasticBlockStore"), _other_kind(5, "ceph", "cephfs"),
		_other_kind(6, "img", "image"),
	])
}

test_denied_empty_dirs if {
	volumes := [
		{"name": "disk", "emptyDir": {}},
		{"name": "unbounded", "emptyDir": {"medium": "Memory"}},
		_memory("huge", "8Gi"),
		_memory("odd", "lots"),
		_memory("bytes", 5000000000),
	]
	_deny([_phi(volumes)]) == _denied([
		concat("", [_v(0), " (disk) is a disk-backed emptyDir (unencrypted node scratch space); use medium: Memory with a sizeLimit"]),
		concat("", [_v(1), " (unbounded) is a memory emptyDir without a sizeLimit"]),
		concat("", [_v(2), " (huge) has a sizeLimit above the maximum 4Gi (max_memory_emptydir)"]),
		concat("", [_v(3), " (odd) has a sizeLimit that is not a quantity the gate can read"]),
		concat("", [_v(4), " (bytes) has a sizeLimit above the maximum 4Gi (max_memory_emptydir)"]),
	])
}

test_missing_volume_source if {
	_deny([_phi([{"name": "scratch"}])]) == _denied([concat("", [_v(0), " (scratch) sets no volume source, so Kubernetes makes it a disk-backed emptyDir"])])
}

test_denied_two_sources if {
	_deny([_phi([{"name": "x", "secret": {"secretName": "s"}, "nfs": {"server": "h", "path": "/"}}])]) == _denied([concat("", [_v(0), " (x) sets more than one volume source"])])
}

test_denied_ephemeral_volume_classes if {
	volumes := [
		{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": _pvc_spec("standard")}}},
		{"name": "work2", "ephemeral": {"volumeClaimTemplate": {"spec": object.remove(_pvc_spec(""), {"storageClassName"})}}},
	]
	_deny(_with_notes(volumes)) == _denied([
		concat("", [_v(0), " (work) uses StorageClass standard, which the plan does not declare"]),
		concat("", [_v(1), " (work2) sets no storageClassName, so the cluster's default class (unverifiable) applies"]),
	])
}

test_denied_stateful_set_templates if {
	sts := _stateful_set([], [_template("data", "standard"), {"metadata": {"name": "logs"}, "spec": object.remove(_pvc_spec(""), {"storageClassName"})}])
	_deny([sts, _storage_class("phi-encrypted")]) == {{"id": "PHI-VOL-001", "urn": fx.urn("kubernetes:apps/v1:StatefulSet", "nlp"), "msg": concat("", [_head, concat("; ", [
		"spec.volumeClaimTemplates[0] uses StorageClass standard, which the plan does not declare",
		"spec.volumeClaimTemplates[1] sets no storageClassName, so the cluster's default class (unverifiable) applies",
	])])}}
}

# --- unknown values fail closed ---

test_unknown_volumes if {
	_deny([_phi(fx.unknown)]) == _fails_closed(["spec.template.spec.volumes"])
}

test_unknown_volume_and_claim_name if {
	_deny(_with_notes([fx.unknown, {"name": "notes", "persistentVolumeClaim": {"claimName": fx.unknown}}])) == _fails_closed([concat("", [_v(0)]), concat("", [_v(1), ".persistentVolumeClaim.claimName"])])
}

test_unknown_claim_storage_class if {
	resources := [_phi([_claim("notes", "notes")]), _pvc("notes", fx.unknown), _storage_class("phi-encrypted")]
	_deny(resources) == _fails_closed(["PersistentVolumeClaim notes spec.storageClassName"])
}

test_unknown_size_limit if {
	_deny([_phi([_memory("tmp", fx.unknown)])]) == _fails_closed([concat("", [_v(0), ".emptyDir.sizeLimit"])])
}

test_unknown_workload_namespace if {
	w := fx.resource("kubernetes:apps/v1:Deployment", "nlp", {
		"metadata": {"name": "nlp", "namespace": fx.unknown},
		"spec": {"template": {
			"metadata": {"labels": {"phistack.io/data-classification": "phi"}},
			"spec": fx.pod("kata-qemu-nvidia-gpu-snp", [fx.container(fx.image, fx.env)], [_claim("notes", "notes")]),
		}},
	})
	_deny([w, _pvc("notes", "phi-encrypted"), _storage_class("phi-encrypted")]) == _fails_closed(["metadata.namespace"])
}

test_unknown_stateful_set_template_class if {
	sts := _stateful_set([], [_template("data", fx.unknown)])
	{f.unknown | some f in _deny([sts, _storage_class("phi-encrypted")])} == {["spec.volumeClaimTemplates[0].spec.storageClassName"]}
}

# --- each workload is judged on its own ---

test_denied_each_workload_on_its_own if {
	other := fx.deployment("etl", "phi", fx.pod("kata-qemu-nvidia-gpu-snp", [fx.container(fx.image, fx.env)], [_claim("data", "etl-data")]))
	sts := _stateful_set([_memory("tmp", "1Gi")], [_template("data", "standard")])
	resources := array.concat(_with_notes([_claim("notes", "notes")]), [other, sts])
	_deny(resources) == {
		{"id": "PHI-VOL-001", "urn": fx.urn("kubernetes:apps/v1:Deployment", "etl"), "msg": "PHI-VOL-001: PHI workload etl mounts storage that does not resolve to encrypted storage the plan declares: spec.template.spec.volumes[0] (data) mounts claim etl-data, which the plan does not declare in namespace clinical, so its storage cannot be verified"},
		{"id": "PHI-VOL-001", "urn": fx.urn("kubernetes:apps/v1:StatefulSet", "nlp"), "msg": "PHI-VOL-001: PHI workload nlp mounts storage that does not resolve to encrypted storage the plan declares: spec.volumeClaimTemplates[0] uses StorageClass standard, which the plan does not declare"},
	}
}
