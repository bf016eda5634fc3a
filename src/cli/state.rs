//! `innovate state ...`: inspect and edit the state (list, show, rm, mv).

use super::common::{load, load_state, lock, open_store, stored_state, unlocking, CliError};
use super::{BlueprintArgs, StateArgs};
use crate::address::Address;
use crate::state::State;
use clap::{Args, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// One address per line.
    #[command(after_help = super::examples::STATE_LIST)]
    List(Target),
    /// One resource as recorded: kind, id, attributes, outputs, dependencies (JSON).
    #[command(after_help = super::examples::STATE_SHOW)]
    Show {
        #[command(flatten)]
        target: Target,
        address: Address,
    },
    /// Forget resources without touching AWS (they keep existing there).
    #[command(after_help = super::examples::STATE_RM)]
    Rm {
        #[command(flatten)]
        target: Target,
        #[arg(required = true)]
        addresses: Vec<Address>,
    },
    /// Rename a resource in the state (after renaming it in the blueprint), so it is not
    /// destroyed and created again.
    #[command(after_help = super::examples::STATE_MV)]
    Mv {
        #[command(flatten)]
        target: Target,
        from: Address,
        to: Address,
    },
}

/// Which state: the blueprint (for its name and environment) and `--state`.
#[derive(Debug, Args)]
pub struct Target {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    #[command(flatten)]
    pub state: StateArgs,
}

pub async fn run(command: StateCommand) -> Result<ExitCode, CliError> {
    match command {
        StateCommand::List(target) => {
            let state = open(&target).await?;
            for address in state.resources.keys() {
                println!("{address}");
            }
        }
        StateCommand::Show { target, address } => {
            let state = open(&target).await?;
            let resource = state
                .resources
                .get(&address)
                .ok_or_else(|| not_found(&address))?;
            println!("{}", serde_json::to_string_pretty(resource)?);
        }
        StateCommand::Rm { target, addresses } => {
            edit(&target, "state rm", |state| {
                for address in &addresses {
                    state
                        .resources
                        .remove(address)
                        .ok_or_else(|| not_found(address))?;
                    println!("Removed {address} from the state (it still exists in AWS).");
                }
                Ok(())
            })
            .await?;
        }
        StateCommand::Mv { target, from, to } => {
            edit(&target, "state mv", |state| {
                rename(state, &from, &to)?;
                println!("Moved {from} to {to}.");
                Ok(())
            })
            .await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn open(target: &Target) -> Result<State, CliError> {
    let loaded = load(&target.blueprint)?;
    stored_state(&target.state, &loaded.blueprint).await
}

/// Changes the state under its lock, saving once at the end (nothing on error).
async fn edit(
    target: &Target,
    operation: &str,
    change: impl FnOnce(&mut State) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let loaded = load(&target.blueprint)?;
    let store = open_store(&target.state, &loaded.blueprint)?;
    let lock = lock(&store, operation, &target.blueprint, &target.state).await?;
    unlocking(lock, async {
        let (mut state, _) = load_state(&store, &loaded.blueprint).await?;
        change(&mut state)?;
        state.serial += 1;
        store.save(&state).await?;
        Ok(())
    })
    .await
}

/// Moves `from` to `to`, and every recorded dependency on it.
pub fn rename(state: &mut State, from: &Address, to: &Address) -> Result<(), CliError> {
    if state.resources.contains_key(to) {
        return Err(CliError(format!(
            "{to} already exists in the state; remove it first"
        )));
    }
    let resource = state
        .resources
        .remove(from)
        .ok_or_else(|| not_found(from))?;
    state.resources.insert(to.clone(), resource);
    for other in state.resources.values_mut() {
        for dependency in other.depends_on.iter_mut().filter(|d| *d == from) {
            *dependency = to.clone();
        }
    }
    Ok(())
}

fn not_found(address: &Address) -> CliError {
    CliError(format!(
        "{address} is not in the state (see `innovate state list`)"
    ))
}
