//! `innovate drift`: does AWS still match what innovate applied? Refresh only: never changes
//! anything in AWS or in the state file. Exit 0 no drift, 2 drift, 1 error — for scheduled CI.

use super::common::{load, load_state, open_store, CliError};
use super::planning::refresh_state;
use super::{BlueprintArgs, StateArgs};
use crate::kinds::Tags;
use crate::refresh::{render_drift, Drift};
use crate::state::State;
use clap::Args;
use futures::future::join_all;
use serde::Serialize;
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

/// A resource tagged for this blueprint and environment that the state does not know.
#[derive(Debug, Serialize)]
pub struct Unmanaged {
    pub kind: String,
    pub id: String,
    /// The member account it was found in (absent: the caller's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

pub async fn run(args: DriftArgs) -> Result<ExitCode, CliError> {
    let loaded = load(&args.blueprint)?;
    let store = open_store(&args.state, &loaded.blueprint)?;
    let (state, _) = load_state(&store, &loaded.blueprint).await?;
    let drift: Vec<Drift> = if state.resources.is_empty() {
        Vec::new()
    } else {
        refresh_state(&loaded, &state).await?.drift
    };
    let unmanaged = find_unmanaged(&loaded, &state).await?;
    if args.json {
        let report = json!({
            "format_version": 1,
            "blueprint": loaded.blueprint.name,
            "env": loaded.blueprint.env,
            "has_drift": !drift.is_empty() || !unmanaged.is_empty(),
            "resources": drift,
            "unmanaged": unmanaged,
            "aws_calls": loaded.aws.calls(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_drift(&drift));
        print!(
            "{}",
            render_unmanaged(&unmanaged, &loaded.blueprint.name, &loaded.blueprint.env)
        );
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

/// Resources carrying this estate's identity tags that the state has no record of, for
/// every kind that can be listed by tag, in every account the estate uses.
async fn find_unmanaged(
    loaded: &super::common::Loaded,
    state: &State,
) -> Result<Vec<Unmanaged>, CliError> {
    let tags: Tags = [
        (
            "innovate:blueprint".to_string(),
            loaded.blueprint.name.clone(),
        ),
        ("innovate:env".to_string(), loaded.blueprint.env.clone()),
    ]
    .into();
    let wanted = listings(loaded, state);
    let listed = join_all(wanted.iter().map(|(account, name)| {
        let tags = &tags;
        async move {
            let kind = loaded.registry.kind_in(account.as_deref(), name).await?;
            kind.list_tagged(tags).await
        }
    }))
    .await;
    let known: std::collections::HashSet<(Option<&str>, &str, &str)> = state
        .resources
        .values()
        .map(|r| (r.account.as_deref(), r.kind.as_str(), r.id.as_str()))
        .collect();
    let mut unmanaged = Vec::new();
    for ((account, name), listing) in wanted.iter().zip(listed) {
        let place = account
            .as_ref()
            .map(|a| format!(" in account {a}"))
            .unwrap_or_default();
        let found =
            listing.map_err(|e| CliError(format!("listing {name}{place} by tag failed: {e}")))?;
        for live in found.unwrap_or_default() {
            if !known.contains(&(account.as_deref(), name.as_str(), live.id.as_str())) {
                unmanaged.push(Unmanaged {
                    kind: name.to_string(),
                    id: live.id,
                    account: account.clone(),
                });
            }
        }
    }
    Ok(unmanaged)
}

fn render_unmanaged(unmanaged: &[Unmanaged], blueprint: &str, env: &str) -> String {
    if unmanaged.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "Not in state: {} resource(s) tagged innovate:blueprint={blueprint}, innovate:env={env}:\n\n",
        unmanaged.len()
    );
    for u in unmanaged {
        let place = u
            .account
            .as_ref()
            .map(|a| format!(" (account {a})"))
            .unwrap_or_default();
        out.push_str(&format!("  ? {} {}{place}\n", u.kind, u.id));
    }
    out.push_str("\nImport them with `innovate import`, or delete them if they are leftovers.\n\n");
    out
}
