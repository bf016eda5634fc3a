//! A route table's subnet associations, by subnet, against what AWS reports.

use super::{describe, DESCRIBE, NOT_FOUND};
use crate::aws::ec2::{ignore_gone, unless_already_ours};
use crate::aws::{aws_call, retry_while, sdk_error, Backoff};
use crate::kinds::{gone, KindResult};
use aws_sdk_ec2::types::{RouteTableAssociation, RouteTableAssociationStateCode};
use aws_sdk_ec2::Client;
use std::collections::{BTreeMap, BTreeSet};

/// Makes the subnets associated with table `id` (`current`, as AWS reported them) the
/// `desired` ones: disassociations first, so a subnet is free before it is reused.
pub(super) async fn sync(
    ec2: &Client,
    id: &str,
    current: &[RouteTableAssociation],
    desired: &[String],
) -> KindResult<()> {
    let changes = association_changes(&actual_associations(current), desired);
    for association in &changes.disassociate {
        disassociate(ec2, association).await?;
    }
    for subnet in &changes.associate {
        associate(ec2, id, subnet).await?;
    }
    Ok(())
}

/// Subnet id -> association id of the table's live subnet associations.
fn actual_associations(associations: &[RouteTableAssociation]) -> BTreeMap<String, String> {
    let live = associations.iter().filter(|a| {
        let state = a.association_state().and_then(|s| s.state());
        a.main() != Some(true)
            && !matches!(
                state,
                Some(
                    RouteTableAssociationStateCode::Disassociated
                        | RouteTableAssociationStateCode::Disassociating
                )
            )
    });
    live.filter_map(|a| {
        Some((
            a.subnet_id()?.to_string(),
            a.route_table_association_id()?.to_string(),
        ))
    })
    .collect()
}

/// Association ids to drop and subnets to associate.
#[derive(Debug, Default, PartialEq)]
struct AssociationChanges {
    disassociate: Vec<String>,
    associate: Vec<String>,
}

fn association_changes(
    actual: &BTreeMap<String, String>,
    desired: &[String],
) -> AssociationChanges {
    let wanted: BTreeSet<&String> = desired.iter().collect();
    let disassociate = actual
        .iter()
        .filter(|(subnet, _)| !wanted.contains(subnet))
        .map(|(_, association)| association.clone())
        .collect();
    let associate = wanted
        .into_iter()
        .filter(|s| !actual.contains_key(*s))
        .cloned()
        .collect();
    AssociationChanges {
        disassociate,
        associate,
    }
}

/// A subnet created moments ago may not be visible to AssociateRouteTable yet.
async fn associate(ec2: &Client, id: &str, subnet: &str) -> KindResult<()> {
    let not_yet = ["InvalidSubnetID.NotFound", NOT_FOUND];
    let associated = retry_while(&not_yet, Backoff::CONSISTENCY, || async move {
        let request = ec2
            .associate_route_table()
            .route_table_id(id)
            .subnet_id(subnet);
        aws_call("ec2:AssociateRouteTable", request.send()).await?;
        Ok(())
    })
    .await;
    unless_already_ours(associated, || async move {
        let table = describe(ec2, &[id.to_string()]).await?.pop();
        let table = table.ok_or_else(|| gone(DESCRIBE, &[NOT_FOUND], id))?;
        let associations = table.associations();
        Ok(associations.iter().any(|a| a.subnet_id() == Some(subnet)))
    })
    .await
}

pub(super) async fn disassociate(ec2: &Client, association: &str) -> KindResult<()> {
    let done = ec2
        .disassociate_route_table()
        .association_id(association)
        .send()
        .await
        .map(drop)
        .map_err(|e| sdk_error("ec2:DisassociateRouteTable", e));
    ignore_gone(done, &["InvalidAssociationID.NotFound"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::RouteTableAssociationState;

    #[test]
    fn associations_are_diffed_by_subnet_ignoring_the_main_one() {
        let association = |id: &str, subnet: Option<&str>, main: bool| {
            RouteTableAssociation::builder()
                .route_table_association_id(id)
                .set_subnet_id(subnet.map(Into::into))
                .main(main)
                .association_state(
                    RouteTableAssociationState::builder()
                        .state(RouteTableAssociationStateCode::Associated)
                        .build(),
                )
                .build()
        };
        let live = [
            association("rtbassoc-main", None, true),
            association("rtbassoc-a", Some("subnet-a"), false),
            association("rtbassoc-b", Some("subnet-b"), false),
        ];
        let actual = actual_associations(&live);
        assert_eq!(actual.len(), 2);
        let changes = association_changes(&actual, &["subnet-b".into(), "subnet-c".into()]);
        assert_eq!(
            changes,
            AssociationChanges {
                disassociate: vec!["rtbassoc-a".into()],
                associate: vec!["subnet-c".into()]
            }
        );
    }
}
