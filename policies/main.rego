# The one entrypoint of the deploy-time gate: every rule package under phistack.rules contributes
# mandatory findings to `deny` and advisory findings to `warn`.
package phistack.main

import rego.v1

deny contains finding if {
	some name
	some finding in data.phistack.rules[name].deny
}

warn contains finding if {
	some name
	some finding in data.phistack.rules[name].warn
}

result := {"deny": deny, "warn": warn}
