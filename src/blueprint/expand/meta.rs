//! A resource's meta-arguments besides count / for_each / depends_on: `timeouts`,
//! `lifecycle`, `account` and `check`. They shape how innovate plans, applies and checks,
//! not what AWS receives.

use super::expander::Expander;
use super::scope::Scope;
use crate::blueprint::check::Expect;
use crate::blueprint::diagnostics::unknown;
use crate::blueprint::template::{InstanceRef, Part, Tmpl};
use crate::blueprint::yaml::{Node, NodeValue};
use crate::blueprint::{Lifecycle, Timeouts, DEFAULT_ACCOUNT_ROLE};
use crate::kinds::{AttrType, Schema};
use serde_json::Value;
use std::collections::BTreeMap;

/// The kind whose `id` an `account:` reference reads.
const ACCOUNT_KIND: &str = "organizations.account";

const ACCOUNT_HINT: &str =
    "a 12-digit account id in quotes (account: \"123456789012\"), or the id \
     of an organizations.account of this blueprint (account: ${prod.id})";

/// Where resources without their own `account:` go: the blueprint's top-level `account:`
/// (which may use variables, so each environment can pick its account).
pub(super) struct Placement<'n> {
    pub(super) default: Option<&'n Node>,
}

/// A 12-digit AWS account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// An IAM role name: 1-64 of letters, digits and `+=,.@_-`.
fn is_role_name(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

const LIFECYCLE: &[&str] = &["prevent_destroy", "create_before_destroy", "ignore_changes"];
const TIMEOUTS: &[&str] = &["create", "update", "delete"];

impl Expander<'_> {
    /// The account a resource lives in: its own `account:`, else the blueprint's default.
    /// The default never applies to Organizations kinds: AWS serves that API from the
    /// management account. `None` (an empty value, or `account: null` to opt out of the
    /// default) means the caller's account.
    pub(super) fn account(
        &mut self,
        node: &Node,
        placement: &Placement,
        schema: &Schema,
        scope: &Scope,
    ) -> Option<Tmpl> {
        let organizations = schema.name.starts_with("organizations.");
        let node = node
            .get("account")
            .or_else(|| placement.default.filter(|_| !organizations))?;
        if node.value == NodeValue::Null {
            return None;
        }
        let value = self.convert(node, Some(Expect::of(&AttrType::String)), scope);
        match &value {
            Tmpl::Lit(Value::Null) => None,
            Tmpl::Lit(Value::String(id)) if id.is_empty() => None,
            Tmpl::Lit(Value::String(id)) if is_account_id(id) => Some(value),
            Tmpl::Concat(parts) => match parts.as_slice() {
                [Part::Ref(r)] => self.account_reference(node, r, scope).then_some(value),
                _ => {
                    let message =
                        "`account` must be one account id or one reference, not text around it";
                    self.error(node.pos, message, Some(ACCOUNT_HINT.into()));
                    None
                }
            },
            Tmpl::Lit(other) => {
                let shown = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_string);
                let message =
                    format!("`account` must be a 12-digit AWS account id, found `{shown}`");
                self.error(node.pos, message, Some(ACCOUNT_HINT.into()));
                None
            }
            Tmpl::List(_) | Tmpl::Map(_) => {
                let message = "`account` must be one account id, not a list or a map";
                self.error(node.pos, message, Some(ACCOUNT_HINT.into()));
                None
            }
        }
    }

    /// Whether `r` reads the id of one organizations.account instance (reported if not).
    fn account_reference(&mut self, node: &Node, r: &InstanceRef, scope: &Scope) -> bool {
        let [target] = r.targets.as_slice() else {
            let message = "`account` reads one account, not a list";
            self.error(
                node.pos,
                message,
                Some("pick one instance, e.g. `${accounts[\"prod\"].id}`".into()),
            );
            return false;
        };
        let kind = scope.kind_of(&target.resource);
        if r.splat || kind.is_some_and(|k| k != ACCOUNT_KIND) || r.attr != "id" {
            let what = kind.unwrap_or("a resource");
            let message = format!(
                "`account` reads `{target}.{}` of {what}: it takes the `id` of an {ACCOUNT_KIND}",
                r.attr
            );
            self.error(node.pos, message, Some(ACCOUNT_HINT.into()));
            return false;
        }
        true
    }

    /// `account_role:` the role assumed in member accounts; AWS's default otherwise.
    pub(super) fn account_role(&mut self, root: &Node) -> String {
        let Some(role) = self.optional_string(root, "account_role") else {
            return DEFAULT_ACCOUNT_ROLE.to_string();
        };
        if !is_role_name(&role) {
            let at = root.get("account_role").map_or(root.pos, |n| n.pos);
            self.error(
                at,
                format!("`account_role` must be an IAM role name, found `{role}`"),
                Some(format!(
                    "letters, digits and +=,.@_- (up to 64), e.g. {DEFAULT_ACCOUNT_ROLE}"
                )),
            );
        }
        role
    }

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
                    self.report(
                        unknown("timeout", other, None, TIMEOUTS.iter().copied()).at(key.pos),
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
                    let problem =
                        unknown("lifecycle option", other, None, LIFECYCLE.iter().copied());
                    self.report(problem.at(key.pos));
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
                let problem = unknown("check option", &key.name, None, ["suppress"]);
                self.report(problem.at(key.pos));
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
                    let place = format!("of {}", schema.name);
                    let known = schema.attrs.iter().map(|a| a.name);
                    let problem = unknown("attribute", name, Some(&place), known);
                    self.report(problem.within("`ignore_changes`").at(item.pos));
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
