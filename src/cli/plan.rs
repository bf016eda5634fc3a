//! `innovate plan`: what apply would change, for people (default) or machines (--json);
//! `--out` saves it for `innovate apply FILE`.

use super::common::{load, load_state, refuse_protected, state_path, CliError, Ui};
use super::{BlueprintArgs, StateArgs};
use crate::address::Address;
use crate::plan::{self, PlanFile, PlanOptions};
use crate::state::LocalStore;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    #[command(flatten)]
    pub state: StateArgs,
    /// Save the plan for `innovate apply FILE`.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON (schema in the README).
    #[arg(long)]
    pub json: bool,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Read live AWS state first (--refresh=false to plan from the state file alone).
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub refresh: bool,
    /// Plan only these instances and what they depend on (repeatable).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<Address>,
}

pub async fn run(args: PlanArgs, ui: &Ui) -> Result<ExitCode, CliError> {
    let loaded = load(&args.blueprint)?;
    let path = state_path(&args.state, &loaded.blueprint);
    let store = LocalStore::new(&path);
    let (state, exists) = load_state(&store, &loaded.blueprint)?;
    let options = PlanOptions {
        targets: args.targets.clone(),
        destroy: false,
    };
    check_targets(&args.targets, &loaded.blueprint, &state)?;
    let plan = plan::plan(
        &loaded.blueprint,
        &loaded.dag,
        &state,
        &loaded.registry,
        &options,
    );
    refuse_protected(&plan, &loaded.blueprint)?;

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan::to_json(
                &plan,
                &loaded.blueprint.name,
                &loaded.blueprint.env
            ))?
        );
    } else {
        print!("{}", plan::render_human(&plan, ui.color));
    }
    if let Some(out) = &args.out {
        let has_changes = plan.has_changes();
        PlanFile::new(
            loaded.blueprint,
            path,
            exists.then_some(&state),
            false,
            plan,
        )
        .save(out)?;
        if !args.json {
            println!(
                "\nSaved the plan to {}. Apply exactly this plan with: innovate apply {}",
                out.display(),
                out.display()
            );
        }
        return Ok(exit_code(args.detailed_exitcode, has_changes));
    }
    Ok(exit_code(args.detailed_exitcode, plan.has_changes()))
}

fn exit_code(detailed: bool, has_changes: bool) -> ExitCode {
    if detailed && has_changes {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// A `--target` must name something the blueprint or the state knows.
pub fn check_targets(
    targets: &[Address],
    blueprint: &crate::blueprint::Blueprint,
    state: &crate::state::State,
) -> Result<(), CliError> {
    for target in targets {
        let known = blueprint
            .instances
            .iter()
            .any(|i| target.selects(&i.address))
            || state.resources.keys().any(|a| target.selects(a));
        if !known {
            return Err(CliError(format!(
                "--target {target}: no such resource instance in the blueprint or the state"
            )));
        }
    }
    Ok(())
}
