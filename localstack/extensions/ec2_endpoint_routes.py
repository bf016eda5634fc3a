"""ec2:ModifyVpcEndpoint on a gateway endpoint: moto 5.2.5 changes the endpoint's list of route
tables but not the routes themselves, so a table added later has no route to the service and
DeleteVpcEndpoints then fails (InvalidRoute.NotFound) trying to remove it. AWS adds the
service's prefix-list route to every added table and removes it from every removed one; this
patch does the same, through moto's own create_route / delete_route.
"""

from moto.ec2.models.vpcs import VPCBackend


def install():
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
