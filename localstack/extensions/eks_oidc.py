"""A unique OIDC issuer per EKS cluster, as AWS gives (moto 5.2.5 gives every cluster of a
server process the same one).

AWS: `identity.oidc.issuer` is https://oidc.eks.REGION.amazonaws.com/id/ID, ID 32 uppercase
hex digits of the cluster's own. moto builds one ISSUER_TEMPLATE at import time, so two
clusters share an issuer and the second estate's IAM OIDC provider for it answers
EntityAlreadyExists: dev and prod could not live in one emulator, although AWS (and the
seeds' phase 1) puts them in one account.
"""

from moto.eks import models as eks_models
from moto.moto_api._internal import mock_random as random

ISSUER = "https://oidc.eks.{region}.amazonaws.com/id/{id}"


def install():
    original = eks_models.Cluster.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        region = self.arn.split(":")[3]
        issuer = ISSUER.format(region=region, id=random.uuid4().hex.upper())
        self.identity = {"oidc": {"issuer": issuer}}

    eks_models.Cluster.__init__ = init
