# The one entrypoint of the deploy-time gate: every rule package phistack.rules.<category>.<rule> contributes
# mandatory findings to `deny` and advisory findings to `warn`; `coverage` says how much of the plan
# the rules understand, `scope` whether it is in HIPAA scope.
package phistack.main

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains finding if {
	some category, name
	some finding in data.phistack.rules[category][name].deny
}

warn contains finding if {
	some category, name
	some finding in data.phistack.rules[category][name].warn
}

# How much of the plan the rules understand: reports state it, so that a plan of types no rule knows
# never reads as a bare "allowed, no findings".
coverage := lib.coverage(lib.ctx)

# Whether the plan is in HIPAA scope, decided once here: evidence reads it instead of deciding again.
scope := lib.scope(lib.ctx)

result := {"deny": deny, "warn": warn, "coverage": coverage, "scope": scope}
