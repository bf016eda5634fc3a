//! `innovate check` output: each finding at or above the threshold rendered like a
//! validation error (severity and rule id in place of "error"), the suppressions with their
//! reasons, and a closing summary line; and the same as JSON.

use super::{Finding, Report, Severity};
use crate::blueprint::diagnostics::{render_located, Diagnostic};
use serde_json::{json, Value};
use std::fmt::Write as _;

pub struct Source<'a> {
    pub file: &'a str,
    pub text: &'a str,
    pub env: &'a str,
}

pub fn render_human(report: &Report, threshold: Severity, source: &Source) -> String {
    let mut out = String::new();
    let shown = report.at_or_above(threshold);
    for finding in &shown {
        let label = format!("{}[{}]", finding.rule.severity.name(), finding.rule.id);
        render_located(
            &mut out,
            &label,
            &diagnostic(finding),
            source.file,
            source.text,
        );
    }
    for s in &report.suppressed {
        let _ = writeln!(out, "suppressed: {} on {}: {}", s.rule, s.address, s.reason);
    }
    for s in &report.unused {
        let _ = writeln!(
            out,
            "unused suppression: {} on {} matches no finding; remove it",
            s.rule, s.address
        );
    }
    let _ = writeln!(out, "{}", summary(report, threshold, source));
    out
}

fn diagnostic(finding: &Finding) -> Diagnostic {
    Diagnostic::new(
        finding.pos,
        format!(
            "{} ({}): {}",
            finding.address, finding.rule.title, finding.message
        ),
    )
    .hint(finding.rule.hint)
}

/// "2 findings at or above high (1 critical, 1 high) in bp.yaml, env prod; 1 suppressed".
fn summary(report: &Report, threshold: Severity, source: &Source) -> String {
    let shown = report.at_or_above(threshold);
    let mut counts = Vec::new();
    for severity in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let n = shown.iter().filter(|f| f.rule.severity == severity).count();
        if n > 0 {
            counts.push(format!("{n} {}", severity.name()));
        }
    }
    let mut line = match shown.len() {
        0 => format!("No findings at or above {}", threshold.name()),
        n => format!(
            "{n} finding{} at or above {} ({})",
            if n == 1 { "" } else { "s" },
            threshold.name(),
            counts.join(", ")
        ),
    };
    let _ = write!(line, " in {}, env {}", source.file, source.env);
    let below = report.findings.len() - shown.len();
    if below > 0 {
        let _ = write!(line, "; {below} below the threshold");
    }
    if !report.suppressed.is_empty() {
        let _ = write!(line, "; {} suppressed", report.suppressed.len());
    }
    line.push('.');
    line
}

/// One line per finding at or above `threshold`, for commands that only warn (plan):
/// "warning: high[INV002] bastion at bp.yaml:8: MESSAGE (hint: HINT)".
pub fn warning_lines(report: &Report, threshold: Severity, source: &Source) -> Vec<String> {
    report
        .at_or_above(threshold)
        .iter()
        .map(|f| {
            format!(
                "warning: {}[{}] {} at {}:{}: {} (hint: {})",
                f.rule.severity.name(),
                f.rule.id,
                f.address,
                source.file,
                f.pos.line,
                f.message,
                f.rule.hint
            )
        })
        .collect()
}

/// The findings at or above `threshold` as JSON objects (check's `findings`, plan's `warnings`).
pub fn findings_json(report: &Report, threshold: Severity, source: &Source) -> Vec<Value> {
    report
        .at_or_above(threshold)
        .iter()
        .map(|f| finding_json(f, source))
        .collect()
}

fn finding_json(f: &Finding, source: &Source) -> Value {
    json!({
        "rule": f.rule.id,
        "severity": f.rule.severity,
        "title": f.rule.title,
        "address": f.address,
        "kind": f.kind,
        "message": f.message,
        "hint": f.rule.hint,
        "file": source.file,
        "line": f.pos.line,
        "column": f.pos.col,
        "source_line": source.text.lines().nth(f.pos.line.saturating_sub(1)),
    })
}

pub fn to_json(report: &Report, threshold: Severity, source: &Source) -> Value {
    let shown = report.at_or_above(threshold);
    let findings = findings_json(report, threshold, source);
    json!({
        "format_version": 1,
        "file": source.file,
        "env": source.env,
        "threshold": threshold,
        "passed": shown.is_empty(),
        "findings": findings,
        "below_threshold": report.findings.len() - shown.len(),
        "suppressed": report.suppressed,
        "unused_suppressions": report.unused,
    })
}
