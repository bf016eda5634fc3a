"""AssociateEncryptionConfig and DescribeUpdate for moto server 5.2.5, which answers both
with 404.

AWS: AssociateEncryptionConfig (`POST /clusters/{name}/encryption-config/associate`) turns
on envelope encryption of a cluster's secrets with a KMS key, for a cluster created without
one; its answer is the update it started (type AssociateEncryptionConfig, status InProgress,
an EncryptionConfig param), which DescribeUpdate (`GET /clusters/{name}/updates/{updateId}`)
then reports until it is Successful. The key is on the cluster's `encryptionConfig` from then
on. An unknown cluster or update is ResourceNotFoundException.

Updates started here are reported InProgress by the first DescribeUpdate and Successful by
the next, so a waiter sees one pending status first. Updates moto starts itself (it starts
none: UpdateClusterConfig answers with the cluster) are not known here.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.eks import urls as eks_urls
from moto.eks.exceptions import ResourceNotFoundException
from moto.eks.models import CLUSTER_NOT_FOUND_MSG, Cluster
from moto.eks.responses import EKSResponse
from moto.moto_api._internal import mock_random as random

_lock = threading.Lock()


def updates_of(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """The updates started here, on moto's cluster object (they go when the cluster goes)."""
    return cluster.__dict__.setdefault("_encryption_updates", {})


class EncryptionResponse(EKSResponse):
    """moto's EKS responses plus AssociateEncryptionConfig and DescribeUpdate; moto routes
    by the botocore model, so each method is found by the operation's snake_case name."""

    def _cluster(self) -> Cluster:
        name = self._get_param("name")
        cluster = self.eks_backend.clusters.get(name)
        if cluster is None:
            raise ResourceNotFoundException(
                clusterName=name,
                nodegroupName=None,
                fargateProfileName=None,
                addonName=None,
                message=CLUSTER_NOT_FOUND_MSG.format(clusterName=name),
            )
        return cluster

    def associate_encryption_config(self) -> ActionResult:
        with _lock:
            cluster = self._cluster()
            config = self._get_param("encryptionConfig") or []
            cluster.encryption_config = config
            update = {
                "id": str(random.uuid4()),
                "status": "InProgress",
                "type": "AssociateEncryptionConfig",
                "params": [{"type": "EncryptionConfig", "value": json.dumps(config)}],
                "createdAt": utcnow(),
                "errors": [],
            }
            updates_of(cluster)[update["id"]] = {"update": update, "described": 0}
            return ActionResult({"update": update})

    def describe_update(self) -> ActionResult:
        with _lock:
            cluster = self._cluster()
            update_id = self._get_param("updateId")
            known = updates_of(cluster).get(update_id)
            if known is None:
                raise ResourceNotFoundException(
                    clusterName=cluster.name,
                    nodegroupName=None,
                    fargateProfileName=None,
                    addonName=None,
                    message=f"No update found for ID: {update_id}",
                )
            known["described"] += 1
            if known["described"] > 1:
                known["update"]["status"] = "Successful"
            return ActionResult({"update": known["update"]})


ROUTES = [
    "{0}/clusters/(?P<name>[^/]+)/encryption-config/associate$",
    "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$",
]


def install() -> None:
    """Adds the two routes to moto's EKS URL table."""
    for route in ROUTES:
        eks_urls.url_paths[route] = EncryptionResponse.dispatch
