"""EC2 operations moto 5.2.5 gets wrong, answered as the AWS API reference describes them.

- ec2:ModifyVpcEndpoint on a gateway endpoint changes the endpoint's list of route tables but
  not the routes themselves, so a table added later has no route to the service and
  DeleteVpcEndpoints then fails (InvalidRoute.NotFound) trying to remove it. AWS adds the
  service's prefix-list route to every added table and removes it from every removed one;
  this patch does the same, through moto's own create_route / delete_route.
- ec2:DeleteVpcEndpoints of an endpoint already deleted (a call whose answer was lost, sent
  again) removes its gateway routes a second time and fails with InvalidRoute.NotFound; AWS
  has nothing left to do and answers success.
- ec2:ReplaceNetworkAclAssociation with an association id no NACL holds (one an earlier,
  answered-but-lost call already replaced) crashes moto (500, no body); AWS answers
  InvalidAssociationID.NotFound.
"""

from moto.ec2.exceptions import InvalidAssociationIdError
from moto.ec2.models.network_acls import NetworkAclBackend
from moto.ec2.models.vpcs import VPCBackend


def install():
    _gateway_routes_follow_the_route_tables()
    _deleted_endpoints_stay_deleted()
    _unknown_associations_are_not_found()


def _deleted_endpoints_stay_deleted():
    original = VPCBackend.delete_vpc_endpoints

    def delete_vpc_endpoints(self, vpce_ids=None):
        def deleted(vpce_id):
            endpoint = self.vpc_end_points.get(vpce_id)
            return endpoint is not None and endpoint.state == "deleted"

        return original(self, [i for i in vpce_ids or [] if not deleted(i)])

    VPCBackend.delete_vpc_endpoints = delete_vpc_endpoints


def _gateway_routes_follow_the_route_tables():
    original = VPCBackend.modify_vpc_endpoint

    def modify_vpc_endpoint(self, vpc_id, policy_doc, add_subnets, remove_subnets,
                            remove_route_tables, add_route_tables, *args, **kwargs):
        endpoint = self.describe_vpc_endpoints(vpc_end_point_ids=[vpc_id])[0]
        prefix_list = getattr(endpoint, "destination_prefix_list_id", None)
        before = set(endpoint.route_table_ids or [])
        original(self, vpc_id, policy_doc, add_subnets, remove_subnets,
                 remove_route_tables, add_route_tables, *args, **kwargs)
        if not prefix_list:
            return
        after = set(endpoint.route_table_ids or [])
        for table in sorted(after - before):
            self.create_route(table, None, gateway_id=endpoint.id,
                              destination_prefix_list_id=prefix_list)
        for table in sorted(before - after):
            self.delete_route(table, prefix_list)

    VPCBackend.modify_vpc_endpoint = modify_vpc_endpoint


def _unknown_associations_are_not_found():
    original = NetworkAclBackend.replace_network_acl_association

    def replace_network_acl_association(self, association_id, network_acl_id):
        held = any(association_id in acl._associations for acl in self.network_acls.values())
        if not held:
            raise InvalidAssociationIdError(association_id)
        return original(self, association_id, network_acl_id)

    NetworkAclBackend.replace_network_acl_association = replace_network_acl_association
