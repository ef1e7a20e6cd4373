"""EncryptedStorage: a StorageClass encrypting with AES-256 under a customer-managed key, and PVCs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from modules._common import (
    DATA_CLASSIFICATIONS,
    LABEL_CLASSIFICATION,
    LABEL_DATASET,
    DataClassification,
    check_choice,
    child,
    kube,
    labels,
    to_props,
)

TYPE = "phistack:storage:EncryptedStorage"

CsiDriver = Literal["aws-ebs", "gcp-pd", "azure-disk", "ceph-rbd"]
CSI_DRIVERS: tuple[str, ...] = ("aws-ebs", "gcp-pd", "azure-disk", "ceph-rbd")

_PROVISIONERS: dict[str, str] = {
    "aws-ebs": "ebs.csi.aws.com",
    "gcp-pd": "pd.csi.storage.gke.io",
    "azure-disk": "disk.csi.azure.com",
    "ceph-rbd": "rbd.csi.ceph.com",
}
# Disk type parameters that are not about encryption.
_BASE_PARAMETERS: dict[str, dict[str, str]] = {
    "aws-ebs": {"type": "gp3"},
    "gcp-pd": {"type": "pd-balanced"},
    "azure-disk": {"skuName": "Premium_LRS"},
    "ceph-rbd": {"imageFeatures": "layering"},
}


def encryption_parameters(driver: str, kms_key: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """The CSI parameters that make ``driver`` encrypt with AES-256 under ``kms_key``."""
    if driver == "aws-ebs":
        return {"encrypted": "true", "kmsKeyId": kms_key}
    if driver == "gcp-pd":
        return {"disk-encryption-kms-key": kms_key}
    if driver == "azure-disk":
        return {"diskEncryptionSetID": kms_key, "diskEncryptionType": "EncryptionAtRestWithCustomerKey"}
    # Ceph CSI: LUKS2 (AES-256-XTS) per image, the passphrase held by the customer's KMS.
    return {"encrypted": "true", "encryptionType": "block", "encryptionKMSID": kms_key}


@dataclass(kw_only=True)
class VolumeClaim:
    """A PersistentVolumeClaim on the encrypted StorageClass."""

    name: str
    """Claim name."""
    namespace: str
    """Namespace of the claim."""
    size: str
    """Requested size, e.g. ``500Gi``."""
    access_mode: Literal["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"] = "ReadWriteOncePod"
    """Access mode; a single pod by default."""


@dataclass(kw_only=True)
class EncryptedStorageArgs:
    """Settings of :class:`EncryptedStorage`; every field appears in the plan as a prop."""

    storage_class_name: str
    """Name of the StorageClass."""
    csi_driver: CsiDriver
    """``aws-ebs``, ``gcp-pd``, ``azure-disk`` or ``ceph-rbd``."""
    data_classification: DataClassification
    """Classification of the data stored."""
    dataset: str | None = None
    """The de-identified dataset stored (label ``phistack.io/dataset``); the gate holds ``deidentified`` storage
    to PHI rules unless this dataset's signed manifest verifies."""
    kms_key: pulumi.Input[str] | None = None
    """The customer-managed key reference; required while ``encrypted``."""
    encrypted: bool = True
    """Encrypt at rest; ``False`` is a weakening."""
    reclaim_policy: Literal["Retain", "Delete"] = "Retain"
    """``Retain`` keeps PHI volumes after their claim is deleted; ``Delete`` is a weakening."""
    volumes: list[VolumeClaim] = field(default_factory=list)
    """Claims to create."""


class EncryptedStorage(pulumi.ComponentResource):
    """A customer-key encrypted StorageClass (reclaim Retain) and its PersistentVolumeClaims."""

    storage_class_name: str
    """The StorageClass name."""

    def __init__(self, name: str, args: EncryptedStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check_choice("csi_driver", args.csi_driver, CSI_DRIVERS)
        check_choice("data_classification", args.data_classification, DATA_CLASSIFICATIONS)
        check_choice("reclaim_policy", args.reclaim_policy, ("Retain", "Delete"))
        if args.encrypted and args.kms_key is None:
            raise ValueError("kms_key is required while encrypted is true")
        props = to_props(args)
        props["encryption_algorithm"] = "AES-256" if args.encrypted else "none"
        super().__init__(TYPE, name, props, opts)
        self.storage_class_name = args.storage_class_name
        base = labels(
            name,
            {
                LABEL_CLASSIFICATION: args.data_classification,
                **({LABEL_DATASET: args.dataset} if args.dataset is not None else {}),
            },
        )

        parameters: dict[str, pulumi.Input[str]] = dict(_BASE_PARAMETERS[args.csi_driver])
        annotations: dict[str, pulumi.Input[str]] = {"phistack.io/encryption": "none"}
        if args.encrypted and args.kms_key is not None:
            parameters.update(encryption_parameters(args.csi_driver, args.kms_key))
            annotations = {"phistack.io/encryption": "AES-256", "phistack.io/kms-key": args.kms_key}
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-class",
            metadata={"name": args.storage_class_name, "labels": base, "annotations": annotations},
            provisioner=_PROVISIONERS[args.csi_driver],
            parameters=parameters,
            reclaim_policy=args.reclaim_policy,
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=child(self),
        )
        for vol in args.volumes:
            k8s.core.v1.PersistentVolumeClaim(
                f"{name}-pvc-{vol.name}",
                **kube(
                    metadata={"name": vol.name, "namespace": vol.namespace, "labels": base},
                    spec={
                        "storageClassName": args.storage_class_name,
                        "accessModes": [vol.access_mode],
                        "resources": {"requests": {"storage": vol.size}},
                    },
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[storage_class]),
            )
        self.register_outputs({"storage_class_name": args.storage_class_name})
