//! The command line: clap definitions, and one file per subcommand that turns flags into
//! calls into the engine. Returns the process exit code; errors become exit 1 in main.

mod apply;
mod check;
mod common;
mod cost;
mod destroy;
mod drift;
mod examples;
mod force_unlock;
mod graph;
mod import;
mod output;
mod plan;
mod planning;
mod state;
mod tagged;
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
    #[command(after_help = examples::VALIDATE)]
    Validate(BlueprintArgs),
    /// Show what apply would change.
    #[command(after_help = examples::PLAN)]
    Plan(plan::PlanArgs),
    /// Create, update and delete resources to match the blueprint (or a saved plan).
    #[command(after_help = examples::APPLY)]
    Apply(apply::ApplyArgs),
    /// Delete every resource in the state.
    #[command(after_help = examples::DESTROY)]
    Destroy(destroy::DestroyArgs),
    /// Report what changed in AWS outside innovate; exit 2 when anything did (for scheduled CI).
    #[command(after_help = examples::DRIFT)]
    Drift(drift::DriftArgs),
    /// Adopt an existing AWS resource into the state at a blueprint address.
    #[command(after_help = examples::IMPORT)]
    Import(import::ImportArgs),
    /// Estimate the monthly cost of an environment, offline, from an embedded price table.
    #[command(after_help = examples::COST)]
    Cost(cost::CostArgs),
    /// Security and reliability rules, offline; exit 2 on findings at or above --severity.
    #[command(after_help = examples::CHECK)]
    Check(check::CheckArgs),
    /// Print the dependency graph (DOT by default).
    #[command(after_help = examples::GRAPH)]
    Graph(graph::GraphArgs),
    /// Print the blueprint's outputs from the state.
    #[command(after_help = examples::OUTPUT)]
    Output(output::OutputArgs),
    /// Inspect the state.
    #[command(subcommand, after_help = examples::STATE)]
    State(state::StateCommand),
    /// Remove the lock a run that is gone left on a remote (S3) state: only the lock with this id.
    #[command(after_help = examples::FORCE_UNLOCK)]
    ForceUnlock(force_unlock::ForceUnlockArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    #[command(after_help = examples::COMPLETIONS)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
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

/// What the commands that change AWS (apply, destroy) take first: the blueprint, its state,
/// and how the change is confirmed and run.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    #[command(flatten)]
    pub state: StateArgs,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// How many operations may run at once.
    #[arg(long, default_value_t = crate::apply::DEFAULT_PARALLELISM)]
    pub parallelism: usize,
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
        Command::Completions { shell } => Ok(completions(shell)),
    }
}

fn completions(shell: clap_complete::Shell) -> std::process::ExitCode {
    use clap::CommandFactory;
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "innovate",
        &mut std::io::stdout(),
    );
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command at every depth, with its path ("state rm").
    fn commands(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in command.get_subcommands() {
            let name = format!("{path} {}", sub.get_name()).trim().to_string();
            out.push((name.clone(), sub.clone()));
            commands(sub, &name, out);
        }
    }

    #[test]
    fn every_command_help_ends_with_examples_of_itself() {
        let mut all = Vec::new();
        commands(&Cli::command(), "", &mut all);
        assert!(all.len() > 15, "{}", all.len());
        for (name, mut command) in all {
            let help = command.render_long_help().to_string();
            let examples = help
                .split_once("Examples:\n")
                .unwrap_or_else(|| panic!("`innovate {name} --help` has no Examples: {help}"))
                .1;
            assert!(
                examples.contains(&format!("innovate {name} ")),
                "`innovate {name}` examples do not use it: {examples}"
            );
        }
    }
}
