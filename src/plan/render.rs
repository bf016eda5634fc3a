//! Plan output: the human form Terraform users read at a glance (+ create, ~ update,
//! -/+ replace, - destroy, and the closing "Plan: ..." line) and the documented JSON form.

use super::{Action, Change, Plan, Step};
use crate::blueprint::template::{show_value, KNOWN_AFTER_APPLY, UNKNOWN};
use crate::kinds::LINEAGE_TAG;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// `color` adds ANSI colours (terminals only; never with NO_COLOR).
pub fn render_human(plan: &Plan, color: bool) -> String {
    let paint = Paint { color };
    let mut out = String::new();
    let kept = plan.refused().count();
    if !plan.has_changes() && kept == 0 {
        out.push_str("No changes. The infrastructure matches the blueprint.\n");
        return out;
    }
    out.push_str("innovate will perform the following actions:\n\n");
    // Sorted by address like other tools print them; the executor follows the DAG anyway.
    let mut steps: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| s.action != Action::NoOp)
        .collect();
    steps.sort_by(|a, b| a.address.cmp(&b.address));
    for step in steps {
        render_step(&mut out, step, &paint);
    }
    let s = plan.summary();
    let protected = if kept == 0 {
        String::new()
    } else {
        format!(" {kept} kept (protected).")
    };
    let _ = writeln!(
        out,
        "{}",
        paint.bold(&format!(
            "Plan: {} to add, {} to change, {} to destroy.{protected}",
            s.add, s.change, s.destroy
        ))
    );
    out
}

/// "ec2.vpc" or "ec2.vpc, account 123456789012" for a resource placed in a member account.
fn kind_and_account(step: &Step) -> String {
    match step.account.as_deref() {
        None => step.kind.clone(),
        Some(UNKNOWN) => format!("{}, account {KNOWN_AFTER_APPLY}", step.kind),
        Some(account) => format!("{}, account {account}", step.kind),
    }
}

fn render_step(out: &mut String, step: &Step, paint: &Paint) {
    let (symbol, verb) = match step.action {
        Action::Create => ("  +", "will be created".to_string()),
        Action::Update => ("  ~", "will be updated in place".to_string()),
        Action::Replace if step.create_before_destroy => (
            "+/-",
            format!(
                "must be replaced, the new one created first ({} forces replacement)",
                step.replace_reasons().join(", ")
            ),
        ),
        Action::Replace => (
            "-/+",
            format!(
                "must be replaced ({} forces replacement)",
                step.replace_reasons().join(", ")
            ),
        ),
        Action::Delete if step.deposed => (
            "  -",
            "old object left by a create-before-destroy replace will be destroyed".to_string(),
        ),
        Action::Delete => ("  -", "will be destroyed".to_string()),
        Action::NoOp => return,
    };
    if let Some(why) = &step.refused {
        // Kept: neither destroyed nor replaced; say so instead of the action.
        let _ = writeln!(
            out,
            "  # {} ({}) {why}\n",
            paint.bold(&step.address.to_string()),
            kind_and_account(step),
        );
        return;
    }
    let _ = writeln!(
        out,
        "{} {} ({}) {}",
        paint.action(step.action, symbol),
        paint.bold(&step.address.to_string()),
        kind_and_account(step),
        verb
    );
    let width = step.changes.iter().map(|c| c.attr.len()).max().unwrap_or(0);
    for change in &step.changes {
        let _ = writeln!(
            out,
            "      {}",
            render_change(change, step.action, width, paint)
        );
    }
    if let Some(note) = &step.note {
        let _ = writeln!(out, "      # {note}");
    }
    if !step.ignored.is_empty() {
        let _ = writeln!(
            out,
            "      # lifecycle.ignore_changes keeps the current {}",
            step.ignored.join(", ")
        );
    }
    out.push('\n');
}

fn render_change(change: &Change, action: Action, width: usize, paint: &Paint) -> String {
    let name = format!("{:width$}", change.attr);
    let show = |v: &Option<Value>| match v {
        None => "null".to_string(),
        Some(_) if change.sensitive => "(sensitive)".to_string(),
        Some(v) => show_value(v),
    };
    match (action, &change.before) {
        (Action::Update, None) if change.attr == LINEAGE_TAG => format!(
            "{} {name} = {}  # the owner tag of this state",
            paint.action(Action::Create, "+"),
            show(&change.after)
        ),
        (Action::Create, _) | (_, None) => format!(
            "{} {name} = {}",
            paint.action(Action::Create, "+"),
            show(&change.after)
        ),
        (_, Some(_)) if change.after.is_none() => format!(
            "{} {name} = {} -> null",
            paint.action(Action::Delete, "-"),
            show(&change.before)
        ),
        _ => {
            let forces = if change.forces_replacement {
                paint.action(Action::Delete, "  # forces replacement")
            } else {
                String::new()
            };
            format!(
                "{} {name} = {} -> {}{forces}",
                paint.action(Action::Update, "~"),
                show(&change.before),
                show(&change.after)
            )
        }
    }
}

/// The `--json` form of a plan, as documented in the README.
pub fn to_json(plan: &Plan, blueprint: &str, env: &str) -> Value {
    let s = plan.summary();
    json!({
        "format_version": 1,
        "blueprint": blueprint,
        "env": env,
        "has_changes": plan.has_changes(),
        "summary": { "add": s.add, "change": s.change, "destroy": s.destroy },
        "resources": plan.steps.iter().map(step_json).collect::<Vec<_>>(),
        "outputs": plan.outputs.iter().map(|(k, v)| (k.clone(), public(v))).collect::<serde_json::Map<_, _>>(),
    })
}

fn step_json(step: &Step) -> Value {
    json!({
        "address": step.address.to_string(),
        "kind": step.kind,
        "action": step.action,
        "replace_reasons": step.replace_reasons(),
        "create_before_destroy": step.create_before_destroy,
        "deposed": step.deposed,
        "ignored_changes": step.ignored,
        "account": step.account.as_deref().map(|a| public(&json!(a))),
        "refused": step.refused,
        "note": step.note,
        "changes": step.changes.iter().map(|c| json!({
            "attr": c.attr,
            "before": if c.sensitive { json!("(sensitive)") } else { c.before.as_ref().map(public).unwrap_or(Value::Null) },
            "after": if c.sensitive { json!("(sensitive)") } else { c.after.as_ref().map(public).unwrap_or(Value::Null) },
            "after_unknown": c.after.as_ref().is_some_and(crate::blueprint::template::contains_unknown),
            "forces_replacement": c.forces_replacement,
        })).collect::<Vec<_>>(),
    })
}

/// Replaces the internal unknown marker by its printable form.
fn public(value: &Value) -> Value {
    match value {
        Value::String(s) if s == UNKNOWN => Value::String(KNOWN_AFTER_APPLY.into()),
        Value::Array(items) => Value::Array(items.iter().map(public).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), public(v))).collect())
        }
        other => other.clone(),
    }
}

struct Paint {
    color: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }

    fn action(&self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Replace => "35",
            Action::Delete => "31",
            Action::NoOp => "0",
        };
        self.wrap(code, text)
    }
}
