# METADATA
# title: A Business Associate Agreement covers every cloud and region the stack provisions in
# description: 'In a stack that handles PHI, every resource the stack creates on Google Cloud (gcp:*) or Azure
#   (azure-native:*) that has a location (a region or zone, a KMS key ring location, a node pool''s zones, a Pub/Sub
#   topic''s allowed storage regions) lies in a region that an agreement in the registry (policies/data/baa.json)
#   with that cloud (google-cloud, microsoft-azure) covers: in effect on the evaluation date, covering the data
#   the stack holds (phi, genetic) and listing the region in its regions. Whatever the ProviderProfile says, the
#   cloud that holds the data is a business associate too. A cloud without an agreement, an agreement without
#   regions, a region it does not list, and an unknown location deny.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(b)(1)
#   description: '45 CFR 164.308(b)(1): A covered entity may permit a business associate to create, receive,
#     maintain, or transmit electronic protected health information on the covered entity''s behalf only
#     if the covered entity obtains satisfactory assurances, in accordance with § 164.314(a), that the business
#     associate will appropriately safeguard the information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.314#p-164.314(a)(1)
#   description: '45 CFR 164.314(a)(1): The contract or other arrangement required by § 164.308(b) must
#     meet the requirements of paragraph (a)(2)(i), (a)(2)(ii), or (a)(2)(iii) of this section, as applicable.'
# custom:
#   id: PHI-BAA-003
#   severity: critical
#   enforcement: mandatory
#   unwaivable: true
#   citations:
#   - cfr: 45 CFR 164.308(b)(1)
#     title: Business associate contracts and other arrangements
#     type: required
#   - cfr: 45 CFR 164.314(a)(1)
#     title: Business associate contracts or other arrangements
#     type: required
#   remediation: Accept the cloud's BAA (Google Cloud in the console, Azure through the Product Terms), record it
#     in policies/data/baa.json with the regions the organisation may use, and keep the cluster, keys and audit
#     topic in those regions.
package phistack.rules.baa.phi_baa_003

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# The business associate each cloud's resources are held by (its id in policies/data/baa.json).
_clouds := {"gcp": "google-cloud", "azure-native": "microsoft-azure"}

findings(ctx) := {f |
	ctx.handles_phi
	classes := _held_classes(ctx)
	some r in _cloud_held(ctx)
	some f in _resource_coverage(ctx, r, classes)
}

# The sensitive classes the stack holds; a PHI stack without a class of its own counts as phi.
_held_classes(ctx) := held if {
	held := {c | some c in lib.scope(ctx).classifications; c in lib.sensitive}
	count(held) > 0
} else := {"phi"}

_cloud_held(ctx) := [r |
	some t in object.keys(ctx.types)
	some prefix in object.keys(_clouds)
	startswith(t, concat("", [prefix, ":"]))
	some i in ctx.types[t]
	r := ctx.resources[i]
]

_cloud_prefix(r) := c if {
	some c in object.keys(_clouds)
	startswith(r.type, concat("", [c, ":"]))
}

_resource_coverage(ctx, r, classes) := {lib.unknown_finding("PHI-BAA-003", r.urn, concat("", ["the location of ", r.name]), paths)} if {
	paths := [p | some loc in _places(r); loc.unknown; p := loc.path]
	count(paths) > 0
} else := _located_findings(ctx, r, _cloud_prefix(r), classes)

_located_findings(ctx, r, cloud, classes) := {finding |
	some place in _places(r)
	where := _region_of(cloud, place.value)
	why := _coverage_problem(ctx, _clouds[cloud], where, classes)
	finding := lib.finding("PHI-BAA-003", r.urn, concat("", [r.name, " (", r.type, ") is in ", where, " (", place.path, "): ", why]))
}

# Every place the resource says it is: {"path", "value"} or {"path", "unknown": true}.
_places(r) := [loc |
	some path in _location_paths
	value := object.get(r.inputs, path, null)
	value != null
	some loc in _place_values(concat(".", path), value)
]

_location_paths := [["location"], ["region"], ["nodeLocations"], ["messageStoragePolicy", "allowedPersistenceRegions"]]

_place_values(path, value) := [{"path": path, "unknown": true}] if lib.is_unknown(value)

else := [{"path": path, "value": value}] if is_string(value)

else := _array_places(path, value) if is_array(value)

else := [{"path": path, "unknown": true}]

_array_places(path, value) := [entry |
	some i
	item := value[i]
	entry := _place_item(concat("", [path, "[", format_int(i, 10), "]"]), item)
]

_place_item(path, item) := {"path": path, "value": item} if is_string(item)

else := {"path": path, "unknown": true}

# Google zones (us-central1-a) belong to their region; Azure writes regions with spaces and capitals too.
_region_of(cloud, value) := concat("-", array.slice(parts, 0, 2)) if {
	cloud == "gcp"
	parts := split(lower(value), "-")
	count(parts) == 3
	count(parts[2]) == 1
} else := lower(replace(value, " ", "")) if {
	cloud == "azure-native"
} else := lower(value)

_coverage_problem(ctx, associate, region, classes) := concat("", ["no agreement with ", associate, " is in the registry (policies/data/baa.json)"]) if {
	count([a | some a in lib.baa_agreements; a.provider == associate]) == 0
} else := concat("", ["no agreement with ", associate, " is in effect on ", ctx.today]) if {
	count(_effective(ctx, associate)) == 0
} else := concat("", ["no agreement with ", associate, " in effect covers ", concat(", ", lib.sorted(classes))]) if {
	count([a | some a in _effective(ctx, associate); _covers_classes(a, classes)]) == 0
} else := concat("", ["no agreement with ", associate, " lists this region"]) if {
	count([a | some a in _effective(ctx, associate); _covers_classes(a, classes); region in _listed_regions(a)]) == 0
}

_effective(ctx, associate) := [a |
	some a in lib.baa_agreements
	a.provider == associate
	is_string(ctx.today)
	is_string(a.signed)
	is_string(a.expires)
	a.signed <= ctx.today
	ctx.today <= a.expires
]

_covers_classes(a, classes) if {
	covered := {c | some c in object.get(a, "covers", [])}
	count(classes - covered) == 0
}

# An agreement without a regions list covers no region: where the data may live must be written down.
_listed_regions(a) := {lower(r) | some r in object.get(a, "regions", []); is_string(r)}
