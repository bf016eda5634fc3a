//! Tiers of the estate for pictures: instances grouped by their kind's AWS service
//! (`ec2.subnet` -> network), in the order a reader follows the architecture.

use crate::address::Address;
use std::collections::BTreeMap;

/// Service -> tier title, in drawing order. Services not listed follow, by name.
const TIERS: &[(&str, &str)] = &[
    ("organizations", "accounts (organizations)"),
    ("iam", "identity (iam)"),
    ("ec2", "network (ec2)"),
    ("eks", "compute (eks)"),
    ("rds", "database (rds)"),
];

/// One group of the picture.
#[derive(Debug, PartialEq)]
pub struct Tier<'a> {
    /// Usable as an identifier: the service name.
    pub id: String,
    pub title: String,
    pub members: Vec<&'a Address>,
}

/// The instances grouped by tier, each group and its members sorted; instances without a
/// kind go in a group with an empty id.
pub fn by_tier<'a>(
    nodes: impl IntoIterator<Item = &'a Address>,
    kinds: &BTreeMap<Address, String>,
) -> Vec<Tier<'a>> {
    let mut groups: BTreeMap<(usize, String), Vec<&Address>> = BTreeMap::new();
    for address in nodes {
        let service = kinds
            .get(address)
            .and_then(|k| k.split_once('.'))
            .map(|(s, _)| s.to_string())
            .unwrap_or_default();
        let rank = TIERS
            .iter()
            .position(|(s, _)| *s == service)
            .unwrap_or(TIERS.len());
        groups.entry((rank, service)).or_default().push(address);
    }
    groups
        .into_iter()
        .map(|((_, service), mut members)| {
            members.sort();
            let title = TIERS
                .iter()
                .find(|(s, _)| *s == service)
                .map_or(service.clone(), |(_, t)| t.to_string());
            Tier {
                id: service,
                title,
                members,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_service_in_architecture_order() {
        let (db, vpc, role, x) = (
            Address::single("db"),
            Address::single("main"),
            Address::single("role"),
            Address::single("x"),
        );
        let kinds = BTreeMap::from([
            (db.clone(), "rds.db_instance".to_string()),
            (vpc.clone(), "ec2.vpc".to_string()),
            (role.clone(), "iam.role".to_string()),
            (x.clone(), "s3.bucket".to_string()),
        ]);
        let tiers = by_tier([&db, &vpc, &role, &x], &kinds);
        let titles: Vec<&str> = tiers.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(
            titles,
            ["identity (iam)", "network (ec2)", "database (rds)", "s3"]
        );
        assert_eq!(tiers[1].members, [&vpc]);
    }
}
