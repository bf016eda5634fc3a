//! Tiers of the estate for pictures: instances grouped by their kind's AWS service
//! tier (`ec2.subnet` -> network, as its schema says), in the order a reader follows the
//! architecture.

use crate::address::Address;
use crate::kinds::{Registry, Tier as ArchTier};
use std::collections::BTreeMap;

/// One group of the picture.
#[derive(Debug, PartialEq)]
pub struct Tier<'a> {
    /// Usable as an identifier: the service name.
    pub id: String,
    pub title: String,
    pub members: Vec<&'a Address>,
}

/// The instances grouped by their kind's tier (the one its schema declares) and service, in
/// architecture order, each group and its members sorted; kinds the registry does not know
/// follow, by service, and instances without a kind go in a group with an empty id.
pub fn by_tier<'a>(
    nodes: impl IntoIterator<Item = &'a Address>,
    kinds: &BTreeMap<Address, String>,
    registry: &Registry,
) -> Vec<Tier<'a>> {
    let mut groups: BTreeMap<(Option<ArchTier>, String), Vec<&Address>> = BTreeMap::new();
    for address in nodes {
        let kind = kinds.get(address).map(String::as_str).unwrap_or_default();
        let service = kind.split_once('.').map(|(s, _)| s).unwrap_or_default();
        let tier = registry.schema(kind).map(|schema| schema.tier);
        let key = (tier, service.to_string());
        groups.entry(key).or_default().push(address);
    }
    // A service with kinds in more than one tier (EC2's network kinds and its flow logs)
    // forms one group a tier; their ids name the tier too, so no two groups share an id.
    let mut tiers_of: BTreeMap<String, usize> = BTreeMap::new();
    for (_, service) in groups.keys() {
        *tiers_of.entry(service.clone()).or_default() += 1;
    }
    let (known, unknown): (Vec<_>, Vec<_>) =
        groups.into_iter().partition(|((t, _), _)| t.is_some());
    known
        .into_iter()
        .chain(unknown)
        .map(|((tier, service), mut members)| {
            members.sort();
            let (title, id) = match tier {
                Some(tier) if tiers_of[&service] > 1 => (
                    format!("{} ({service})", tier.title()),
                    format!("{service}_{}", tier.title()),
                ),
                Some(tier) => (format!("{} ({service})", tier.title()), service.clone()),
                None => (service.clone(), service.clone()),
            };
            Tier { id, title, members }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_in_two_tiers_gives_two_groups_with_their_own_ids() {
        let (vpc, flow) = (Address::single("main"), Address::single("flow"));
        let kinds = BTreeMap::from([
            (vpc.clone(), "ec2.vpc".to_string()),
            (flow.clone(), "ec2.flow_log".to_string()),
        ]);
        let registry = crate::aws::registry(crate::aws::AwsContext::new(None));
        let tiers = by_tier([&vpc, &flow], &kinds, &registry);
        let ids: Vec<&str> = tiers.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["ec2_network", "ec2_observability"]);
        assert_eq!(tiers[1].title, "observability (ec2)");
    }

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
            (x.clone(), "cloudfront.distribution".to_string()),
        ]);
        let registry = crate::aws::registry(crate::aws::AwsContext::new(None));
        let tiers = by_tier([&db, &vpc, &role, &x], &kinds, &registry);
        let titles: Vec<&str> = tiers.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "identity (iam)",
                "network (ec2)",
                "database (rds)",
                "cloudfront"
            ]
        );
        assert_eq!(tiers[1].members, [&vpc]);
    }
}
