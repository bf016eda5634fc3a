"""The EKS add-on API for moto server 5.2.5, which answers it with 404.

Serves CreateAddon, DescribeAddon, UpdateAddon, DeleteAddon, ListAddons and
DescribeAddonVersions as the AWS API reference describes them (REST paths, JSON shapes,
errors), plus TagResource / UntagResource / ListTagsForResource on add-on ARNs. Everything
else keeps moto's own behaviour.

Add-ons live on moto's own EKS cluster objects, so they are per account and region like the
rest of moto's EKS backend, need their cluster to exist, and go when it goes (DeleteCluster
deletes a cluster's add-ons on AWS too).

Status transitions exercise waiters: after CreateAddon, UpdateAddon or DeleteAddon the first
DescribeAddon still reports CREATING, UPDATING or DELETING; the next one reports ACTIVE, or
ResourceNotFoundException once a deleted add-on is gone.

`install()` must run before the server handles its first EKS request, because moto builds
each service's URL map on that request (localstack/serve.py calls it first thing).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.eks import urls as eks_urls
from moto.eks.exceptions import (
    InvalidParameterException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from moto.eks.models import CLUSTER_NOT_FOUND_MSG, Cluster, paginated_list
from moto.eks.responses import EKSResponse
from moto.eks.utils import validate_role_arn
from moto.moto_api._internal import mock_random as random

ADDON_ARN = "arn:{partition}:eks:{region}:{account}:addon/{cluster}/{addon}/{uuid}"

# Versions each add-on offers, newest (the default) first. A small sample of AWS's catalog:
# enough to pick a default, reject unknown versions and let a test upgrade one.
CATALOG: dict[str, list[str]] = {
    "vpc-cni": ["v1.19.2-eksbuild.1", "v1.19.0-eksbuild.1", "v1.18.6-eksbuild.1"],
    "coredns": ["v1.11.4-eksbuild.2", "v1.11.3-eksbuild.1"],
    "kube-proxy": ["v1.31.3-eksbuild.2", "v1.30.7-eksbuild.2"],
    "eks-pod-identity-agent": ["v1.3.4-eksbuild.1", "v1.3.2-eksbuild.2"],
    "aws-ebs-csi-driver": ["v1.38.1-eksbuild.1", "v1.37.0-eksbuild.1"],
}
# DescribeAddonVersions' `type` of each add-on.
ADDON_TYPES = {
    "vpc-cni": "networking",
    "coredns": "networking",
    "kube-proxy": "networking",
    "eks-pod-identity-agent": "security",
    "aws-ebs-csi-driver": "storage",
}
# Cluster versions DescribeAddonVersions reports every catalog version compatible with.
CLUSTER_VERSIONS = ["1.29", "1.30", "1.31", "1.32", "1.33"]

RESOLVE_CONFLICTS = {"OVERWRITE", "NONE", "PRESERVE"}
SETTLED = {"CREATING": "ACTIVE", "UPDATING": "ACTIVE", "DELETING": None}

# moto's server runs each request on its own thread; add-on state changes under this lock.
_lock = threading.Lock()


@dataclass
class Addon:
    """One add-on; its snake_case fields are what moto's serializer maps to AWS's names."""

    addon_name: str
    cluster_name: str
    addon_version: str
    addon_arn: str
    status: str
    client_request_token: str | None
    service_account_role_arn: str | None = None
    configuration_values: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    health: dict[str, list[Any]] = field(default_factory=lambda: {"issues": []})
    created_at: datetime = field(default_factory=utcnow)
    modified_at: datetime = field(default_factory=utcnow)
    publisher: str = "eks"
    owner: str = "aws"
    # Describes left that still report the transitional status set by the last mutation.
    pending_describes: int = 1

    def begin(self, status: str) -> None:
        """A mutation started: report `status` until the next describe has seen it."""
        self.status = status
        self.modified_at = utcnow()
        self.pending_describes = 1

    def observe(self) -> str | None:
        """The status one DescribeAddon reports; None once a deleted add-on is gone."""
        if self.status in SETTLED:
            if self.pending_describes > 0:
                self.pending_describes -= 1
                return self.status
            self.status = SETTLED[self.status]  # type: ignore[assignment]
        return self.status


def cluster_not_found(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        clusterName=name,
        addonName=None,
        message=CLUSTER_NOT_FOUND_MSG.format(clusterName=name),
    )


def addon_not_found(cluster: str, addon: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        clusterName=cluster,
        addonName=addon,
        message=f"No addon: {addon} found in cluster: {cluster}",
    )


def invalid(message: str, cluster: str, addon: str | None) -> InvalidParameterException:
    return InvalidParameterException(
        clusterName=cluster, addonName=addon, message=message
    )


def addons_of(cluster: Cluster) -> dict[str, Addon]:
    """The add-ons stored on one of moto's cluster objects (they go when the cluster goes)."""
    return cluster.__dict__.setdefault("_addons", {})


def check_version(cluster: str, addon: str, version: str | None) -> str:
    """The version to install: the one asked for if AWS offers it, else the default."""
    versions = CATALOG.get(addon)
    if versions is None:
        message = f"Addon {addon} specified is not supported"
        raise invalid(message, cluster, addon)
    if version is None:
        return versions[0]
    if version not in versions:
        raise invalid("Addon version specified is not supported", cluster, addon)
    return version


def check_resolve_conflicts(value: str | None, cluster: str, addon: str) -> None:
    if value is not None and value not in RESOLVE_CONFLICTS:
        message = f"resolveConflicts must be one of {sorted(RESOLVE_CONFLICTS)}"
        raise invalid(message, cluster, addon)


class AddonsResponse(EKSResponse):
    """moto's EKS responses plus the add-on operations; moto routes by the botocore model,
    so each method is found by the operation's snake_case name."""

    def _cluster(self) -> Cluster:
        name = self._get_param("name")
        cluster = self.eks_backend.clusters.get(name)
        if cluster is None:
            raise cluster_not_found(name)
        return cluster

    def _addon(self, cluster: Cluster) -> Addon:
        name = self._get_param("addonName")
        addon = addons_of(cluster).get(name)
        if addon is None:
            raise addon_not_found(cluster.name, name)
        return addon

    def _optional(self, name: str) -> str | None:
        """A body string where "" means "remove it" (UpdateAddon's documented meaning)."""
        value = self._get_param(name)
        return value or None

    def create_addon(self) -> ActionResult:
        with _lock:
            cluster = self._cluster()
            name = self._get_param("addonName")
            token = self._get_param("clientRequestToken")
            existing = addons_of(cluster).get(name)
            if existing is not None:
                # The same token again is a retried request, which AWS answers alike.
                if token and existing.client_request_token == token:
                    return ActionResult({"addon": existing})
                raise ResourceInUseException(
                    clusterName=cluster.name,
                    addonName=name,
                    message="Addon already exists.",
                )
            addon = self._new_addon(cluster, name, token)
            addons_of(cluster)[name] = addon
            return ActionResult({"addon": addon})

    def _new_addon(self, cluster: Cluster, name: str, token: str | None) -> Addon:
        version = check_version(cluster.name, name, self._get_param("addonVersion"))
        resolve = self._get_param("resolveConflicts")
        check_resolve_conflicts(resolve, cluster.name, name)
        if resolve == "PRESERVE":
            message = "PRESERVE is not supported when creating an addon"
            raise invalid(message, cluster.name, name)
        role = self._optional("serviceAccountRoleArn")
        if role is not None:
            validate_role_arn(role)
        arn = ADDON_ARN.format(
            partition=self.partition,
            region=self.region,
            account=self.current_account,
            cluster=cluster.name,
            addon=name,
            uuid=random.uuid4(),
        )
        return Addon(
            addon_name=name,
            cluster_name=cluster.name,
            addon_version=version,
            addon_arn=arn,
            status="CREATING",
            client_request_token=token,
            service_account_role_arn=role,
            configuration_values=self._optional("configurationValues"),
            tags=dict(self._get_param("tags") or {}),
        )

    def describe_addon(self) -> ActionResult:
        with _lock:
            cluster = self._cluster()
            addon = self._addon(cluster)
            if addon.observe() is None:
                del addons_of(cluster)[addon.addon_name]
                raise addon_not_found(cluster.name, addon.addon_name)
            return ActionResult({"addon": addon})

    def update_addon(self) -> ActionResult:
        with _lock:
            cluster = self._cluster()
            addon = self._addon(cluster)
            if addon.status not in ("ACTIVE", "DEGRADED", "UPDATE_FAILED"):
                raise ResourceInUseException(
                    clusterName=cluster.name,
                    addonName=addon.addon_name,
                    message=f"Addon {addon.addon_name} is in {addon.status} state",
                )
            params = self._apply_update(addon)
            addon.begin("UPDATING")
            return ActionResult({"update": update_record(params)})

    def _apply_update(self, addon: Addon) -> list[dict[str, str]]:
        """Applies UpdateAddon's fields to `addon`; returns the update's params."""
        cluster, name = addon.cluster_name, addon.addon_name
        params = []
        version = self._get_param("addonVersion")
        if version is not None:
            addon.addon_version = check_version(cluster, name, version)
            params.append({"type": "AddonVersion", "value": addon.addon_version})
        role = self._get_param("serviceAccountRoleArn")
        if role is not None:
            if role:
                validate_role_arn(role)
            addon.service_account_role_arn = role or None
            params.append({"type": "ServiceAccountRoleArn", "value": role})
        resolve = self._get_param("resolveConflicts")
        if resolve is not None:
            check_resolve_conflicts(resolve, cluster, name)
            params.append({"type": "ResolveConflicts", "value": resolve})
        values = self._get_param("configurationValues")
        if values is not None:
            addon.configuration_values = values or None
            params.append({"type": "ConfigurationValues", "value": values})
        return params

    def delete_addon(self) -> ActionResult:
        with _lock:
            cluster = self._cluster()
            addon = self._addon(cluster)
            addon.begin("DELETING")
            return ActionResult({"addon": addon})

    def list_addons(self) -> ActionResult:
        with _lock:
            cluster = self._cluster()
            names, next_token = paginated_list(
                list(addons_of(cluster)),
                self._get_int_param("maxResults", 100),
                self._get_param("nextToken"),
            )
            return ActionResult({"addons": names, "nextToken": next_token})

    def describe_addon_versions(self) -> ActionResult:
        wanted = self._get_param("addonName")
        cluster_version = self._get_param("kubernetesVersion")
        names = [n for n in sorted(CATALOG) if wanted in (None, n)]
        infos = [addon_info(n, cluster_version) for n in names]
        return ActionResult({"addons": infos})

    # Tags: add-on and node group ARNs are served here (moto tags clusters only), every
    # other ARN by moto as before.

    def _tagged(self) -> Addon | Any | None:
        arn = self._extract_arn_from_path()
        for cluster in self.eks_backend.clusters.values():
            for addon in addons_of(cluster).values():
                if addon.addon_arn == arn:
                    return addon
            for nodegroup in cluster.nodegroups.values():
                if nodegroup.arn == arn:
                    return nodegroup
        return None

    def tag_resource(self) -> ActionResult:
        with _lock:
            tagged = self._tagged()
            if tagged is None:
                return super().tag_resource()
            tagged.tags.update(self._get_param("tags") or {})
            return EmptyResult()

    def untag_resource(self) -> ActionResult:
        with _lock:
            tagged = self._tagged()
            if tagged is None:
                return super().untag_resource()
            # tagKeys is a repeated query parameter: tagKeys=a&tagKeys=b
            for key in self.querystring.get("tagKeys", []):
                tagged.tags.pop(key, None)
            return EmptyResult()

    def list_tags_for_resource(self) -> ActionResult:
        with _lock:
            tagged = self._tagged()
            if tagged is None:
                return super().list_tags_for_resource()
            return ActionResult({"tags": tagged.tags})


def update_record(params: list[dict[str, str]]) -> dict[str, Any]:
    """UpdateAddon's `update` object: an AddonUpdate in progress."""
    return {
        "id": str(random.uuid4()),
        "status": "InProgress",
        "type": "AddonUpdate",
        "params": params,
        "createdAt": utcnow(),
        "errors": [],
    }


def addon_info(name: str, cluster_version: str | None) -> dict[str, Any]:
    """One entry of DescribeAddonVersions: every catalog version, the first the default."""
    cluster_versions = [cluster_version] if cluster_version else CLUSTER_VERSIONS
    versions = [
        {
            "addonVersion": version,
            "architecture": ["amd64", "arm64"],
            "compatibilities": [
                {
                    "clusterVersion": cv,
                    "platformVersions": ["*"],
                    "defaultVersion": i == 0,
                }
                for cv in cluster_versions
            ],
            "requiresConfiguration": False,
        }
        for i, version in enumerate(CATALOG[name])
    ]
    return {
        "addonName": name,
        "type": ADDON_TYPES[name],
        "addonVersions": versions,
        "publisher": "eks",
        "owner": "aws",
    }


ROUTES = [
    "{0}/clusters/(?P<name>[^/]+)/addons$",
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$",
    "{0}/addons/supported-versions$",
    # Replaces moto's own tags route with the same pattern; other ARNs reach moto's code.
    "{0}/tags/(?P<resourceArn>.+)$",
]


def install() -> None:
    """Adds the add-on routes to moto's EKS URL table."""
    for route in ROUTES:
        eks_urls.url_paths[route] = AddonsResponse.dispatch
