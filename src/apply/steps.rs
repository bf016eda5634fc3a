//! The record of every step of a run, in the order they ended, and what is made of it after
//! the run: the table people read and the `summary` event machines read.

use super::progress::millis;
use super::{ApplyReport, OpKind};
use crate::address::Address;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::time::Duration;

/// One operation of a run and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub address: Address,
    pub action: OpKind,
    /// How long it ran; `None` when it never started (skipped, failed while prepared).
    pub elapsed: Option<Duration>,
    pub result: StepResult,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepResult {
    Done,
    /// The error, as the failure summary shows it.
    Failed(String),
    Skipped,
    Abandoned,
}

impl StepResult {
    fn describe(&self) -> String {
        match self {
            StepResult::Done => "done".into(),
            StepResult::Failed(error) => format!("failed: {error}"),
            StepResult::Skipped => "skipped (a dependency failed)".into(),
            StepResult::Abandoned => "abandoned (outcome unknown)".into(),
        }
    }
}

/// Every step as an aligned table: ADDRESS, ACTION, DURATION, RESULT.
pub fn render_table(steps: &[Step]) -> String {
    let rows: Vec<[String; 4]> = steps
        .iter()
        .map(|s| {
            [
                s.address.to_string(),
                s.action.name().to_string(),
                s.elapsed
                    .map(|d| format!("{:.1}s", d.as_secs_f64()))
                    .unwrap_or_else(|| "-".into()),
                s.result.describe(),
            ]
        })
        .collect();
    let header = ["ADDRESS", "ACTION", "DURATION", "RESULT"].map(String::from);
    let width = |column: usize| {
        rows.iter()
            .chain([&header])
            .map(|r| r[column].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    for row in [&header].into_iter().chain(&rows) {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:>w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    out
}

/// The closing `summary` event of `apply --json` / `destroy --json`.
pub fn summary_event(report: &ApplyReport, command: &str) -> Value {
    let result = if report.succeeded() {
        "succeeded"
    } else if report.interrupted {
        "interrupted"
    } else {
        "failed"
    };
    let count = |kind: OpKind| {
        report
            .completed
            .iter()
            .filter(|(_, k, _)| *k == kind)
            .count()
    };
    json!({
        "event": "summary",
        "command": command,
        "result": result,
        "added": count(OpKind::Create),
        "changed": count(OpKind::Update),
        "destroyed": count(OpKind::Delete),
        "failed": report.failed.len(),
        "skipped": report.skipped.len(),
        "abandoned": report.abandoned.len(),
        "elapsed_ms": millis(report.elapsed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(address: &str, action: OpKind, ms: Option<u64>, result: StepResult) -> Step {
        Step {
            address: address.parse().unwrap(),
            action,
            elapsed: ms.map(Duration::from_millis),
            result,
        }
    }

    #[test]
    fn the_table_aligns_every_step_with_its_action_duration_and_result() {
        let steps = [
            step("main", OpKind::Create, Some(1200), StepResult::Done),
            step(
                "private[1]",
                OpKind::Create,
                Some(300),
                StepResult::Failed("ec2:CreateSubnet failed: boom".into()),
            ),
            step("routes", OpKind::Update, None, StepResult::Skipped),
        ];
        assert_eq!(
            render_table(&steps),
            "ADDRESS     ACTION  DURATION  RESULT\n\
             main        create      1.2s  done\n\
             private[1]  create      0.3s  failed: ec2:CreateSubnet failed: boom\n\
             routes      update         -  skipped (a dependency failed)\n"
        );
    }

    #[test]
    fn the_summary_counts_outcomes_and_names_the_result() {
        let report = ApplyReport {
            completed: vec![
                ("a".parse().unwrap(), OpKind::Create, Duration::ZERO),
                ("b".parse().unwrap(), OpKind::Delete, Duration::ZERO),
            ],
            skipped: vec![("c".parse().unwrap(), OpKind::Create)],
            elapsed: Duration::from_millis(2500),
            ..ApplyReport::default()
        };
        let summary = summary_event(&report, "apply");
        assert_eq!(summary["result"], "failed");
        assert_eq!(summary["added"], 1);
        assert_eq!(summary["destroyed"], 1);
        assert_eq!(summary["skipped"], 1);
        assert_eq!(summary["elapsed_ms"], 2500);
    }
}
