"""De-identification before data leaves the hospital: DICOM (PS3.15 Annex E) and structured extracts (Safe
Harbor, 45 CFR 164.514(b)(2)), each run ending in a signed manifest (:mod:`runtime.deid.manifest`)."""
