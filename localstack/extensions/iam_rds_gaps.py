"""Operations moto 5.2.5 lacks or gets wrong, served as the AWS API reference describes them.

Imported by serve.py before the server starts. Each patch keeps AWS's request and response
shapes and error codes, so innovate talks to it through the unchanged SDK.
- iam:AddClientIDToOpenIDConnectProvider / RemoveClientIDFromOpenIDConnectProvider: missing.
  Both are idempotent on AWS; an unknown ARN answers NoSuchEntity.
- rds:ResetDBParameterGroup: missing. Reset parameters go back to the engine default, which
  for moto means they are no longer user-set; an unknown group answers DBParameterGroupNotFound.
- rds:ModifyDBSubnetGroup: moto drops the group from its registry; AWS keeps it.
- rds DBInstance DbiResourceId: moto gives every instance the same one; AWS gives each
  instance its own ("db-" and 26 upper-case letters and digits), also one that reuses the
  identifier of a deleted instance, which is how a replacement is told from the original.
"""

import random
import string


from moto.core.responses import ActionResult, EmptyResult
from moto.iam.responses import IamResponse
from moto.rds.exceptions import DBParameterGroupNotFoundError, DBSubnetGroupNotFoundError
from moto.rds.models import DBInstance, RDSBackend
from moto.rds.responses import RDSResponse


def _add_client_id(backend, arn, client_id):
    provider = backend.get_open_id_connect_provider(arn)
    if client_id not in provider.client_id_list:
        provider.client_id_list.append(client_id)


def _remove_client_id(backend, arn, client_id):
    provider = backend.get_open_id_connect_provider(arn)
    if client_id in provider.client_id_list:
        provider.client_id_list.remove(client_id)


def _add_client_id_action(self):
    arn = self._get_param("OpenIDConnectProviderArn")
    _add_client_id(self.backend, arn, self._get_param("ClientID"))
    return EmptyResult()


def _remove_client_id_action(self):
    arn = self._get_param("OpenIDConnectProviderArn")
    _remove_client_id(self.backend, arn, self._get_param("ClientID"))
    return EmptyResult()


def _reset_db_parameter_group(backend, name, reset_all, names):
    if name not in backend.db_parameter_groups:
        raise DBParameterGroupNotFoundError(name)
    group = backend.db_parameter_groups[name]
    if reset_all:
        group.parameters.clear()
    for parameter in names:
        group.parameters.pop(parameter, None)
    return group


def _reset_db_parameter_group_action(self):
    names = [p["ParameterName"] for p in self.params.get("Parameters", [])]
    group = _reset_db_parameter_group(
        self.backend,
        self.params.get("DBParameterGroupName"),
        self.params.get("ResetAllParameters", False),
        names,
    )
    return ActionResult({"DBParameterGroupName": group.name})


_moto_modify_db_subnet_group = RDSBackend.modify_db_subnet_group


def _modify_db_subnet_group(self, subnet_name, description, subnets):
    if subnet_name not in self.subnet_groups:
        raise DBSubnetGroupNotFoundError(subnet_name)
    group = _moto_modify_db_subnet_group(self, subnet_name, description, subnets)
    self.subnet_groups[subnet_name] = group
    return group


def _unique_resource_ids():
    original = DBInstance.__init__
    alphabet = string.ascii_uppercase + string.digits

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.dbi_resource_id = "db-" + "".join(random.choices(alphabet, k=26))

    DBInstance.__init__ = __init__


def install():
    _unique_resource_ids()
    IamResponse.add_client_id_to_open_id_connect_provider = _add_client_id_action
    IamResponse.remove_client_id_from_open_id_connect_provider = _remove_client_id_action
    RDSResponse.reset_db_parameter_group = _reset_db_parameter_group_action
    RDSBackend.modify_db_subnet_group = _modify_db_subnet_group
