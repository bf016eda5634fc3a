"""UpdateClusterConfig changes only the resourcesVpcConfig fields and the log types it is
given, as AWS does (moto 5.2.5 replaces the whole config with the request's, so an
endpoint-access update drops the cluster's subnets, a subnet update turns the public
endpoint off, and enabling one log type forgets every other type's setting).

AWS: "resourcesVpcConfig ... An object representing the VPC configuration to use for an
Amazon EKS cluster": subnetIds and securityGroupIds (a VpcConfigUpdate) and the endpoint
settings (an EndpointAccessUpdate) change independently; fields left out keep their values.
"logging ... Enable or disable exporting the Kubernetes control plane logs": each
LogSetup enables or disables the types it names; types left out keep their setting.
"""

from moto.eks import models as eks_models

LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def merged_logging(current, request):
    """The cluster's logging after `request`: every type's setting, the named ones flipped."""
    enabled = {t: False for t in LOG_TYPES}
    for setup in (current or {}).get("clusterLogging", []):
        for log_type in setup.get("types", []):
            enabled[log_type] = bool(setup.get("enabled"))
    for setup in request.get("clusterLogging", []):
        for log_type in setup.get("types", []):
            enabled[log_type] = bool(setup.get("enabled"))
    groups = []
    for on in (True, False):
        types = [t for t in enabled if enabled[t] == on]
        if types:
            groups.append({"types": types, "enabled": on})
    return {"clusterLogging": groups}


def install():
    original = eks_models.EKSBackend.update_cluster_config

    def update_cluster_config(self, name, resources_vpc_config, *args, **kwargs):
        cluster = self.clusters.get(name)
        if cluster is not None and resources_vpc_config:
            merged = dict(cluster.resources_vpc_config or {})
            merged.update(resources_vpc_config)
            resources_vpc_config = merged
        if cluster is not None and kwargs.get("logging"):
            kwargs["logging"] = merged_logging(cluster.logging, kwargs["logging"])
        return original(self, name, resources_vpc_config, *args, **kwargs)

    eks_models.EKSBackend.update_cluster_config = update_cluster_config
