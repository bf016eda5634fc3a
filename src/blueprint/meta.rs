//! A resource's meta-arguments besides count / for_each / depends_on: `timeouts`,
//! `lifecycle` and `check`. They shape how innovate plans, applies and checks, not what AWS
//! receives.

use super::diagnostics::did_you_mean;
use super::expand::Expander;
use super::yaml::{Node, NodeValue};
use super::{Lifecycle, Timeouts};
use crate::kinds::Schema;
use std::collections::BTreeMap;

const LIFECYCLE: &[&str] = &["prevent_destroy", "create_before_destroy", "ignore_changes"];

impl Expander<'_> {
    pub(super) fn timeouts(&mut self, node: &Node) -> Timeouts {
        let mut timeouts = Timeouts::default();
        let Some(section) = node.get("timeouts") else {
            return timeouts;
        };
        for (key, value) in self.map_entries(section, "`timeouts`") {
            let slot = match key.name.as_str() {
                "create" => &mut timeouts.create,
                "update" => &mut timeouts.update,
                "delete" => &mut timeouts.delete,
                other => {
                    let hint = did_you_mean(other, ["create", "update", "delete"]);
                    self.error(
                        key.pos,
                        format!("unknown timeout `{other}`"),
                        hint.or(Some("timeouts are create, update and delete".into())),
                    );
                    continue;
                }
            };
            match value.as_str().map(humantime::parse_duration) {
                Some(Ok(duration)) => *slot = Some(duration),
                _ => self.error(
                    value.pos,
                    "a timeout is a duration such as 30m, 1h or 90s",
                    None,
                ),
            }
        }
        timeouts
    }

    pub(super) fn lifecycle(&mut self, node: &Node, schema: &Schema) -> Lifecycle {
        let mut lifecycle = Lifecycle::default();
        let Some(section) = node.get("lifecycle") else {
            return lifecycle;
        };
        for (key, value) in self.map_entries(section, "`lifecycle`") {
            match key.name.as_str() {
                "prevent_destroy" => {
                    lifecycle.prevent_destroy = self.flag(value, "prevent_destroy")
                }
                "create_before_destroy" => {
                    lifecycle.create_before_destroy = self.flag(value, "create_before_destroy")
                }
                "ignore_changes" => lifecycle.ignore_changes = self.attribute_names(value, schema),
                other => {
                    let hint = did_you_mean(other, LIFECYCLE.iter().copied())
                        .unwrap_or_else(|| format!("lifecycle takes: {}", LIFECYCLE.join(", ")));
                    self.error(
                        key.pos,
                        format!("unknown lifecycle option `{other}`"),
                        Some(hint),
                    );
                }
            }
        }
        lifecycle
    }

    /// `check: { suppress: { INV002: "the public ALB needs it" } }`. A suppression must say
    /// why: an unexplained one hides a finding from every later reader.
    pub(super) fn suppressions(&mut self, node: &Node) -> BTreeMap<String, String> {
        let mut suppress = BTreeMap::new();
        let Some(section) = node.get("check") else {
            return suppress;
        };
        for (key, value) in self.map_entries(section, "`check`") {
            if key.name != "suppress" {
                self.error(
                    key.pos,
                    format!("unknown check option `{}`", key.name),
                    Some("check takes: suppress".into()),
                );
                continue;
            }
            for (rule, reason) in self.map_entries(value, "`check.suppress`") {
                if !is_rule_id(&rule.name) {
                    self.error(
                        rule.pos,
                        format!("`{}` is not a check rule id", rule.name),
                        Some("rule ids look like INV002 (see `innovate check --help`)".into()),
                    );
                    continue;
                }
                match reason.as_str().map(str::trim) {
                    Some(text) if !text.is_empty() => {
                        suppress.insert(rule.name.clone(), text.to_string());
                    }
                    _ => self.error(
                        reason.pos,
                        format!("the suppression of {} needs a reason", rule.name),
                        Some(format!(
                            "say why the finding is accepted: `{}: \"public ALB needs it\"`",
                            rule.name
                        )),
                    ),
                }
            }
        }
        suppress
    }

    fn flag(&mut self, value: &Node, name: &str) -> bool {
        match value.value {
            NodeValue::Bool(b) => b,
            _ => {
                self.error(value.pos, format!("`{name}` must be true or false"), None);
                false
            }
        }
    }

    /// `ignore_changes: [tags, desired_size]`: attribute names of this kind.
    fn attribute_names(&mut self, value: &Node, schema: &Schema) -> Vec<String> {
        let NodeValue::Seq(items) = &value.value else {
            self.error(
                value.pos,
                "`ignore_changes` is a list of attribute names",
                Some("for example `ignore_changes: [tags]`".into()),
            );
            return Vec::new();
        };
        let mut names = Vec::new();
        for item in items {
            match item.as_str() {
                Some(name) if schema.attr(name).is_some() => names.push(name.to_string()),
                Some(name) => {
                    let hint = did_you_mean(name, schema.attrs.iter().map(|a| a.name));
                    self.error(
                        item.pos,
                        format!(
                            "`ignore_changes`: {} has no attribute `{name}`",
                            schema.name
                        ),
                        hint,
                    );
                }
                None => self.error(item.pos, "`ignore_changes` items are attribute names", None),
            }
        }
        names
    }
}

/// INV followed by three digits.
fn is_rule_id(text: &str) -> bool {
    text.strip_prefix("INV")
        .is_some_and(|n| n.len() == 3 && n.chars().all(|c| c.is_ascii_digit()))
}
