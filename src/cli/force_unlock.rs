//! `innovate force-unlock BLUEPRINT LOCK_ID`: remove the lock that a run which is gone (killed,
//! crashed, its machine lost) left on a remote state. Only the lock with that id is removed;
//! local locks die with their process and are never forced.

use super::common::{load, open_location, open_store, CliError};
use super::{BlueprintArgs, StateArgs};
use crate::plan::PlanFile;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The blueprint (or a plan saved with `innovate plan --out`) whose state is locked.
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    /// The lock's id, as the refused run printed it ("lock id ...").
    pub lock_id: String,
    #[command(flatten)]
    pub state: StateArgs,
}

pub async fn run(args: ForceUnlockArgs) -> Result<ExitCode, CliError> {
    let store = match PlanFile::read(&args.blueprint.blueprint).map_err(CliError)? {
        Some(saved) => {
            let location = args.state.path.as_deref().unwrap_or(&saved.state_path);
            open_location(Some(location), &saved.blueprint)?
        }
        None => {
            let loaded = load(&args.blueprint)?;
            open_store(&args.state, &loaded.blueprint)?
        }
    };
    let info = store.force_unlock(&args.lock_id).await?;
    println!(
        "Removed lock {} of state {} (held by {}, pid {}, {}, since {}).",
        info.id,
        store.describe(),
        info.who,
        info.pid,
        info.operation,
        info.since
    );
    Ok(ExitCode::SUCCESS)
}
