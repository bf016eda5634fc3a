//! Cost: an offline monthly estimate of what a blueprint (or a state, or a plan's outcome)
//! costs, from the embedded us-east-1 price table. No AWS call: prices come from
//! `prices.rs`, quantities from the instances' attributes.

mod delta;
mod price;
pub mod prices;
mod render;

pub use delta::{plan_delta, Delta};
pub use price::{models, Pricing};
pub use render::{render_human, to_json};

use crate::blueprint::Blueprint;
use crate::kinds::{Attrs, Registry};
use crate::state::State;

/// One resource instance and what it costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub address: String,
    pub kind: String,
    pub pricing: Pricing,
}

/// The monthly cost of a set of resource instances.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estimate {
    pub lines: Vec<Line>,
}

impl Estimate {
    /// Prices each (address, kind, attributes), in the order given, by the price model
    /// each kind declares in its schema.
    pub fn of<'a>(
        items: impl IntoIterator<Item = (String, &'a str, &'a Attrs)>,
        registry: &Registry,
    ) -> Estimate {
        let lines = items
            .into_iter()
            .map(|(address, kind, attrs)| Line {
                address,
                kind: kind.to_string(),
                pricing: price(registry, kind, attrs),
            })
            .collect();
        Estimate { lines }
    }

    /// Sum of what could be priced.
    pub fn total(&self) -> f64 {
        self.lines.iter().map(|l| l.pricing.monthly()).sum()
    }

    /// The instances that could not be priced, with the reason.
    pub fn not_priced(&self) -> Vec<(&str, &str)> {
        self.lines
            .iter()
            .filter_map(|l| match &l.pricing {
                Pricing::NotPriced(reason) => Some((l.address.as_str(), reason.as_str())),
                _ => None,
            })
            .collect()
    }
}

/// What the blueprint's instances cost, from the blueprint alone (schema defaults filled in,
/// references unknown: they never carry a priced quantity in practice).
pub fn of_blueprint(blueprint: &Blueprint, registry: &Registry) -> Estimate {
    let attrs: Vec<(String, &str, Attrs)> = blueprint
        .instances
        .iter()
        .map(|i| {
            let attrs = registry
                .schema(&i.kind)
                .map(|schema| crate::plan::offline_attrs(i, schema))
                .unwrap_or_default();
            (i.address.to_string(), i.kind.as_str(), attrs)
        })
        .collect();
    Estimate::of(attrs.iter().map(|(a, k, v)| (a.clone(), *k, v)), registry)
}

/// What one instance of `kind` costs, by its kind's price model.
pub fn price(registry: &Registry, kind: &str, attrs: &Attrs) -> Pricing {
    match registry.schema(kind) {
        Some(schema) => schema.price.of(attrs),
        None => Pricing::NotPriced(format!("no price model for kind {kind}")),
    }
}

/// What the resources recorded in a state cost, from their last applied attributes.
pub fn of_state(state: &State, registry: &Registry) -> Estimate {
    let resources = state.resources.iter();
    let items = resources.map(|(address, r)| (address.to_string(), r.kind.as_str(), &r.attrs));
    Estimate::of(items, registry)
}

/// Dollars with cents: `$1234.50`.
pub fn dollars(amount: f64) -> String {
    format!("${:.2}", amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Registry;

    fn registry() -> Registry {
        crate::aws::registry(crate::aws::AwsContext::new(None))
    }

    fn blueprint(text: &str, env: &str) -> Blueprint {
        let options = crate::blueprint::LoadOptions {
            env: Some(env.into()),
            vars: Vec::new(),
        };
        crate::blueprint::parse("bp.yaml", text, &options, &registry()).unwrap()
    }

    const ESTATE: &str = r#"
blueprint: t
variables: { nats: 1 }
environments: { dev: {}, prod: { nats: 2 } }
resources:
  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }
  net: { kind: ec2.subnet, vpc_id: "${main.id}", cidr_block: 10.0.0.0/24 }
  ip: { kind: ec2.elastic_ip, count: "${var.nats}" }
  nat:
    kind: ec2.nat_gateway
    count: ${var.nats}
    subnet_id: ${net.id}
    allocation_id: ${ip[count.index].id}
"#;

    #[test]
    fn prices_every_instance_of_the_environment() {
        let dev = of_blueprint(&blueprint(ESTATE, "dev"), &registry());
        assert_eq!(dollars(dev.total()), "$36.50");
        let prod = of_blueprint(&blueprint(ESTATE, "prod"), &registry());
        assert_eq!(dollars(prod.total()), "$73.00");
        let free: Vec<&str> = prod
            .lines
            .iter()
            .filter(|l| l.pricing == Pricing::Free)
            .map(|l| l.address.as_str())
            .collect();
        assert_eq!(free, ["main", "net"]);
        assert!(prod.not_priced().is_empty());
    }

    #[test]
    fn references_in_unpriced_attributes_do_not_matter() {
        // nat's subnet_id and allocation_id are unknown offline; it is priced all the same.
        let dev = of_blueprint(&blueprint(ESTATE, "dev"), &registry());
        let nat = dev.lines.iter().find(|l| l.address == "nat[0]").unwrap();
        assert!(matches!(nat.pricing, Pricing::Priced { .. }), "{nat:?}");
    }
}
