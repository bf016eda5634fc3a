//! `innovate destroy`: delete everything in the state, dependents first.

use super::apply::finish;
use super::common::{
    confirm, load, load_state, lock, open_store, refuse_protected, unlocking, CliError, Loaded, Ui,
};
use super::{BlueprintArgs, StateArgs};
use crate::apply::{self, ApplyOptions, DEFAULT_PARALLELISM};
use crate::plan::{self, PlanOptions};
use crate::state::Store;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    #[command(flatten)]
    pub state: StateArgs,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// How many operations may run at once.
    #[arg(long, default_value_t = DEFAULT_PARALLELISM)]
    pub parallelism: usize,
}

pub async fn run(args: DestroyArgs, ui: &Ui) -> Result<ExitCode, CliError> {
    let loaded = load(&args.blueprint)?;
    let store = open_store(&args.state, &loaded.blueprint)?;
    let lock = lock(&store, "destroy", &args.blueprint, &args.state).await?;
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
    let plan = plan::plan(
        &loaded.blueprint,
        &loaded.dag,
        &state,
        &loaded.registry,
        &options,
    );
    refuse_protected(&plan, loaded, &state)?;
    print!("{}", plan::render_human(&plan, ui.color));
    if !plan.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    if !confirm(
        "\nDo you really want to destroy all resources in this state?",
        args.auto_approve,
    )? {
        return Err(CliError::new("destroy cancelled; nothing was changed"));
    }
    let options = ApplyOptions {
        parallelism: args.parallelism,
        plain: ui.plain,
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
    finish(&report, "Destroy")
}
