# METADATA
# title: Cloud clusters encrypt under customer-managed keys that rotate
# description: 'In a stack that handles PHI, the cloud resources of ConfidentialGpuCluster encrypt under customer-managed
#   keys the stack creates and rotates at least every max_key_rotation_days (policies/data/hipaa_parameters.json,
#   90). GKE: every Cluster has databaseEncryption.state ENCRYPTED with a keyName (Kubernetes Secrets in etcd);
#   every node configuration (NodePool nodeConfig, the Cluster''s nodeConfig when given or while the default pool
#   is kept, each inline nodePools entry, and clusterAutoscaling.autoProvisioningDefaults when node auto-provisioning
#   or Autopilot is on) has a bootDiskKmsKey; every Pub/Sub Topic (the audit-log topic among them) has a kmsKeyName;
#   every such key is a CryptoKey of the stack (keyRing/cryptoKeys/name) and every CryptoKey has a rotationPeriod
#   of at most the maximum. A key outside the stack denies even when it is a well-formed projects/.../cryptoKeys/...
#   id: the plan cannot prove that it rotates (a centrally managed key needs a signed waiver). AKS: every ManagedCluster
#   has a diskEncryptionSetID naming a DiskEncryptionSet of the stack, securityProfile.azureKeyVaultKms enabled with
#   a keyId naming a Key Vault key of the stack, and enableEncryptionAtHost true on every agentPoolProfiles entry;
#   every AgentPool has enableEncryptionAtHost true; every DiskEncryptionSet has a customer-key encryptionType
#   (when given: Azure''s default is a customer key), rotationToLatestKeyVersionEnabled true and an activeKey.keyUrl
#   naming a Key Vault key of the stack; every keyvault Key has a rotate lifetime action whose trigger.timeAfterCreate
#   (PnD, PnW, PnM counted as 31 days, PnY as 366) is at most the maximum; every Vault has properties.enablePurgeProtection
#   true and soft delete not turned off. A missing setting denies; an unknown one denies as unknown, except a key
#   reference a pulumi preview cannot know yet whose property depends on a key (or disk encryption set) of the
#   stack: that key is judged instead.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(2)(iv)
#   description: '45 CFR 164.312(a)(2)(iv) Encryption and decryption (Addressable): Implement a mechanism
#     to encrypt and decrypt electronic protected health information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(B)
#   description: '45 CFR 164.308(a)(1)(ii)(B) Risk management (Required): Implement security measures sufficient
#     to reduce risks and vulnerabilities to a reasonable and appropriate level to comply with § 164.306(a).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.310#p-164.310(d)(1)
#   description: '45 CFR 164.310(d)(1) Device and media controls: Implement policies and procedures that govern
#     the receipt and removal of hardware and electronic media that contain electronic protected health information
#     into and out of a facility, and the movement of these items within the facility.'
# custom:
#   id: PHI-CLOUD-001
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(2)(iv)
#     title: Encryption and decryption
#     type: addressable
#   - cfr: 45 CFR 164.308(a)(1)(ii)(B)
#     title: Risk management
#     type: required
#   - cfr: 45 CFR 164.310(d)(1)
#     title: Device and media controls
#     type: required
#   remediation: Provision the cluster through ConfidentialGpuCluster with backend gke or aks, which creates the key
#     ring and keys (or Key Vault, keys and disk encryption set) in the stack with a rotation of at most 90 days and
#     wires them into etcd encryption, the node boot disks, encryption at host and the audit-log topic; do not point
#     a cluster at a key the stack does not create.
package phistack.rules.cloud.phi_cloud_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some x in lib.cloud_report(lib.cloud_traced(ctx, _key_results(ctx, data.hipaa_parameters.max_key_rotation_days)))
	f := _as_finding(x)
}

_as_finding(x) := lib.unknown_finding("PHI-CLOUD-001", x.urn, x.what, x.paths) if {
	x.paths
} else := lib.finding("PHI-CLOUD-001", x.urn, x.msg)

_key_results(ctx, max_days) := array.concat(_gcp_results(ctx, max_days), _azure_results(ctx, max_days))

# --- GKE ------------------------------------------------------------------------------------------

_gcp_results(ctx, max_days) := array.concat(
	array.concat(_gke_clusters(ctx, keys), _gke_pools(ctx, keys)),
	array.concat(_gcp_topics(ctx, keys), _gcp_rotation(ctx, max_days)),
) if {
	keys := _gcp_key_ids(ctx)
}

# The ids of the stack's CryptoKeys: projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<name>.
_gcp_key_ids(ctx) := {id |
	some k in lib.of_type(ctx, "gcp:kms/cryptoKey:CryptoKey")
	ring := object.get(k.inputs, "keyRing", null)
	name := object.get(k.inputs, "name", null)
	is_string(ring)
	is_string(name)
	id := concat("", [ring, "/cryptoKeys/", name])
}

_gke_clusters(ctx, keys) := [x |
	some c in lib.of_type(ctx, "gcp:container/cluster:Cluster")
	some x in _gke_cluster_results(c, keys)
]

_gke_cluster_results(c, keys) := array.concat(
	array.concat(
		lib.cloud_checks(c, c.inputs, "", [
			{"path": ["databaseEncryption", "state"], "want": {"equals": "ENCRYPTED"}},
			{"path": ["databaseEncryption", "keyName"], "want": "set"},
		]),
		_gcp_key_ref(c, "databaseEncryption.keyName", object.get(c.inputs, ["databaseEncryption", "keyName"], null), keys),
	),
	array.concat(
		[x |
			some e in lib.gke_node_configs(c)
			some x in _boot_disk(c, e.path, e.config, keys)
		],
		_gke_autoprovisioning(c, keys),
	),
)

_gke_pools(ctx, keys) := [x |
	some p in lib.of_type(ctx, "gcp:container/nodePool:NodePool")
	some x in _boot_disk(p, "nodeConfig", object.get(p.inputs, "nodeConfig", {}), keys)
]

# A node configuration's boot-disk key: set, and a key of the stack.
_boot_disk(r, prefix, config, keys) := array.concat(
	lib.cloud_checks(r, config, prefix, [{"path": ["bootDiskKmsKey"], "want": "set"}]),
	_gcp_key_ref(r, concat(".", [prefix, "bootDiskKmsKey"]), _field(config, "bootDiskKmsKey"), keys),
)

# Pools that node auto-provisioning or Autopilot creates take their boot-disk key from autoProvisioningDefaults.
_gke_autoprovisioning(c, keys) := array.concat(
	lib.cloud_checks(c, c.inputs, "", [{"path": ["clusterAutoscaling", "autoProvisioningDefaults", "bootDiskKmsKey"], "want": "set"}]),
	_gcp_key_ref(c, "clusterAutoscaling.autoProvisioningDefaults.bootDiskKmsKey", object.get(c.inputs, ["clusterAutoscaling", "autoProvisioningDefaults", "bootDiskKmsKey"], null), keys),
) if {
	_gke_autoprovisions(c.inputs)
} else := []

# On, or not known to be off.
_gke_autoprovisions(inputs) if object.get(inputs, ["clusterAutoscaling", "enabled"], false) != false

_gke_autoprovisions(inputs) if object.get(inputs, "enableAutopilot", false) != false

_gke_autoprovisions(inputs) if lib.is_unknown(object.get(inputs, "clusterAutoscaling", null))

_gcp_topics(ctx, keys) := [x |
	some t in lib.of_type(ctx, "gcp:pubsub/topic:Topic")
	some x in array.concat(
		lib.cloud_checks(t, t.inputs, "", [{"path": ["kmsKeyName"], "want": "set"}]),
		_gcp_key_ref(t, "kmsKeyName", object.get(t.inputs, "kmsKeyName", null), keys),
	)
]

# A key reference that is set must be a CryptoKey of the stack (whose rotation the rule checks); an unset
# or unknown one is reported by the "set" check beside it.
_gcp_key_ref(r, path, value, keys) := [] if {
	not lib.non_empty_string(value)
} else := [] if {
	value in keys
} else := [{"urn": r.urn, "label": lib.cloud_label(r), "path": path, "problem": concat("", ["names the Cloud KMS key ", value, ", which the stack does not create, so its rotation cannot be verified"])}] if {
	regex.match(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$`, value)
} else := [{"urn": r.urn, "label": lib.cloud_label(r), "path": path, "problem": concat("", ["is ", value, ", not the id of a Cloud KMS key (projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>)"])}]

_gcp_rotation(ctx, max_days) := [x |
	some k in lib.of_type(ctx, "gcp:kms/cryptoKey:CryptoKey")
	some x in _gcp_rotation_results(k, max_days)
]

_gcp_rotation_results(k, max_days) := lib.cloud_checks(k, k.inputs, "", [{"path": ["rotationPeriod"], "want": "set"}]) if {
	not lib.non_empty_string(object.get(k.inputs, "rotationPeriod", null))
} else := [{"urn": k.urn, "label": lib.cloud_label(k), "path": "rotationPeriod", "problem": concat("", ["is ", k.inputs.rotationPeriod, ", not a duration in seconds (such as 7776000s)"])}] if {
	not regex.match(`^[0-9]+(\.[0-9]+)?s$`, k.inputs.rotationPeriod)
} else := [] if {
	to_number(trim_suffix(k.inputs.rotationPeriod, "s")) <= max_days * 86400
} else := [{"urn": k.urn, "label": lib.cloud_label(k), "path": "rotationPeriod", "problem": concat("", ["is ", k.inputs.rotationPeriod, ", longer than the ", format_int(max_days, 10), " days allowed (", format_int(max_days * 86400, 10), "s)"])}]

# --- AKS ------------------------------------------------------------------------------------------

_azure_results(ctx, max_days) := array.concat(
	array.concat(_aks_clusters(ctx, keys, sets), _aks_pools(ctx)),
	array.concat(array.concat(_disk_encryption_sets(ctx, keys), _vaults(ctx)), _vault_key_rotation(ctx, max_days)),
) if {
	keys := _vault_key_ids(ctx)
	sets := _disk_encryption_set_ids(ctx)
}

# [vault, key] of the stack's Key Vault keys, lower case (vault and key names are case-insensitive).
_vault_key_ids(ctx) := {[lower(vault), lower(name)] |
	some k in lib.of_type(ctx, "azure-native:keyvault:Key")
	vault := object.get(k.inputs, "vaultName", null)
	name := object.get(k.inputs, "keyName", null)
	is_string(vault)
	is_string(name)
}

# [resource group, name] of the stack's disk encryption sets, lower case.
_disk_encryption_set_ids(ctx) := {[lower(group), lower(name)] |
	some d in lib.of_type(ctx, "azure-native:compute:DiskEncryptionSet")
	group := object.get(d.inputs, "resourceGroupName", null)
	name := object.get(d.inputs, "diskEncryptionSetName", null)
	is_string(group)
	is_string(name)
}

_aks_clusters(ctx, keys, sets) := [x |
	some m in lib.of_type(ctx, "azure-native:containerservice:ManagedCluster")
	some x in _aks_cluster_results(m, keys, sets)
]

_aks_cluster_results(m, keys, sets) := array.concat(
	array.concat(
		lib.cloud_checks(m, m.inputs, "", [
			{"path": ["diskEncryptionSetID"], "want": "set"},
			{"path": ["securityProfile", "azureKeyVaultKms", "enabled"], "want": "true"},
			{"path": ["securityProfile", "azureKeyVaultKms", "keyId"], "want": "set"},
		]),
		lib.cloud_item_checks(m, m.inputs, "agentPoolProfiles", [{"path": ["enableEncryptionAtHost"], "want": "true"}]),
	),
	array.concat(
		_disk_encryption_set_ref(m, object.get(m.inputs, "diskEncryptionSetID", null), sets),
		_vault_key_ref(m, "securityProfile.azureKeyVaultKms.keyId", object.get(m.inputs, ["securityProfile", "azureKeyVaultKms", "keyId"], null), keys),
	),
)

_aks_pools(ctx) := [x |
	some a in lib.of_type(ctx, "azure-native:containerservice:AgentPool")
	some x in lib.cloud_checks(a, a.inputs, "", [{"path": ["enableEncryptionAtHost"], "want": "true"}])
]

_customer_key_types := ["EncryptionAtRestWithCustomerKey", "EncryptionAtRestWithPlatformAndCustomerKeys", "ConfidentialVmEncryptedWithCustomerKey"]

_disk_encryption_sets(ctx, keys) := [x |
	some d in lib.of_type(ctx, "azure-native:compute:DiskEncryptionSet")
	some x in array.concat(
		lib.cloud_checks(d, d.inputs, "", _disk_encryption_set_specs(d.inputs)),
		_vault_key_ref(d, "activeKey.keyUrl", object.get(d.inputs, ["activeKey", "keyUrl"], null), keys),
	)
]

_disk_encryption_set_specs(inputs) := array.concat(_set_specs, [{"path": ["encryptionType"], "want": {"one_of": _customer_key_types}}]) if {
	object.get(inputs, "encryptionType", null) != null
} else := _set_specs

_set_specs := [
	{"path": ["rotationToLatestKeyVersionEnabled"], "want": "true"},
	{"path": ["activeKey", "keyUrl"], "want": "set"},
]

_vaults(ctx) := [x |
	some v in lib.of_type(ctx, "azure-native:keyvault:Vault")
	some x in lib.cloud_checks(v, v.inputs, "", [
		{"path": ["properties", "enablePurgeProtection"], "want": "true"},
		{"path": ["properties", "enableSoftDelete"], "want": "not false"},
	])
]

_lifetime_actions := ["properties", "rotationPolicy", "lifetimeActions"]

_vault_key_rotation(ctx, max_days) := [x |
	some k in lib.of_type(ctx, "azure-native:keyvault:Key")
	some x in _vault_key_rotation_results(k, max_days)
]

_vault_key_rotation_results(k, max_days) := unknown if {
	unknown := lib.cloud_checks(k, k.inputs, "", [{"path": _lifetime_actions, "want": "known"}])
	count(unknown) > 0
} else := [] if {
	actions := object.get(k.inputs, _lifetime_actions, [])
	is_array(actions)
	some a in actions
	is_string(a.action.type)
	lower(a.action.type) == "rotate"
	_iso_days(a.trigger.timeAfterCreate) <= max_days
} else := [{"urn": k.urn, "label": lib.cloud_label(k), "path": "properties.rotationPolicy.lifetimeActions", "problem": concat("", ["has no rotate action whose trigger.timeAfterCreate is at most ", format_int(max_days, 10), " days (P", format_int(max_days, 10), "D)"])}]

# Days of an ISO 8601 duration of one unit, counted long: a month as 31 days, a year as 366.
_iso_days(s) := to_number(substring(s, 1, count(s) - 2)) * unit if {
	is_string(s)
	regex.match(`^P[0-9]+[DWMY]$`, s)
	unit := {"D": 1, "W": 7, "M": 31, "Y": 366}[substring(s, count(s) - 1, 1)]
}

# A Key Vault key URL (https://<vault>.vault.<cloud>/keys/<key>[/<version>]) must name a key of the stack.
_vault_key_ref(r, path, value, keys) := [] if {
	not lib.non_empty_string(value)
} else := [] if {
	_vault_key(value) in keys
} else := [{"urn": r.urn, "label": lib.cloud_label(r), "path": path, "problem": concat("", ["is ", value, ", not a key of a Key Vault the stack creates, so its rotation cannot be verified"])}]

_vault_key(url) := [lower(split(parts[2], ".")[0]), lower(parts[4])] if {
	parts := split(url, "/")
	count(parts) in {5, 6}
	parts[0] == "https:"
	parts[1] == ""
	contains(lower(parts[2]), ".vault.")
	parts[3] == "keys"
}

# /subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.Compute/diskEncryptionSets/<name> of the stack.
_disk_encryption_set_ref(r, value, sets) := [] if {
	not lib.non_empty_string(value)
} else := [] if {
	parts := split(lower(value), "/")
	count(parts) == 9
	parts[1] == "subscriptions"
	parts[3] == "resourcegroups"
	parts[5] == "providers"
	parts[6] == "microsoft.compute"
	parts[7] == "diskencryptionsets"
	[parts[4], parts[8]] in sets
} else := [{"urn": r.urn, "label": lib.cloud_label(r), "path": "diskEncryptionSetID", "problem": concat("", ["is ", value, ", not a disk encryption set the stack creates, so its key and rotation cannot be verified"])}]

_field(obj, key) := object.get(obj, key, null) if is_object(obj)

else := null
