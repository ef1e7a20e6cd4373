# Small plan fragments the rule tests build their inputs from. Each builder takes the fields a
# test varies as arguments (no deep merging: the engines disagree on nested object.union).
package phistack.lib.fixtures_test

import rego.v1

import data.phistack.lib.hipaa as lib

today := "2026-06-01"

stack_urn := "urn:pulumi:test::phistack::pulumi:pulumi:Stack::phistack-test"

digest := "sha256:2b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfe"

image := concat("", ["registry.example-hospital.org/phistack/runtime@", digest])

unknown := {"__unknown__": true}

urn(type, name) := concat("", ["urn:pulumi:test::phistack::", type, "::", name])

# The gate input around a list of resources.
plan(resources) := {
	"plan": {
		"schema_version": "phistack.plan/v1",
		"source": "mock",
		"project": "phistack",
		"stack": "test",
		"resources": resources,
	},
	"now": "2026-06-01T12:00:00Z",
	"today": today,
	"deid": {dataset: verified_dataset},
}

# The dataset every fixture workload names, with the manifest result phistack gives a verified one
# (input.deid): fixtures classified deidentified stay deidentified unless a test says otherwise.
dataset := "fixture-dataset"

verified_dataset := {"valid": true, "reason": "", "method": "safe-harbor", "signer": "sha256:fixture", "dataset_digest": "sha256:fixture"}

# The rule context of a plan made of `resources` (what rules' findings(ctx) take).
ctx(resources) := lib.context(plan(resources))

resource(type, name, inputs) := {
	"urn": urn(type, name),
	"type": type,
	"name": name,
	"custom": true,
	"parent": null,
	"dependencies": [],
	"property_dependencies": {},
	"inputs": inputs,
}

component(type, name, inputs) := {
	"urn": urn(type, name),
	"type": type,
	"name": name,
	"custom": false,
	"parent": null,
	"dependencies": [],
	"property_dependencies": {},
	"inputs": inputs,
}

# `child` re-parents a resource under another one's urn.
child(r, parent) := object.union(r, {"parent": parent.urn, "urn": concat("$", [parent.urn, r.type, r.name])})

depends(r, others) := object.union(r, {"dependencies": [o.urn | some o in others]})

# --- workloads ---

env := [
	{"name": "PHISTACK_DATA_CLASSIFICATION", "value": "phi"},
	{"name": "PHISTACK_KEY_BROKER_URL", "value": "https://kbs.example-hospital.org"},
	{"name": "PHISTACK_KEY_ID", "value": "clinical-nlp-dek"},
	{"name": "PHISTACK_ATTESTATION_POLICY", "value": "phistack.attestation.gpu_cc"},
	{"name": "PHISTACK_AUDIT_SINK", "value": "siem.example-hospital.org:6514"},
]

container(img, env_list) := {"name": "runtime", "image": img, "env": env_list}

cc_pod := pod("kata-qemu-nvidia-gpu-snp", [container(image, env)], [])

pod(runtime_class, cs, volumes) := {"runtimeClassName": runtime_class, "containers": cs, "volumes": volumes}

deployment(name, class, pod_spec) := resource("kubernetes:apps/v1:Deployment", name, {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": name, "namespace": "clinical"},
	"spec": {"template": {
		"metadata": {"labels": {"app": name, "phistack.io/data-classification": class, "phistack.io/dataset": dataset}},
		"spec": pod_spec,
	}},
})

phi_deployment := deployment("nlp", "phi", cc_pod)

attested(name, props) := component("phistack:workload:AttestedWorkload", name, props)

attested_props := {
	"namespace": "clinical",
	"image": image,
	"data_classification": "phi",
	"dataset": dataset,
	"runtime_class": "kata-qemu-nvidia-gpu-snp",
	"gpus": 1,
	"key_broker": {"url": "https://kbs.example-hospital.org", "key_id": "dek", "attestation_policy": "phistack.attestation.gpu_cc"},
	"audit_sink": "siem.example-hospital.org:6514",
	"samd": false,
}

# --- platform ---

cc_selector := {"nvidia.com/cc.mode.state": "on", "nvidia.com/cc.ready.state": "true"}

runtime_class(name, selector) := resource("kubernetes:node.k8s.io/v1:RuntimeClass", name, {
	"apiVersion": "node.k8s.io/v1",
	"kind": "RuntimeClass",
	"metadata": {"name": name},
	"handler": name,
	"scheduling": {"nodeSelector": selector},
})

namespace(name, class) := resource("kubernetes:core/v1:Namespace", name, {
	"apiVersion": "v1",
	"kind": "Namespace",
	"metadata": {"name": name, "labels": {"phistack.io/data-classification": class}},
})

phi_namespace := namespace("clinical", "phi")
