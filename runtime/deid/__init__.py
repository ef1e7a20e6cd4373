"""De-identification proofs: the signed manifest every de-identified dataset carries (:mod:`.manifest`)."""
