//! `innovate cost` output: one line per resource instance, the "not priced" lines, the
//! Total line and the assumptions behind the figures; and the same as JSON.

use super::prices::*;
use super::{dollars, Estimate, Pricing};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// What the figures rest on, printed under every estimate.
pub fn assumptions() -> Vec<String> {
    vec![
        format!("{PRICE_REGION} on-demand list prices as of {PRICE_TABLE_DATE}"),
        format!("{HOURS_PER_MONTH} hours a month, every resource running all month"),
        "node groups at their desired_size; one gp3 root volume per node".into(),
        format!(
            "spot nodes at {:.0}% below on-demand",
            SPOT_DISCOUNT * 100.0
        ),
        format!(
            "not included: data transfer, NAT data processing (${}/GB), RDS backup storage \
             beyond the free allowance, CPU credits of burstable instances, load balancers \
             created by Kubernetes, taxes",
            super::price::usd(NAT_GATEWAY_PER_GB)
        ),
    ]
}

pub fn render_human(
    estimate: &Estimate,
    blueprint: &str,
    env: &str,
    region: Option<&str>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Monthly cost estimate of blueprint `{blueprint}`, env `{env}`:\n"
    );
    let amounts: Vec<String> = estimate
        .lines
        .iter()
        .map(|l| match l.pricing {
            // Never $0.00: an unpriced resource is not a free one.
            Pricing::NotPriced(_) => "?".to_string(),
            _ => dollars(l.pricing.monthly()),
        })
        .collect();
    let width = amounts.iter().map(String::len).max().unwrap_or(0);
    for (line, amount) in estimate.lines.iter().zip(&amounts) {
        let what = match &line.pricing {
            Pricing::Free => "free".to_string(),
            Pricing::Priced { detail, .. } => detail.clone(),
            Pricing::NotPriced(_) => "not priced (see below)".to_string(),
        };
        let _ = writeln!(
            out,
            "  {amount:>width$}  {} ({}): {what}",
            line.address, line.kind
        );
    }
    out.push('\n');
    for (address, reason) in estimate.not_priced() {
        let _ = writeln!(out, "not priced: {address}: {reason}");
    }
    let _ = writeln!(out, "Total: {}/month", dollars(estimate.total()));
    if let Some(region) = region.filter(|r| *r != PRICE_REGION) {
        let _ = writeln!(
            out,
            "Note: the blueprint's region is {region}; the prices are {PRICE_REGION}'s."
        );
    }
    out.push_str("\nAssumptions:\n");
    for assumption in assumptions() {
        let _ = writeln!(out, "  - {assumption}");
    }
    out
}

pub fn to_json(estimate: &Estimate, blueprint: &str, env: &str) -> Value {
    let cents = |x: f64| (x * 100.0).round() / 100.0;
    let resources: Vec<Value> = estimate
        .lines
        .iter()
        .map(|l| {
            let (status, detail) = match &l.pricing {
                Pricing::Free => ("free", Value::Null),
                Pricing::Priced { detail, .. } => ("priced", json!(detail)),
                Pricing::NotPriced(reason) => ("not_priced", json!(reason)),
            };
            json!({
                "address": l.address, "kind": l.kind, "status": status,
                "monthly": cents(l.pricing.monthly()), "detail": detail,
            })
        })
        .collect();
    json!({
        "format_version": 1,
        "blueprint": blueprint,
        "env": env,
        "currency": "USD",
        "total_monthly": cents(estimate.total()),
        "resources": resources,
        "not_priced": estimate.not_priced().iter()
            .map(|(a, why)| json!({ "address": a, "reason": why })).collect::<Vec<_>>(),
        "assumptions": {
            "price_table_date": PRICE_TABLE_DATE,
            "price_region": PRICE_REGION,
            "hours_per_month": HOURS_PER_MONTH,
            "spot_discount": SPOT_DISCOUNT,
            "node_count": "desired_size",
            "notes": assumptions(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::Line;

    fn estimate() -> Estimate {
        Estimate {
            lines: vec![
                Line {
                    address: "cluster".into(),
                    kind: "eks.cluster".into(),
                    pricing: crate::cost::models::eks_cluster(&Default::default()),
                },
                Line {
                    address: "main".into(),
                    kind: "ec2.vpc".into(),
                    pricing: Pricing::Free,
                },
                Line {
                    address: "odd".into(),
                    kind: "ec2.transit_gateway".into(),
                    pricing: Pricing::NotPriced(
                        "no price model for kind ec2.transit_gateway".into(),
                    ),
                },
            ],
        }
    }

    #[test]
    fn human_output_has_a_line_per_instance_the_unpriced_and_the_total() {
        let text = render_human(&estimate(), "t", "dev", Some("eu-west-1"));
        assert!(
            text.contains("  $73.00  cluster (eks.cluster): EKS control plane, 730 h × $0.10\n"),
            "{text}"
        );
        assert!(text.contains("   $0.00  main (ec2.vpc): free\n"), "{text}");
        assert!(
            text.contains("       ?  odd (ec2.transit_gateway): not priced (see below)\n"),
            "{text}"
        );
        assert!(
            text.contains("not priced: odd: no price model for kind ec2.transit_gateway\n"),
            "{text}"
        );
        assert!(text.contains("\nTotal: $73.00/month\n"), "{text}");
        assert!(text.contains("region is eu-west-1"), "{text}");
        assert!(text.contains("spot nodes at 60% below on-demand"), "{text}");
    }

    #[test]
    fn json_output_carries_totals_statuses_and_assumptions() {
        let json = to_json(&estimate(), "t", "dev");
        assert_eq!(json["total_monthly"], json!(73.0));
        assert_eq!(json["resources"][1]["status"], json!("free"));
        assert_eq!(json["not_priced"][0]["address"], json!("odd"));
        assert_eq!(json["assumptions"]["hours_per_month"], json!(730.0));
    }
}
