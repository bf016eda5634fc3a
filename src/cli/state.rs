//! `innovate state ...`: inspect the state.

use super::common::{load, load_state, state_path, CliError};
use super::{BlueprintArgs, StateArgs};
use crate::state::LocalStore;
use clap::{Args, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// One address per line.
    List(StateListArgs),
}

#[derive(Debug, Args)]
pub struct StateListArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    #[command(flatten)]
    pub state: StateArgs,
}

pub async fn run(command: StateCommand) -> Result<ExitCode, CliError> {
    match command {
        StateCommand::List(args) => {
            let loaded = load(&args.blueprint)?;
            let store = LocalStore::new(state_path(&args.state, &loaded.blueprint));
            let (state, _) = load_state(&store, &loaded.blueprint)?;
            for address in state.resources.keys() {
                println!("{address}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
