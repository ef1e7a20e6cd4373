# METADATA
# title: Cloud clusters route their audit logs toward the SIEM
# description: 'In a stack that handles PHI, the Kubernetes audit log of every cloud cluster leaves the cloud''s log store
#   for the SIEM through a route the stack declares. GKE: for every Cluster (its name known) a gcp ProjectSink of the
#   stack, not disabled and without an active exclusion, has a filter that is a conjunction (AND) of resource.type="k8s_cluster",
#   resource.labels.cluster_name="<the cluster''s name>" and optionally logName:"cloudaudit.googleapis.com" and one
#   resource.labels.location or resource.labels.project_id term, each written without spaces (any other term, OR,
#   NOT, implicit AND or parenthesis is not understood and does not count), and a destination pubsub.googleapis.com/projects/<project>/topics/<name> naming a
#   Pub/Sub Topic of the stack (PHI-CLOUD-001 requires its customer-managed key). AKS: for every ManagedCluster a
#   DiagnosticSetting whose resourceUri is the cluster''s id (resource group and name) enables a log of category kube-audit
#   (or category group audit or allLogs; kube-audit-admin alone leaves out reads, get and list, so it does not count) and sends it to an Event Hub (eventHubAuthorizationRuleId)
#   or a Log Analytics workspace (workspaceId). Where no route qualifies and a sink or setting has an unknown value, it
#   denies as unknown.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(b)
#   description: '45 CFR 164.312(b) Audit controls: Implement hardware, software, and/or procedural mechanisms
#     that record and examine activity in information systems that contain or use electronic protected health
#     information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(D)
#   description: '45 CFR 164.308(a)(1)(ii)(D) Information system activity review (Required): Implement procedures
#     to regularly review records of information system activity, such as audit logs, access reports, and security
#     incident tracking reports.'
# custom:
#   id: PHI-CLOUD-004
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(b)
#     title: Audit controls
#     type: required
#   - cfr: 45 CFR 164.308(a)(1)(ii)(D)
#     title: Information system activity review
#     type: required
#   remediation: Keep the backend's audit route (gke audit_log_topic, aks audit_event_hub_rule_id and audit_event_hub_name)
#     and have the SIEM subscribe to that topic or Event Hub.
package phistack.rules.cloud.phi_cloud_004

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some x in lib.cloud_report(_results(ctx))
	f := _as_finding(x)
}

_as_finding(x) := lib.unknown_finding("PHI-CLOUD-004", x.urn, x.what, x.paths) if {
	x.paths
} else := lib.finding("PHI-CLOUD-004", x.urn, x.msg)

_results(ctx) := array.concat(_gke_results(ctx), _aks_results(ctx))

# --- GKE ------------------------------------------------------------------------------------------

_gke_results(ctx) := [x |
	topics := _topic_ids(ctx)
	sinks := lib.of_type(ctx, "gcp:logging/projectSink:ProjectSink")
	some c in lib.of_type(ctx, "gcp:container/cluster:Cluster")
	some x in _gke_cluster_route(c, sinks, topics)
]

# [project or "", name] of the stack's Pub/Sub topics ("" when the topic takes the provider's project).
_topic_ids(ctx) := {[project, name] |
	some t in lib.of_type(ctx, "gcp:pubsub/topic:Topic")
	name := object.get(t.inputs, "name", null)
	is_string(name)
	project := _string_or_empty(object.get(t.inputs, "project", ""))
}

_string_or_empty(x) := x if is_string(x)

else := ""

_sink_reads := [
	{"path": ["filter"], "want": "known"},
	{"path": ["destination"], "want": "known"},
	{"path": ["disabled"], "want": "known"},
	{"path": ["exclusions"], "want": "known"},
]

_gke_cluster_route(c, sinks, topics) := lib.cloud_checks(c, c.inputs, "", [{"path": ["name"], "want": "set"}]) if {
	not lib.non_empty_string(object.get(c.inputs, "name", null))
} else := [] if {
	some s in sinks
	_routes(s.inputs, c.inputs.name, topics)
} else := unknown if {
	unknown := [x |
		some s in sinks
		some x in lib.cloud_checks(s, s.inputs, "", _sink_reads)
	]
	count(unknown) > 0
} else := [{"urn": c.urn, "label": lib.cloud_label(c), "path": "name", "problem": concat("", [
	"is ", c.inputs.name, ", and no log sink of the stack routes that cluster's audit logs (filter resource.type=\"k8s_cluster\" AND resource.labels.cluster_name=\"",
	c.inputs.name, "\") to a Pub/Sub topic of the stack",
])}]

_routes(sink, name, topics) if {
	object.get(sink, "disabled", false) != true
	every e in object.get(sink, "exclusions", []) {
		object.get(e, "disabled", false) == true
	}
	_filter_names(object.get(sink, "filter", null), name)
	_topic_destination(object.get(sink, "destination", null), topics)
}

# The filter is words separated by spaces, tabs or newlines: terms alternating with AND. A term is a key and a
# value, bare or in quotes (`resource.type="k8s_cluster"` and `resource.type=k8s_cluster` are the same query).
# Terms are matched by prefix, suffix, position and length, never by equality with a literal: on regopy an
# input string that holds quotes, and anything cut from it, equals no literal. Plain split only.
_filter_names(filter, name) if {
	is_string(filter)
	words := [w |
		some line in split(filter, "\n")
		some part in split(line, "\t")
		some w in split(part, " ")
		w != ""
	]
	count(words) % 2 == 1
	count([i | some i; w := words[i]; i % 2 == 1; w != "AND"]) == 0
	terms := [w | some i; w := words[i]; i % 2 == 0]
	count([t | some t in terms; _term_is(t, "resource.type=", "k8s_cluster")]) > 0
	count([t | some t in terms; _term_is(t, "resource.labels.cluster_name=", name)]) > 0
	count([t | some t in terms; not _allowed_term(t, name)]) == 0
	count([t | some t in terms; startswith(t, "resource.labels.location=")]) <= 1
	count([t | some t in terms; startswith(t, "resource.labels.project_id=")]) <= 1
}

# t is key=value with the value bare ...
_term_is(t, key, value) if {
	startswith(t, key)
	count(t) == count(key) + count(value)
	endswith(t, value)
}

# ... or between two quote characters.
_term_is(t, key, value) if {
	startswith(t, key)
	count(t) == (count(key) + count(value)) + 2
	substring(t, count(key) + 1, -1) != ""
	endswith(substring(t, 0, count(t) - 1), value)
	_quote(substring(t, count(key), 1))
	_quote(substring(t, count(t) - 1, 1))
}

# A character that can only be a quote here (values are names and words).
_quote(c) if not regex.match(`^[a-zA-Z0-9._:/=()*<>!-]$`, c)

_allowed_term(t, name) if _term_is(t, "resource.labels.cluster_name=", name)

_allowed_term(t, name) if _term_is(t, "resource.type=", "k8s_cluster")

_allowed_term(t, name) if _term_is(t, "logName:", "cloudaudit.googleapis.com")

# resource.labels.location=<value> or resource.labels.project_id=<value>, with a value and no other operator.
_allowed_term(t, name) if {
	some prefix in ["resource.labels.location=", "resource.labels.project_id="]
	startswith(t, prefix)
	count(t) > count(prefix)
}

_topic_destination(destination, topics) if {
	is_string(destination)
	parts := split(destination, "/")
	count(parts) == 5
	parts[0] == "pubsub.googleapis.com"
	parts[1] == "projects"
	parts[3] == "topics"
	some id in [[parts[2], parts[4]], ["", parts[4]]]
	id in topics
}

# --- AKS ------------------------------------------------------------------------------------------

_aks_results(ctx) := [x |
	settings := array.concat(lib.of_type(ctx, "azure-native:monitor:DiagnosticSetting"), lib.of_type(ctx, "azure-native:insights:DiagnosticSetting"))
	some m in lib.of_type(ctx, "azure-native:containerservice:ManagedCluster")
	some x in _aks_cluster_route(m, settings)
]

_cluster_names := [{"path": ["resourceName"], "want": "set"}, {"path": ["resourceGroupName"], "want": "set"}]

_setting_reads := [
	{"path": ["resourceUri"], "want": "known"},
	{"path": ["logs"], "want": "known"},
	{"path": ["eventHubAuthorizationRuleId"], "want": "known"},
	{"path": ["workspaceId"], "want": "known"},
]

_aks_cluster_route(m, settings) := named if {
	named := lib.cloud_checks(m, m.inputs, "", _cluster_names)
	count(named) > 0
} else := [] if {
	some d in settings
	_audits(d.inputs, lower(m.inputs.resourceGroupName), lower(m.inputs.resourceName))
} else := unknown if {
	unknown := [x |
		some d in settings
		some x in lib.cloud_checks(d, d.inputs, "", _setting_reads)
	]
	count(unknown) > 0
} else := [{"urn": m.urn, "label": lib.cloud_label(m), "path": "resourceName", "problem": concat("", [
	"is ", m.inputs.resourceName,
	", and no diagnostic setting on that cluster sends its kube-audit log to an Event Hub or a Log Analytics workspace",
])}]

_audits(setting, group, name) if {
	uri := object.get(setting, "resourceUri", null)
	is_string(uri)
	parts := split(lower(uri), "/")
	count(parts) == 9
	parts[1] == "subscriptions"
	parts[3] == "resourcegroups"
	parts[4] == group
	parts[5] == "providers"
	parts[6] == "microsoft.containerservice"
	parts[7] == "managedclusters"
	parts[8] == name
	some log in object.get(setting, "logs", [])
	log.enabled == true
	_audit_category(log)
	_siem_destination(setting)
}

# kube-audit-admin drops get and list: a read of a Secret or of PHI through the API would go unrecorded.
_audit_category(log) if object.get(log, "category", "") == "kube-audit"

_audit_category(log) if object.get(log, "categoryGroup", "") in {"audit", "allLogs"}

_siem_destination(setting) if lib.non_empty_string(object.get(setting, "eventHubAuthorizationRuleId", null))

_siem_destination(setting) if lib.non_empty_string(object.get(setting, "workspaceId", null))
