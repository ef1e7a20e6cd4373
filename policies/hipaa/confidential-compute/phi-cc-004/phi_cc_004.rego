# METADATA
# title: PHI workload images are pinned by digest
# description: Every container (init and ephemeral included) of a PHI or genetic pod workload names its
#   image by an immutable sha256 digest, so the code that attestation measures and the key broker trusts
#   is the code that runs. A tag, a missing image or an unknown image denies.
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(c)(1)
#   description: '45 CFR 164.312(c)(1) Integrity: Implement policies and procedures to protect electronic
#     protected health information from improper alteration or destruction.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(c)(2)
#   description: '45 CFR 164.312(c)(2) Mechanism to authenticate electronic protected health information
#     (Addressable): Implement electronic mechanisms to corroborate that electronic protected health information
#     has not been altered or destroyed in an unauthorized manner.'
# custom:
#   id: PHI-CC-004
#   severity: high
#   enforcement: mandatory
#   unwaivable: true
#   citations:
#   - cfr: 45 CFR 164.312(c)(1)
#     title: Integrity
#     type: required
#   - cfr: 45 CFR 164.312(c)(2)
#     title: Mechanism to authenticate electronic protected health information
#     type: addressable
#   remediation: Reference the image as name@sha256:<digest> (AttestedWorkload.image) and keep allow_unpinned_image
#     false.
package phistack.rules.confidential_compute.phi_cc_004

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in ctx.phi_workloads
	some c in lib.containers(w)
	f := _finding(w, c)
}

# One pass per container: an unknown image fails closed, else an image without a digest denies.
_finding(w, c) := lib.unknown_finding("PHI-CC-004", w.urn, concat("", ["the image of container ", object.get(c.container, "name", c.path)]), [concat(".", [c.path, "image"])]) if {
	lib.is_unknown(object.get(c.container, "image", null))
} else := f if {
	image := object.get(c.container, "image", "")
	not _pinned(image)
	f := lib.finding("PHI-CC-004", w.urn, concat("", ["PHI workload ", lib.name_of(w), ": container ", object.get(c.container, "name", c.path), " image '", _image_text(image), "' is not pinned by a sha256 digest"]))
}

_pinned(image) if {
	is_string(image)
	lib.image_pinned(image)
}

_image_text(image) := image if is_string(image)

else := ""
