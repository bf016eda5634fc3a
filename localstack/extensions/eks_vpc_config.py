"""UpdateClusterConfig changes only the resourcesVpcConfig fields it is given, as AWS does
(moto 5.2.5 replaces the whole config with the request's, so an endpoint-access update
drops the cluster's subnets and a subnet update turns the public endpoint off).

AWS: "resourcesVpcConfig ... An object representing the VPC configuration to use for an
Amazon EKS cluster": subnetIds and securityGroupIds (a VpcConfigUpdate) and the endpoint
settings (an EndpointAccessUpdate) change independently; fields left out keep their values.
"""

from moto.eks import models as eks_models


def install():
    original = eks_models.EKSBackend.update_cluster_config

    def update_cluster_config(self, name, resources_vpc_config, *args, **kwargs):
        cluster = self.clusters.get(name)
        if cluster is not None and resources_vpc_config:
            merged = dict(cluster.resources_vpc_config or {})
            merged.update(resources_vpc_config)
            resources_vpc_config = merged
        return original(self, name, resources_vpc_config, *args, **kwargs)

    eks_models.EKSBackend.update_cluster_config = update_cluster_config
