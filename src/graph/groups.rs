//! Other ways to group a picture than by tier: by the AWS account an instance is placed in
//! (`account:`), and by the subnet(s) an instance references.

use super::tiers::Tier;
use crate::address::Address;
use crate::blueprint::template::Tmpl;
use crate::blueprint::Instance;
use std::collections::{BTreeMap, BTreeSet};

/// Instances by `account:` placement: one group per referenced account resource or literal
/// id, and one for the caller's own account (where nothing is placed).
pub fn by_account(instances: &[Instance]) -> Vec<Tier<'_>> {
    let mut groups: BTreeMap<String, Vec<&Address>> = BTreeMap::new();
    for instance in instances {
        groups
            .entry(account_label(instance.account.as_ref()))
            .or_default()
            .push(&instance.address);
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(i, (label, members))| group(format!("account{i}"), label, members))
        .collect()
}

/// "account prod" for `${prod.id}`, "account 123456789012" for a literal id.
fn account_label(account: Option<&Tmpl>) -> String {
    let Some(account) = account else {
        return "caller's account".into();
    };
    let references: BTreeSet<String> = account
        .references()
        .into_iter()
        .map(Address::to_string)
        .collect();
    match (&references, account) {
        (refs, _) if !refs.is_empty() => {
            format!(
                "account {}",
                refs.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        }
        (_, Tmpl::Lit(value)) => format!("account {}", value.as_str().unwrap_or("?")),
        _ => "account ?".into(),
    }
}

/// Instances by the subnets they reference (a subnet is in its own group); instances that
/// reference no subnet are left ungrouped (empty id).
pub fn by_subnet<'a>(
    instances: &'a [Instance],
    kinds: &BTreeMap<Address, String>,
) -> Vec<Tier<'a>> {
    let is_subnet = |a: &Address| kinds.get(a).is_some_and(|k| k == "ec2.subnet");
    let mut groups: BTreeMap<Vec<&Address>, Vec<&Address>> = BTreeMap::new();
    for instance in instances {
        let mut subnets: BTreeSet<&Address> = instance
            .attrs
            .iter()
            .flat_map(|(_, value)| value.references())
            .filter(|a| is_subnet(a))
            .collect();
        if is_subnet(&instance.address) {
            subnets.insert(&instance.address);
        }
        groups
            .entry(subnets.into_iter().collect())
            .or_default()
            .push(&instance.address);
    }
    let mut next = 0;
    groups
        .into_iter()
        .map(|(subnets, members)| {
            if subnets.is_empty() {
                return group(String::new(), String::new(), members);
            }
            next += 1;
            let names: Vec<String> = subnets.iter().map(|a| a.to_string()).collect();
            let noun = if names.len() == 1 {
                "subnet"
            } else {
                "subnets"
            };
            group(
                format!("subnet{next}"),
                format!("{noun} {}", names.join(", ")),
                members,
            )
        })
        .collect()
}

fn group(id: String, title: String, mut members: Vec<&Address>) -> Tier<'_> {
    members.sort();
    Tier { id, title, members }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::{self, LoadOptions};

    const BP: &str = r#"
blueprint: g
resources:
  prod: { kind: organizations.account, account_name: p, email: p@example.com, parent_id: r-1 }
  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }
  net: { kind: ec2.subnet, count: 2, vpc_id: "${main.id}", cidr_block: "10.0.${count.index}.0/24" }
  ip: { kind: ec2.elastic_ip }
  nat: { kind: ec2.nat_gateway, subnet_id: "${net[0].id}", allocation_id: "${ip.id}" }
  routes: { kind: ec2.route_table, vpc_id: "${main.id}", subnet_ids: "${net[*].id}" }
  far: { kind: ec2.vpc, cidr_block: 10.1.0.0/16, account: "${prod.id}" }
  fixed: { kind: ec2.vpc, cidr_block: 10.2.0.0/16, account: "123456789012" }
"#;

    fn instances() -> Vec<Instance> {
        let registry = crate::aws::registry(crate::aws::AwsContext::new(None));
        blueprint::parse("g.yaml", BP, &LoadOptions::default(), &registry)
            .unwrap()
            .instances
    }

    fn titles_and_members(groups: &[Tier]) -> Vec<(String, Vec<String>)> {
        groups
            .iter()
            .map(|g| {
                let members = g.members.iter().map(|a| a.to_string()).collect();
                (g.title.clone(), members)
            })
            .collect()
    }

    #[test]
    fn accounts_group_by_the_placement_reference_or_literal_id() {
        let instances = instances();
        let groups = titles_and_members(&by_account(&instances));
        assert_eq!(
            groups,
            [
                ("account 123456789012".into(), vec!["fixed".into()]),
                ("account prod".into(), vec!["far".into()]),
                (
                    "caller's account".into(),
                    ["ip", "main", "nat", "net[0]", "net[1]", "prod", "routes"]
                        .map(String::from)
                        .to_vec()
                ),
            ]
        );
    }

    #[test]
    fn subnets_group_what_references_them_and_leave_the_rest_ungrouped() {
        let instances = instances();
        let kinds = instances
            .iter()
            .map(|i| (i.address.clone(), i.kind.clone()))
            .collect();
        let groups = titles_and_members(&by_subnet(&instances, &kinds));
        assert!(
            groups.contains(&("subnet net[0]".into(), vec!["nat".into(), "net[0]".into()])),
            "{groups:?}"
        );
        assert!(
            groups.contains(&("subnet net[1]".into(), vec!["net[1]".into()])),
            "{groups:?}"
        );
        assert!(
            groups.contains(&("subnets net[0], net[1]".into(), vec!["routes".into()])),
            "{groups:?}"
        );
        let ungrouped = groups.iter().find(|(title, _)| title.is_empty()).unwrap();
        assert!(ungrouped.1.contains(&"main".to_string()), "{groups:?}");
    }
}
