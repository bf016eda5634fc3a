//! The command line: clap definitions, and one file per subcommand that turns flags into
//! calls into the engine. Returns the process exit code; errors become exit 1 in main.

mod apply;
mod check;
mod common;
mod cost;
mod destroy;
mod drift;
mod force_unlock;
mod graph;
mod import;
mod output;
mod plan;
mod planning;
mod state;
mod validate;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub use common::CliError;

/// innovate: plan and apply AWS estates from a YAML blueprint.
#[derive(Debug, Parser)]
#[command(name = "innovate", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More logs on stderr (-v: info, -vv: debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// No colours and no live progress display.
    #[arg(long, global = true)]
    pub no_color: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a blueprint offline; exit 1 on any error.
    Validate(BlueprintArgs),
    /// Show what apply would change.
    Plan(plan::PlanArgs),
    /// Create, update and delete resources to match the blueprint (or a saved plan).
    Apply(apply::ApplyArgs),
    /// Delete every resource in the state.
    Destroy(destroy::DestroyArgs),
    /// Report what changed in AWS outside innovate; exit 2 when anything did (for scheduled CI).
    Drift(drift::DriftArgs),
    /// Adopt an existing AWS resource into the state at a blueprint address.
    Import(import::ImportArgs),
    /// Estimate the monthly cost of an environment, offline, from an embedded price table.
    Cost(cost::CostArgs),
    /// Security and reliability rules, offline; exit 2 on findings at or above --severity.
    Check(check::CheckArgs),
    /// Print the dependency graph (DOT by default).
    Graph(graph::GraphArgs),
    /// Print the blueprint's outputs from the state.
    Output(output::OutputArgs),
    /// Inspect the state.
    #[command(subcommand)]
    State(state::StateCommand),
    /// Remove the lock a run that is gone left on a remote (S3) state: only the lock with this id.
    ForceUnlock(force_unlock::ForceUnlockArgs),
}

/// The blueprint and what selects its environment.
#[derive(Debug, Clone, Args)]
pub struct BlueprintArgs {
    /// The blueprint file (YAML).
    pub blueprint: PathBuf,
    /// Environment to use (a key of `environments:`).
    #[arg(long)]
    pub env: Option<String>,
    /// Set a variable: --var nat_gateways=3 (repeatable).
    #[arg(long = "var", value_name = "K=V", value_parser = common::parse_var)]
    pub vars: Vec<(String, String)>,
}

/// Where the state lives.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// State file, or remote state s3://BUCKET/KEY[?region=REGION] (default: the blueprint's
    /// `state:` section, else state/<blueprint>-<env>.json).
    #[arg(long = "state", value_name = "PATH|S3_URL")]
    pub path: Option<PathBuf>,
}

pub async fn run(cli: Cli) -> Result<std::process::ExitCode, CliError> {
    let ui = common::Ui::new(cli.no_color);
    match cli.command {
        Command::Validate(args) => validate::run(args).await,
        Command::Plan(args) => plan::run(args, &ui).await,
        Command::Apply(args) => apply::run(args, &ui).await,
        Command::Destroy(args) => destroy::run(args, &ui).await,
        Command::Drift(args) => drift::run(args).await,
        Command::Import(args) => import::run(args).await,
        Command::Graph(args) => graph::run(args).await,
        Command::Cost(args) => cost::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Output(args) => output::run(args).await,
        Command::State(command) => state::run(command).await,
        Command::ForceUnlock(args) => force_unlock::run(args).await,
    }
}
