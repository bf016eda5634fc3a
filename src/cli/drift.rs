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

/// Resources carrying this estate's identity tags that the state has no record of, for
/// every kind that can be listed by tag.
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
    let kinds: Vec<_> = loaded
        .registry
        .names()
        .filter_map(|name| loaded.registry.get(name).map(|k| (name, k.clone())))
        .collect();
    let listings = join_all(kinds.iter().map(|(name, kind)| {
        let tags = &tags;
        async move { (*name, kind.list_tagged(tags).await) }
    }))
    .await;
    let known: std::collections::HashSet<(&str, &str)> = state
        .resources
        .values()
        .map(|r| (r.kind.as_str(), r.id.as_str()))
        .collect();
    let mut unmanaged = Vec::new();
    for (name, listing) in listings {
        let found = listing.map_err(|e| CliError(format!("listing {name} by tag failed: {e}")))?;
        for live in found.unwrap_or_default() {
            if !known.contains(&(name, live.id.as_str())) {
                unmanaged.push(Unmanaged {
                    kind: name.to_string(),
                    id: live.id,
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
        out.push_str(&format!("  ? {} {}\n", u.kind, u.id));
    }
    out.push_str("\nImport them with `innovate import`, or delete them if they are leftovers.\n\n");
    out
}
