//! Check: security and reliability rules evaluated offline on one environment of a
//! blueprint. Every finding has a rule id, a severity, the located blueprint line and a
//! fix hint; a resource can accept a finding with `check: { suppress: { ID: reason } }`.

mod locate;
mod realism;
mod render;
pub mod rules;

pub use render::{findings_json, render_human, to_json, warning_lines, Source};
pub use rules::{Rule, RULES};

use crate::blueprint::{Blueprint, Pos};
use crate::kinds::{Attrs, Registry};
use locate::Locator;
use rules::{Context, Subject};
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(text: &str) -> Result<Severity, String> {
        match text.to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "`{text}` is not a severity: low, medium, high or critical"
            )),
        }
    }
}

/// Where in a resource a finding points.
#[derive(Debug, Clone, PartialEq)]
pub enum Spot {
    /// The resource's declaration (the problem is an attribute left out).
    Resource,
    Attr(&'static str),
    /// One item of a list attribute (an ingress rule).
    Item(&'static str, usize),
    /// An attribute found by walking the values (its name is only known at run time).
    Named(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: &'static Rule,
    pub address: String,
    pub kind: String,
    pub message: String,
    pub pos: Pos,
}

/// A finding a resource accepted, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppressed {
    pub rule: String,
    pub address: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Report {
    /// Every finding not suppressed, most severe first, then in file order.
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    /// Suppressions that matched nothing (stale, or a rule id that does not exist).
    pub unused: Vec<Suppressed>,
}

impl Report {
    pub fn at_or_above(&self, threshold: Severity) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.rule.severity >= threshold)
            .collect()
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.id == other.id
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

/// Runs every rule on every instance of `blueprint`; `source` is its text (for locations).
pub fn check(blueprint: &Blueprint, registry: &Registry, source: &str) -> Report {
    let attrs: Vec<Attrs> = blueprint
        .instances
        .iter()
        .map(|i| {
            registry
                .schema(&i.kind)
                .map(|schema| crate::plan::offline_attrs(i, schema))
                .unwrap_or_default()
        })
        .collect();
    let cx = context(blueprint);
    let locator = Locator::new(source);
    let mut report = Report::default();
    for (instance, attrs) in blueprint.instances.iter().zip(&attrs) {
        let subject = Subject { instance, attrs };
        let mut used = BTreeSet::new();
        for rule in RULES {
            for hit in (rule.test)(&subject, &cx) {
                let address = instance.address.to_string();
                if let Some(reason) = instance.suppress.get(rule.id) {
                    used.insert(rule.id);
                    report.suppressed.push(Suppressed {
                        rule: rule.id.into(),
                        address,
                        reason: reason.clone(),
                    });
                    continue;
                }
                report.findings.push(Finding {
                    rule,
                    address,
                    kind: instance.kind.clone(),
                    message: hit.message,
                    pos: locator.find(&instance.address.resource, &hit.at, instance.pos),
                });
            }
        }
        for (id, reason) in &instance.suppress {
            if !used.contains(id.as_str()) {
                report.unused.push(Suppressed {
                    rule: id.clone(),
                    address: instance.address.to_string(),
                    reason: reason.clone(),
                });
            }
        }
    }
    report.findings.extend(variable_findings(blueprint));
    report.findings.sort_by(|a, b| {
        b.rule
            .severity
            .cmp(&a.rule.severity)
            .then(a.pos.cmp(&b.pos))
    });
    report
}

/// Placeholder account ids in variable values (INV011), located at the value: a variable
/// no resource uses yet is still a value someone will pass on. Variables take no
/// suppressions; fix the value instead.
fn variable_findings(blueprint: &Blueprint) -> Vec<Finding> {
    let rule = rules::rule("INV011").expect("INV011 is a rule");
    let mut findings = Vec::new();
    for var in &blueprint.variables {
        let mut ids: Vec<&str> = Vec::new();
        for text in all_strings(&var.value) {
            ids.extend(realism::placeholder_accounts(text));
        }
        ids.dedup();
        findings.extend(ids.into_iter().map(|id| Finding {
            rule,
            address: format!("var.{}", var.name),
            kind: "variable".into(),
            message: format!("variable `{}` holds the placeholder account {id}", var.name),
            pos: var.pos,
        }));
    }
    findings
}

fn all_strings(value: &serde_json::Value) -> Vec<&str> {
    match value {
        serde_json::Value::String(text) => vec![text.as_str()],
        serde_json::Value::Array(items) => items.iter().flat_map(all_strings).collect(),
        serde_json::Value::Object(map) => map.values().flat_map(all_strings).collect(),
        _ => Vec::new(),
    }
}

/// Which clusters have IRSA (an OIDC provider whose `url` reads the cluster's issuer) and
/// which VPCs a flow log's `resource_id` reads.
fn context(blueprint: &Blueprint) -> Context {
    let providers: Vec<_> = blueprint
        .instances
        .iter()
        .filter(|i| i.kind == "iam.openid_connect_provider")
        .collect();
    let clusters_with_oidc = providers
        .iter()
        .filter_map(|p| p.attr("url"))
        .flat_map(|url| url.references().into_iter().map(|a| a.to_string()))
        .collect();
    let vpcs_with_flow_logs = blueprint
        .instances
        .iter()
        .filter(|i| i.kind == "ec2.flow_log")
        .filter_map(|f| f.attr("resource_id"))
        .flat_map(|id| id.references().into_iter().map(|a| a.to_string()))
        .collect();
    Context {
        prod: blueprint.env == "prod",
        region: blueprint.region.clone(),
        clusters_with_oidc,
        any_oidc: !providers.is_empty(),
        vpcs_with_flow_logs,
    }
}

#[cfg(test)]
mod tests;
