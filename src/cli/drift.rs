//! `innovate drift`: does AWS still match what innovate applied? Refresh only: never changes
//! anything in AWS or in the state file. Exit 0 no drift, 2 drift, 1 error — for scheduled CI.

use super::common::{load, stored_state, CliError};
use super::planning::refresh_state;
use super::tagged::{self, Census, Tagged};
use super::{BlueprintArgs, StateArgs};
use crate::refresh::{render_drift, report_section, Drift};
use crate::state::State;
use clap::Args;
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    #[command(flatten)]
    pub state: StateArgs,
    /// Print the report as JSON (schema in the README).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: DriftArgs) -> Result<ExitCode, CliError> {
    let loaded = load(&args.blueprint)?;
    let state = stored_state(&args.state, &loaded.blueprint).await?;
    let drift: Vec<Drift> = if state.resources.is_empty() {
        Vec::new()
    } else {
        refresh_state(&loaded, &state).await?.drift
    };
    let census = tagged::census(&loaded, &state, &listings(&loaded, &state)).await;
    if !census.failed.is_empty() {
        return Err(CliError(format!(
            "listing by tag failed: {}",
            census.failed.join("; ")
        )));
    }
    let Census {
        untracked: unmanaged,
        others,
        ..
    } = census;
    if args.json {
        let report = json!({
            "format_version": 1,
            "blueprint": loaded.blueprint.name,
            "env": loaded.blueprint.env,
            "has_drift": !drift.is_empty() || !unmanaged.is_empty(),
            "resources": drift,
            "unmanaged": unmanaged,
            "other_states": others,
            "aws_calls": loaded.aws.calls(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_drift(&drift));
        print!(
            "{}",
            render_unmanaged(&unmanaged, &loaded.blueprint.name, &loaded.blueprint.env)
        );
        print!("{}", render_others(&others));
        if drift.is_empty() && unmanaged.is_empty() {
            println!(
                "No drift: AWS matches the state of {} env {}.",
                loaded.blueprint.name, loaded.blueprint.env
            );
        }
    }
    Ok(if drift.is_empty() && unmanaged.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Where to look for unmanaged resources: every kind in the caller's account, and in each
/// member account the kinds the state has there (member accounts hold workloads, and
/// some kinds, Organizations for one, cannot be listed from them at all).
fn listings(loaded: &super::common::Loaded, state: &State) -> Vec<(Option<String>, String)> {
    let mut wanted: std::collections::BTreeSet<(Option<String>, String)> = loaded
        .registry
        .names()
        .map(|name| (None, name.to_string()))
        .collect();
    for resource in state.resources.values() {
        if resource.account.is_some() && loaded.registry.get(&resource.kind).is_some() {
            wanted.insert((resource.account.clone(), resource.kind.clone()));
        }
    }
    wanted.into_iter().collect()
}

fn render_unmanaged(unmanaged: &[Tagged], blueprint: &str, env: &str) -> String {
    let heading = format!(
        "Not in state: {} resource(s) tagged innovate:blueprint={blueprint}, innovate:env={env}:",
        unmanaged.len()
    );
    let entry = |u: &Tagged| {
        let place = u
            .account
            .as_ref()
            .map(|a| format!(" (account {a})"))
            .unwrap_or_default();
        let at = u
            .address
            .as_ref()
            .map(|a| format!(" at {a}"))
            .unwrap_or_default();
        format!("  ? {} {}{at}{place}\n", u.kind, u.id)
    };
    let footer = "\nImport them with `innovate import`, or delete them if they are leftovers.\n\n";
    report_section(&heading, unmanaged, entry, footer)
}

/// Other states' resources of this blueprint and env: reported so nobody is surprised, but
/// not drift of this state (a second copy of the estate is allowed), so not exit code 2.
fn render_others(others: &[Tagged]) -> String {
    let heading = format!(
        "Owned by other states: {} resource(s) of this blueprint and env carry another state's lineage; this state never touches them:",
        others.len()
    );
    let entry = |other: &Tagged| format!("  = {}\n", other.describe());
    report_section(&heading, others, entry, "\n")
}
