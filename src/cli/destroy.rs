//! `innovate destroy`: delete everything in the state, dependents first.

use super::apply::{finish_keeping, progress_mode, show_plan};
use super::common::{
    confirm, load, load_state, lock, open_store, refuse_protected, unlocking, CliError, Loaded, Ui,
};
use super::ChangeArgs;
use crate::apply::{self, ApplyOptions};
use crate::plan::{Plan, PlanOptions};
use crate::state::Store;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// Progress as JSON lines on stdout, one event per line (schema in the README); the plan
    /// and other text for people go to stderr.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: DestroyArgs, ui: &Ui) -> Result<ExitCode, CliError> {
    let loaded = load(&args.change.blueprint)?;
    let store = open_store(&args.change.state, &loaded.blueprint)?;
    let lock = lock(
        &store,
        "destroy",
        &args.change.blueprint,
        &args.change.state,
    )
    .await?;
    unlocking(lock, destroy(&loaded, &store, &args, ui)).await
}

async fn destroy(
    loaded: &Loaded,
    store: &Store,
    args: &DestroyArgs,
    ui: &Ui,
) -> Result<ExitCode, CliError> {
    let (mut state, _) = load_state(store, &loaded.blueprint).await?;
    let options = PlanOptions {
        targets: Vec::new(),
        destroy: true,
    };
    let plan = loaded.plan(&state, &options);
    refuse_protected(&plan, &loaded.blueprint)?;
    show_plan(&plan, ui, args.json);
    if !plan.has_changes() {
        if args.json {
            apply::emit_summary(&apply::ApplyReport::default(), "destroy");
        }
        return refuse_kept(&plan).map(|()| ExitCode::SUCCESS);
    }
    if !confirm(
        "\nDo you really want to destroy all resources in this state?",
        args.change.auto_approve,
    )? {
        return Err(CliError::new("destroy cancelled; nothing was changed"));
    }
    let options = ApplyOptions {
        parallelism: args.change.parallelism,
        display: progress_mode(ui, args.json),
    };
    let report = apply::execute(
        &plan,
        &loaded.blueprint,
        &mut state,
        store,
        &loaded.registry,
        &options,
    )
    .await?;
    if state.resources.is_empty() && !state.outputs.is_empty() {
        state.outputs.clear();
        state.serial += 1;
        store.save(&state).await?;
    }
    let code = finish_keeping(&report, "Destroy", args.json, plan.refused().count())?;
    refuse_kept(&plan).map(|()| code)
}

/// Destroy's answer when it kept protected resources (accounts never closed unless the
/// blueprint says so, databases with deletion protection): exit 1, naming each and how to let
/// it go.
fn refuse_kept(plan: &Plan) -> Result<(), CliError> {
    let kept: Vec<String> = plan
        .refused()
        .map(|s| {
            let account = s
                .account
                .as_deref()
                .map(|a| format!(" in account {a}"))
                .unwrap_or_default();
            format!(
                "  {} ({}{account}): {}",
                s.address,
                s.kind,
                s.refused.as_deref().unwrap_or("")
            )
        })
        .collect();
    if kept.is_empty() {
        return Ok(());
    }
    Err(CliError(format!(
        "destroy kept {} protected resource(s); everything else in the state is destroyed:\n{}\n\
         To delete one, lift its protection in the blueprint (an account: `close_on_deletion: true`, \
         and AWS keeps a closed account for 90 days; a database: `deletion_protection: false`), \
         run `innovate apply --target ADDR` to record it, then destroy again. \
         `innovate state rm ADDR` stops managing it instead.",
        kept.len(),
        kept.join("\n")
    )))
}
