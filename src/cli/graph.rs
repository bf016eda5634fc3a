//! `innovate graph`: the dependency graph as DOT (default) or Mermaid, on stdout.

use super::common::{load, CliError};
use super::BlueprintArgs;
use crate::graph::{to_dot, to_mermaid};
use clap::{Args, ValueEnum};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    #[arg(long, value_enum, default_value = "dot")]
    pub format: Format,
}

pub async fn run(args: GraphArgs) -> Result<ExitCode, CliError> {
    let loaded = load(&args.blueprint)?;
    let kinds = loaded
        .blueprint
        .instances
        .iter()
        .map(|i| (i.address.clone(), i.kind.clone()))
        .collect();
    let text = match args.format {
        Format::Dot => to_dot(&loaded.dag, &loaded.blueprint.name, &kinds),
        Format::Mermaid => to_mermaid(&loaded.dag, &kinds),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
