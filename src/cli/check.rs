//! `innovate check`: security and reliability rules, offline; exit 2 on findings at or
//! above `--severity`, 0 without, 1 on errors (an invalid blueprint included).

use super::common::{load, CliError};
use super::BlueprintArgs;
use crate::check::{self, Severity, Source};
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    /// Lowest severity that fails the check: low, medium, high or critical.
    #[arg(long, default_value = "low", value_parser = parse_severity)]
    pub severity: Severity,
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
}

pub async fn run(args: CheckArgs) -> Result<ExitCode, CliError> {
    let loaded = load(&args.blueprint)?;
    let path = &args.blueprint.blueprint;
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError(format!("cannot read blueprint {}: {e}", path.display())))?;
    let report = check::check(&loaded.blueprint, &loaded.registry, &text);
    let file = path.display().to_string();
    let source = Source {
        file: &file,
        text: &text,
        env: &loaded.blueprint.env,
    };
    if args.json {
        let json = check::to_json(&report, args.severity, &source);
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", check::render_human(&report, args.severity, &source));
    }
    Ok(if report.at_or_above(args.severity).is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
