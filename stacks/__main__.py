"""The phistack Pulumi program: read the stack's config once into a StackSpec, compose the modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as pulumi_config

import modules as m
from phistack.stackconfig import NAMESPACE
from stacks.spec import StackSpec, decode_config_value, parse_spec


def read_spec() -> StackSpec:
    """Every ``phistack:*`` config key, validated once; errors name the stack file and key path."""
    merged: dict[str, Any] = {**pulumi_config.get_config_env(), **pulumi_config.CONFIG.get()}
    config = {
        key.split(":", 1)[1]: decode_config_value(value) if isinstance(value, str) else value
        for key, value in merged.items()
        if key.startswith(f"{NAMESPACE}:")
    }
    name = f"Pulumi.{pulumi.get_stack()}.yaml"
    # The stack files sit beside this program (Pulumi.yaml: stackConfigDir); the file gives errors a line.
    return parse_spec(config, f"stacks/{name}", Path(__file__).resolve().parent / name)


def redacted_spec(spec: StackSpec) -> dict[str, Any]:
    """The spec for the plan document: a key configured as a secret is replaced by a marker."""
    out = spec.model_dump(mode="json")
    for key in list(out):
        if pulumi_config.is_config_secret(f"{NAMESPACE}:{key}"):
            out[key] = {"__secret__": True}
    return out


def _declared_pools(spec: StackSpec) -> list[m.NodePool]:
    """Pools of an existing cluster, as declared (the spec guarantees their fields for this backend)."""
    if spec.cluster.backend != "existing":
        return []
    return [
        m.NodePool(
            name=p.name,
            gpu_model=p.gpu_model or "",
            gpu_count=p.gpu_count or 0,
            node_count=p.node_count,
            cc_capable=bool(p.cc_capable),
        )
        for p in spec.cluster.node_pools
    ]


def _cloud_pools(spec: StackSpec) -> list[m.CloudNodePool]:
    """Pools a cloud backend creates."""
    if spec.cluster.backend == "existing":
        return []
    return [
        m.CloudNodePool(
            name=p.name, machine_type=p.machine_type or "", node_count=p.node_count, confidential=p.confidential
        )
        for p in spec.cluster.node_pools
    ]


def _gke_settings(spec: StackSpec) -> m.GkeSettings | None:
    g = spec.cluster.gke
    if g is None:
        return None
    fields = g.model_dump(exclude={"master_authorized_networks"})
    networks = [m.AuthorizedNetwork(**n.model_dump()) for n in g.master_authorized_networks]
    return m.GkeSettings(**fields, master_authorized_networks=networks)


def compose(spec: StackSpec) -> None:
    """Declare the stack's resources from ``spec``."""
    p = spec.provider
    m.ProviderProfile(
        "provider",
        m.ProviderProfileArgs(
            provider=p.name,
            plan=p.plan,
            region=p.region,
            baa=m.BaaRecord(
                reference=p.baa.reference, signed=p.baa.signed.isoformat(), expires=p.baa.expires.isoformat()
            )
            if p.baa
            else None,
        ),
    )

    c = spec.cluster
    cluster = m.ConfidentialGpuCluster(
        c.name,
        m.ConfidentialGpuClusterArgs(
            cluster_name=c.name,
            namespaces=[
                m.NamespaceSpec(name=ns.name, data_classification=ns.data_classification) for ns in c.namespaces
            ],
            node_pools=_declared_pools(spec),
            backend=c.backend,
            gke=_gke_settings(spec),
            aks=m.AksSettings(**c.aks.model_dump()) if c.aks else None,
            cloud_node_pools=_cloud_pools(spec),
            pod_security_level=c.pod_security_level,
            cc_mode=c.cc_mode,
            default_deny_network=c.default_deny_network,
            network_allows=[
                m.NetworkAllow(
                    name=a.name,
                    namespace=a.namespace,
                    direction=a.direction,
                    peer_namespace=a.peer_namespace,
                    peer_cidr=a.peer_cidr,
                    ports=[m.Port(port=pt.port, protocol=pt.protocol) for pt in a.ports],
                )
                for a in c.network_allows
            ],
            access_grants=[
                m.AccessGrant(
                    subject=g.subject,
                    subject_kind=g.subject_kind,
                    namespace=g.namespace,
                    role=g.role,
                    rules=[m.PolicyRule(**r.model_dump()) for r in g.rules],
                )
                for g in c.access_grants
            ],
            cluster_admin_subjects=list(c.cluster_admin_subjects),
            quota=m.Quota(**c.quota.model_dump()) if c.quota else None,
            identity_provider=m.IdentityProvider(**c.identity_provider.model_dump()) if c.identity_provider else None,
        ),
    )
    # Depend on the one namespace a resource lives in, not on the whole cluster component: a
    # component dependency expands to every child, which costs O(workloads × cluster children).
    all_namespaces: list[pulumi.Resource] = list(cluster.namespace_resources.values())
    # A cloud backend created the cluster: every other component's Kubernetes objects go through its provider.
    providers = [cluster.kubernetes_provider] if cluster.kubernetes_provider is not None else None
    after_cluster = pulumi.ResourceOptions(depends_on=all_namespaces, providers=providers)

    storage: pulumi.Resource | None = None
    if spec.storage is not None:
        s = spec.storage
        storage = m.EncryptedStorage(
            "storage",
            m.EncryptedStorageArgs(
                storage_class_name=s.storage_class_name,
                csi_driver=s.csi_driver,
                data_classification=s.data_classification,
                dataset=s.dataset,
                kms_key=s.kms_key or cluster.storage_key,
                encrypted=s.encrypted,
                reclaim_policy=s.reclaim_policy,
                volumes=[m.VolumeClaim(**v.model_dump()) for v in s.volumes],
            ),
            opts=after_cluster,
        )

    default_sink: str | None = None
    if spec.logging is not None:
        lg = spec.logging
        default_sink = f"{lg.siem_host}:{lg.siem_port}"
        m.AuditLogShipping(
            "audit-logs", m.AuditLogShippingArgs(**lg.model_dump()), opts=pulumi.ResourceOptions(providers=providers)
        )

    workloads: dict[str, m.AttestedWorkload] = {}
    for w in spec.workloads:
        deps: list[pulumi.Resource] = [cluster.namespace_resources[w.namespace]]
        if storage is not None and any(v.source == "pvc" for v in w.volumes):
            deps.append(storage)
        workloads[w.name] = m.AttestedWorkload(
            w.name,
            m.AttestedWorkloadArgs(
                namespace=w.namespace,
                image=w.image,
                data_classification=w.data_classification,
                dataset=w.dataset,
                kind=w.kind,
                allow_unpinned_image=w.allow_unpinned_image,
                replicas=w.replicas,
                args=list(w.args),
                container_port=w.container_port,
                runtime_class=w.runtime_class or cluster.runtime_class_name,
                gpus=w.gpus,
                cpu=w.cpu,
                memory=w.memory,
                security=m.SecuritySettings(**w.security.model_dump()),
                probes=m.Probes(**w.probes.model_dump()) if w.probes else None,
                key_broker=m.KeyBroker(**w.key_broker.model_dump()) if w.key_broker else None,
                samd=w.samd,
                model_provenance=m.ModelProvenance(**w.model_provenance.model_dump()) if w.model_provenance else None,
                volumes=[m.WorkloadVolume(**v.model_dump()) for v in w.volumes],
                audit_sink=w.audit_sink or default_sink,
                purpose=w.purpose,
                authorized_groups=list(w.authorized_groups),
                node_selector=dict(cluster.workload_node_selector) if w.gpus > 0 else {},
                tolerations=list(cluster.workload_tolerations) if w.gpus > 0 else [],
            ),
            opts=pulumi.ResourceOptions(depends_on=deps, providers=providers),
        )

    for e in spec.endpoints:
        target = workloads[e.workload]
        workload_spec = next(w for w in spec.workloads if w.name == e.workload)
        m.TlsEndpoint(
            e.name,
            m.TlsEndpointArgs(
                hostname=e.hostname,
                namespace=workload_spec.namespace,
                backend_selector=dict(target.selector),
                backend_port=workload_spec.container_port,
                gateway_class_name=e.gateway_class_name,
                certificate_source=e.certificate_source,
                issuer=m.Issuer(name=e.issuer.name, kind=e.issuer.kind) if e.issuer else None,
                min_tls_version=e.min_tls_version,
                hsts_max_age_seconds=e.hsts_max_age_seconds,
                allow_plaintext_http=e.allow_plaintext_http,
                mtls=e.mtls,
                client_ca_configmap=e.client_ca_configmap,
                backend_tls=e.backend_tls,
                backend_ca_configmap=e.backend_ca_configmap,
            ),
            opts=pulumi.ResourceOptions(depends_on=[target], providers=providers),
        )

    pulumi.export("spec", redacted_spec(spec))


if __name__ == "__main__":
    compose(read_spec())
