package phistack.rules.scope.phi_scope_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.scope.phi_scope_001

_deny(resources) := phi_scope_001.findings(fx.ctx(resources))

_cache(labels) := fx.resource("kubernetes:example.com/v1:PhiCache", "cache", {
	"apiVersion": "example.com/v1",
	"kind": "PhiCache",
	"metadata": {"name": "cache", "namespace": "clinical", "labels": labels},
	"spec": {"size": "10Gi"},
})

_bucket(tags) := fx.resource("aws:s3/bucketV2:BucketV2", "records", {"bucket": "records", "tags": tags})

_urn_cache := fx.urn("kubernetes:example.com/v1:PhiCache", "cache")

_urn_bucket := fx.urn("aws:s3/bucketV2:BucketV2", "records")

_msg(name, type, marks) := concat("", [name, " (", type, ") is classified PHI or genetic at ", marks, " but no HIPAA rule understands resources of this type: its encryption, access and location cannot be verified"])

test_allowed_known_types_only if {
	_deny([fx.phi_namespace, fx.phi_deployment]) == set()
}

test_allowed_unclassified_unknown_type if {
	_deny([fx.phi_deployment, _bucket({"team": "radiology"})]) == set()
}

test_allowed_declassified_property if {
	_deny([fx.resource("aws:s3/bucketV2:BucketV2", "records", {"containsPhi": false})]) == set()
}

test_denied_labelled_crd_unconnected if {
	_deny([fx.phi_deployment, _cache({"phistack.io/data-classification": "phi"})]) == {lib.finding("PHI-SCOPE-001", _urn_cache, _msg("cache", "kubernetes:example.com/v1:PhiCache", "metadata.labels.phistack.io/data-classification"))}
}

# Classified alone, in a stack with nothing else: the mark itself brings the stack into scope.
test_denied_tagged_bucket_alone if {
	_deny([_bucket({"data-classification": "PHI"})]) == {lib.finding("PHI-SCOPE-001", _urn_bucket, _msg("records", "aws:s3/bucketV2:BucketV2", "tags.data-classification"))}
}

test_denied_tag_list_and_key_value_string if {
	r := fx.resource("aws:s3/bucketV2:BucketV2", "records", {"tagList": [{"key": "class", "value": "genetic"}], "note": "data-classification=phi"})
	_deny([r]) == {lib.finding("PHI-SCOPE-001", _urn_bucket, _msg("records", "aws:s3/bucketV2:BucketV2", "note, tagList.0.value"))}
}

test_denied_property_named_for_phi if {
	r := fx.resource("aws:s3/bucketV2:BucketV2", "records", {"phi_data": true})
	_deny([r]) == {lib.finding("PHI-SCOPE-001", _urn_bucket, _msg("records", "aws:s3/bucketV2:BucketV2", "phi_data"))}
}

# A Deployment of an API version the rules do not read is not understood.
test_denied_old_api_deployment_runs_containers if {
	old := fx.resource("kubernetes:apps/v1beta1:Deployment", "legacy", {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}})
	_deny([fx.phi_deployment, old]) == {lib.finding("PHI-SCOPE-001", fx.urn("kubernetes:apps/v1beta1:Deployment", "legacy"), "legacy (kubernetes:apps/v1beta1:Deployment) runs containers (spec.template.spec.containers) in a stack that handles PHI, but no HIPAA rule understands resources of this type: its pods escape the confidential-computing rules")}
}

test_allowed_unknown_type_with_containers_in_stack_without_phi if {
	old := fx.resource("argoproj.io/v1alpha1:Rollout", "r", {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}})
	_deny([old]) == set()
}

test_missing_inputs if {
	_deny([fx.resource("aws:s3/bucketV2:BucketV2", "records", {})]) == set()
}

test_unknown_values_do_not_hide_a_mark if {
	_deny([_bucket({"data-classification": "phi", "owner": fx.unknown})]) == {lib.finding("PHI-SCOPE-001", _urn_bucket, _msg("records", "aws:s3/bucketV2:BucketV2", "tags.data-classification"))}
}

test_denied_camel_case_property if {
	r := fx.resource("aws:s3/bucketV2:BucketV2", "records", {"containsPhi": true})
	_deny([r]) == {lib.finding("PHI-SCOPE-001", _urn_bucket, _msg("records", "aws:s3/bucketV2:BucketV2", "containsPhi"))}
}
