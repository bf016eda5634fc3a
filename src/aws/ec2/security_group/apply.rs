//! Applying a group's rules: only the permission entries that differ from what AWS reports
//! are authorized, revoked or redescribed, so unchanged rules never blink.

use super::rules::{from_aws, Direction, Peer, Permission, Permissions};
use super::NOT_FOUND;
use crate::aws::ec2::{ignore_already_done, ignore_gone, keyed_changes, missing, KeyedChanges};
use crate::aws::{retry_while, sdk_error, Backoff};
use crate::kinds::KindResult;
use aws_sdk_ec2::types::{IpPermission, IpRange, SecurityGroup, UserIdGroupPair};
use aws_sdk_ec2::Client;

/// What turns the actual entries of one direction into the desired ones; `changed` are
/// those whose description alone differs.
type RuleChanges = KeyedChanges<Permission, Option<String>>;

pub(super) fn to_ip_permission(permission: &Permission, text: Option<String>) -> IpPermission {
    let builder = IpPermission::builder()
        .ip_protocol(&permission.protocol)
        .set_from_port(permission.from_port)
        .set_to_port(permission.to_port);
    let builder = match &permission.peer {
        Peer::Cidr(cidr) => builder.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(text)
                .build(),
        ),
        Peer::Group(group) => builder.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group)
                .set_description(text)
                .build(),
        ),
    };
    builder.build()
}

/// Applies the differences between `group`'s rules (as just described) and `rules`, new
/// entries first so that a changed rule never leaves a gap.
pub(super) async fn reconcile(
    ec2: &Client,
    group: &SecurityGroup,
    rules: &[(Direction, Permissions); 2],
) -> KindResult<()> {
    let id = group
        .group_id()
        .ok_or_else(|| missing("ec2:DescribeSecurityGroups", "GroupId"))?;
    for (direction, desired) in rules {
        let actual = match direction {
            Direction::Ingress => from_aws(group.ip_permissions()),
            Direction::Egress => from_aws(group.ip_permissions_egress()),
        };
        let RuleChanges {
            removed: revoke,
            changed: redescribe,
            added: authorize,
        } = keyed_changes(&actual, desired);
        let to_aws = |entries: Vec<(Permission, Option<String>)>| {
            entries
                .into_iter()
                .map(|(p, text)| to_ip_permission(&p, text))
                .collect::<Vec<_>>()
        };
        authorize_rules(ec2, id, *direction, to_aws(authorize)).await?;
        redescribe_rules(ec2, id, *direction, to_aws(redescribe)).await?;
        let revoke = revoke.iter().map(|p| to_ip_permission(p, None)).collect();
        revoke_rules(ec2, id, *direction, revoke).await?;
    }
    Ok(())
}

/// Every rule call takes the group and the permission entries alike.
macro_rules! send_rules {
    ($request:expr, $id:expr, $rules:expr, $call:expr) => {
        $request
            .group_id($id)
            .set_ip_permissions($rules)
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error($call, e))
    };
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Authorize,
    Revoke,
    Redescribe,
}

/// A source group created moments ago may not be visible yet. Authorization is
/// all-or-nothing: a duplicate means an earlier attempt added them all.
async fn authorize_rules(
    ec2: &Client,
    id: &str,
    direction: Direction,
    rules: Vec<IpPermission>,
) -> KindResult<()> {
    let authorized = retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || {
        send(ec2, id, Action::Authorize, direction, rules.clone())
    })
    .await;
    ignore_already_done(authorized, &["InvalidPermission.Duplicate"])
}

/// Someone else revoked a rule already: it is gone either way.
async fn revoke_rules(
    ec2: &Client,
    id: &str,
    direction: Direction,
    rules: Vec<IpPermission>,
) -> KindResult<()> {
    let revoked = send(ec2, id, Action::Revoke, direction, rules).await;
    ignore_gone(revoked, &["InvalidPermission.NotFound"])
}

async fn redescribe_rules(
    ec2: &Client,
    id: &str,
    direction: Direction,
    rules: Vec<IpPermission>,
) -> KindResult<()> {
    send(ec2, id, Action::Redescribe, direction, rules).await
}

/// One rule call of `action` in `direction`; none when there are no `rules`.
async fn send(
    ec2: &Client,
    id: &str,
    action: Action,
    direction: Direction,
    rules: Vec<IpPermission>,
) -> KindResult<()> {
    use Direction::{Egress, Ingress};
    if rules.is_empty() {
        return Ok(());
    }
    let rules = Some(rules);
    let authorize = direction.authorize_call();
    match (action, direction) {
        (Action::Authorize, Ingress) => {
            send_rules!(ec2.authorize_security_group_ingress(), id, rules, authorize)
        }
        (Action::Authorize, Egress) => {
            send_rules!(ec2.authorize_security_group_egress(), id, rules, authorize)
        }
        (Action::Revoke, Ingress) => send_rules!(
            ec2.revoke_security_group_ingress(),
            id,
            rules,
            "ec2:RevokeSecurityGroupIngress"
        ),
        (Action::Revoke, Egress) => send_rules!(
            ec2.revoke_security_group_egress(),
            id,
            rules,
            "ec2:RevokeSecurityGroupEgress"
        ),
        (Action::Redescribe, Ingress) => send_rules!(
            ec2.update_security_group_rule_descriptions_ingress(),
            id,
            rules,
            "ec2:UpdateSecurityGroupRuleDescriptionsIngress"
        ),
        (Action::Redescribe, Egress) => send_rules!(
            ec2.update_security_group_rule_descriptions_egress(),
            id,
            rules,
            "ec2:UpdateSecurityGroupRuleDescriptionsEgress"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::rules::expand;
    use super::super::rules::tests::cidr;
    use super::super::{Spec, SCHEMA};
    use super::*;
    use crate::kinds::parse_spec;
    use serde_json::json;

    #[test]
    fn the_default_egress_is_what_aws_creates() {
        let spec: Spec =
            parse_spec(&SCHEMA, json!({"vpc_id": "vpc-1"}).as_object().unwrap()).unwrap();
        let aws_default = IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let changes = keyed_changes(
            &from_aws(&[aws_default]),
            &expand(Direction::Egress, &spec.egress).unwrap(),
        );
        assert_eq!(changes, RuleChanges::default());
    }

    #[test]
    fn only_the_difference_is_authorized_revoked_or_redescribed() {
        let ssh = cidr("tcp", Some((22, 22)), "10.0.0.0/8");
        let https = cidr("tcp", Some((443, 443)), "0.0.0.0/0");
        let dns = cidr("udp", Some((53, 53)), "10.0.0.2/32");
        let actual: Permissions = [
            (ssh.clone(), None),
            (https.clone(), Some("old".into())),
            (dns.clone(), None),
        ]
        .into();
        let http = cidr("tcp", Some((80, 80)), "0.0.0.0/0");
        let desired: Permissions = [
            (https.clone(), Some("new".into())),
            (dns.clone(), None),
            (http.clone(), None),
        ]
        .into();
        assert_eq!(
            keyed_changes(&actual, &desired),
            RuleChanges {
                added: vec![(http, None)],
                removed: vec![ssh],
                changed: vec![(https, Some("new".into()))],
            }
        );
        assert_eq!(keyed_changes(&desired, &desired), RuleChanges::default());
    }
}
