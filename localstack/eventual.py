"""AWS's eventual consistency, for faultproxy.py --eventual SECONDS: for a window of N
seconds after the event that starts it, answer what AWS answers while its systems catch up.
The emulator is instantly consistent; AWS is not, and each case below is one that
terraform-provider-aws (years in production) retries, with the codes and messages it matches.

Behaviours (all on with --eventual N; --eventual-only iam,reads,deletes,org,assume picks some):

  iam      A role or OIDC provider created < N s ago is not usable by callers that name it.
           EKS CreateCluster (roleArn) -> 400 InvalidParameterException "Role could not be
           assumed because the trusted entity is not correct" (TF resourceClusterCreate retries
           it, with "does not exist" and "Error in role params"); CreateNodegroup (nodeRole) ->
           "Following required service principals [ec2.amazonaws.com] were not found in the
           trust relationships of nodeRole ARN" (AWS's message for a role it cannot see yet);
           CreateAddon (serviceAccountRoleArn) -> "roleArn, ARN, does not exist" (TF
           resourceAddonCreate retries "does not exist" and "CREATE_FAILED").
           IAM CreateRole / UpdateAssumeRolePolicy whose policy names a fresh role or OIDC
           provider as principal -> 400 MalformedPolicyDocument "Invalid principal in policy:
           "AWS":"ARN"" ("FEDERATED" for a provider); TF resourceRoleCreate and
           UpdateAssumeRolePolicy retry MalformedPolicyDocument containing "Invalid principal
           in policy" for the IAM propagation timeout (2 minutes).
  reads    A Describe/Get naming an id created < N s ago answers the service's NotFound:
           EC2 InvalidVpcID.NotFound, InvalidSubnetID.NotFound, NatGatewayNotFound, ... (TF
           waits for these after every create: "read-after-create" in its EC2 finders);
           EKS DescribeCluster / DescribeNodegroup -> 404 ResourceNotFoundException.
  deletes  For N s after an EC2 delete succeeded (a NAT gateway, a subnet, an instance's
           network interfaces going away), deletes of the network around it answer
           DependencyViolation ("... has dependencies and cannot be deleted"): AWS releases
           ENIs asynchronously. TF retries DeleteSubnet / DeleteSecurityGroup / DeleteVpc /
           DetachInternetGateway on DependencyViolation for minutes.
  org      CreateAccount < N s after CreateOrganization -> FinalizingOrganizationException
           "AWS Organizations could not finalize the creation of your organization. Try again
           later. If this persists, contact AWS customer support." (hashicorp/terraform#13831:
           CreateOrganization returns at once, with no status to poll).
  assume   sts:AssumeRole into an account first seen < N s ago (CreateAccount's status turning
           SUCCEEDED) -> 403 AccessDenied "User: ... is not authorized to perform:
           sts:AssumeRole on resource: ARN": OrganizationAccountAccessRole is created with the
           account and takes a while to become assumable.

Every injected answer is counted as "eventual_BEHAVIOUR ACTION" in /__proxy/stats.
"""

import json
import re
import threading
import time
import urllib.parse

BEHAVIOURS = ("iam", "reads", "deletes", "org", "assume")

# EC2 id prefix -> (the Describe* parameter that names it, AWS's NotFound code, message).
EC2_NOT_FOUND = {
    "vpc-": ("InvalidVpcID.NotFound", "The vpc ID '{id}' does not exist"),
    "subnet-": ("InvalidSubnetID.NotFound", "The subnet ID '{id}' does not exist"),
    "nat-": ("NatGatewayNotFound", "The Nat Gateway {id} was not found"),
    "sg-": ("InvalidGroup.NotFound", "The security group '{id}' does not exist"),
    "igw-": ("InvalidInternetGatewayID.NotFound", "The internetGateway ID '{id}' does not exist"),
    "rtb-": ("InvalidRouteTableID.NotFound", "The routeTable ID '{id}' does not exist"),
    "eipalloc-": ("InvalidAllocationID.NotFound", "The allocation ID '{id}' does not exist"),
}
EC2_CREATES = {
    "CreateVpc": "vpcId",
    "CreateSubnet": "subnetId",
    "CreateNatGateway": "natGatewayId",
    "CreateSecurityGroup": "groupId",
    "CreateInternetGateway": "internetGatewayId",
    "CreateRouteTable": "routeTableId",
    "AllocateAddress": "allocationId",
}
# EC2 deletes that meet DependencyViolation while ENIs are released, with AWS's message.
EC2_DEPENDENT_DELETES = {
    "DeleteSubnet": ("SubnetId", "The subnet '{id}' has dependencies and cannot be deleted."),
    "DeleteSecurityGroup": ("GroupId", "resource {id} has a dependent object"),
    "DeleteVpc": ("VpcId", "The vpc '{id}' has dependencies and cannot be deleted."),
    "DetachInternetGateway": (
        "VpcId",
        "Network {id} has some mapped public address(es). Please unmap those public "
        "address(es) before detaching the gateway.",
    ),
    "DeleteInternetGateway": (
        "InternetGatewayId",
        "The internetGateway '{id}' has dependencies and cannot be deleted.",
    ),
}


class Eventual:
    """What was created or deleted when, and the answers AWS gives meanwhile."""

    def __init__(self, window, only):
        self.window = window
        self.on = set(only.split(",")) if only else set(BEHAVIOURS)
        unknown = self.on - set(BEHAVIOURS)
        if unknown:
            raise SystemExit(f"--eventual-only: unknown behaviour(s) {sorted(unknown)}")
        self.lock = threading.Lock()
        self.principals = {}  # role / OIDC provider ARN -> created at
        self.ids = {}  # EC2 id or EKS name -> created at
        self.last_ec2_delete = None
        self.organization_at = None
        self.accounts = {}  # account id -> first seen at

    def fresh(self, born):
        return born is not None and time.monotonic() - born < self.window

    # --- before forwarding: the answer AWS would give now, if it is not the emulator's ---

    def intercept(self, protocol, action, path, body):
        """(behaviour, status, headers, payload) to answer instead of forwarding, or None."""
        text = body.decode("utf-8", "replace")
        params = urllib.parse.parse_qs(text) if protocol in ("ec2", "query") else {}
        for behaviour, check in (
            ("iam", self.iam_not_ready),
            ("reads", self.not_found_yet),
            ("deletes", self.dependency_violation),
            ("org", self.finalizing),
            ("assume", self.access_denied),
        ):
            if behaviour in self.on:
                with self.lock:
                    answer = check(protocol, action, path, text, params)
                if answer:
                    return (behaviour, *answer)
        return None

    def iam_not_ready(self, protocol, action, path, text, params):
        if protocol == "rest" and action.startswith("POST /clusters"):
            return self.eks_role_not_ready(action, text)
        if action in ("CreateRole", "UpdateAssumeRolePolicy"):
            document = params.get("AssumeRolePolicyDocument", params.get("PolicyDocument", [""]))[0]
            return self.invalid_principal(document)
        return None

    def eks_role_not_ready(self, action, text):
        try:
            request = json.loads(text or "{}")
        except ValueError:
            return None
        field, message = {
            "POST /clusters": (
                "roleArn",
                "Role could not be assumed because the trusted entity is not correct",
            ),
            "POST /clusters/*/node-groups": (
                "nodeRole",
                "Following required service principals [ec2.amazonaws.com] were not found "
                "in the trust relationships of nodeRole {arn}",
            ),
            "POST /clusters/*/addons": ("serviceAccountRoleArn", "roleArn, {arn}, does not exist"),
        }.get(action, (None, None))
        arn = request.get(field) if field else None
        if not arn or not self.fresh(self.principals.get(arn)):
            return None
        return rest_error(400, "InvalidParameterException", message.format(arn=arn))

    def invalid_principal(self, document):
        try:
            policy = json.loads(document)
        except ValueError:
            return None
        statements = policy.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            principal = statement.get("Principal", {})
            if not isinstance(principal, dict):
                continue
            for key, values in principal.items():
                for arn in values if isinstance(values, list) else [values]:
                    if self.fresh(self.principals.get(arn)):
                        label = "FEDERATED" if key == "Federated" else key.upper()
                        message = f'Invalid principal in policy: "{label}":"{arn}"'
                        return query_error(400, "MalformedPolicyDocument", message)
        return None

    def not_found_yet(self, protocol, action, path, text, params):
        if protocol == "ec2" and action.startswith("Describe"):
            for key, values in params.items():
                if key.startswith("Filter"):
                    continue  # a filter that matches nothing yet answers an empty list
                for value in values:
                    if self.fresh(self.ids.get(value)):
                        code, message = ec2_not_found(value)
                        return ec2_error(400, code, message.format(id=value))
        if protocol == "rest" and action in ("GET /clusters/*", "GET /clusters/*/node-groups/*"):
            parts = path.split("?", 1)[0].strip("/").split("/")
            name = urllib.parse.unquote(parts[-1])
            if self.fresh(self.ids.get(("eks", "/".join(parts[1::2])))):
                what = "cluster" if len(parts) == 2 else "node group"
                return rest_error(404, "ResourceNotFoundException", f"No {what} found for name: {name}.")
        return None

    def dependency_violation(self, protocol, action, path, text, params):
        if protocol != "ec2" or action not in EC2_DEPENDENT_DELETES:
            return None
        if not self.fresh(self.last_ec2_delete):
            return None
        field, message = EC2_DEPENDENT_DELETES[action]
        target = params.get(field, ["?"])[0]
        return ec2_error(400, "DependencyViolation", message.format(id=target))

    def finalizing(self, protocol, action, path, text, params):
        if action != "CreateAccount" or not self.fresh(self.organization_at):
            return None
        message = (
            "AWS Organizations could not finalize the creation of your organization. Try "
            "again later. If this persists, contact AWS customer support."
        )
        return json_error(400, "FinalizingOrganizationException", message)

    def access_denied(self, protocol, action, path, text, params):
        if action != "AssumeRole":
            return None
        arn = params.get("RoleArn", [""])[0]
        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if not self.fresh(self.accounts.get(account)):
            return None
        message = f"User: caller is not authorized to perform: sts:AssumeRole on resource: {arn}"
        return query_error(403, "AccessDenied", message)

    # --- after forwarding: what the emulator's answer created or deleted ---

    def observe(self, protocol, action, path, status, payload):
        if status >= 300:
            return
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        now = time.monotonic()
        with self.lock:
            if action in ("CreateRole", "CreateOpenIDConnectProvider"):
                tag = "Arn" if action == "CreateRole" else "OpenIDConnectProviderArn"
                for arn in re.findall(f"<{tag}>([^<]+)</{tag}>", text)[:1]:
                    self.principals[arn] = now
            elif action in EC2_CREATES:
                tag = EC2_CREATES[action]
                for new_id in re.findall(f"<{tag}>([^<]+)</{tag}>", text)[:1]:
                    self.ids[new_id] = now
            elif protocol == "ec2" and action.startswith(("Delete", "Release")) and action != "DeleteTags":
                self.last_ec2_delete = now
            elif action in ("POST /clusters", "POST /clusters/*/node-groups"):
                self.remember_eks(text, now)
            elif action == "CreateOrganization":
                self.organization_at = now
            elif action in ("DescribeCreateAccountStatus", "CreateAccount"):
                for account in re.findall(r'"AccountId"\s*:\s*"(\d{12})"', text):
                    self.accounts.setdefault(account, now)

    def remember_eks(self, text, now):
        try:
            answer = json.loads(text)
        except ValueError:
            return
        if "cluster" in answer:
            self.ids[("eks", answer["cluster"].get("name", ""))] = now
        elif "nodegroup" in answer:
            group = answer["nodegroup"]
            key = f"{group.get('clusterName', '')}/{group.get('nodegroupName', '')}"
            self.ids[("eks", key)] = now


def ec2_not_found(resource_id):
    for prefix, answer in EC2_NOT_FOUND.items():
        if resource_id.startswith(prefix):
            return answer
    return "InvalidID.NotFound", "The ID '{id}' does not exist"


def ec2_error(status, code, message):
    body = (
        f"<Response><Errors><Error><Code>{code}</Code><Message>{xml(message)}</Message>"
        "</Error></Errors><RequestID>fault-proxy-eventual</RequestID></Response>"
    )
    return status, {"Content-Type": "text/xml"}, body


def query_error(status, code, message):
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{xml(message)}</Message></Error>"
        "<RequestId>fault-proxy-eventual</RequestId></ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml"}, body


def json_error(status, code, message):
    body = json.dumps({"__type": code, "Message": message})
    return status, {"Content-Type": "application/x-amz-json-1.1"}, body


def rest_error(status, code, message):
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return status, headers, json.dumps({"message": message})


def xml(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
