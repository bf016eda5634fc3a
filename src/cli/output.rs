//! `innovate output`: the blueprint's outputs, read from the state.

use super::common::{load, stored_state, CliError};
use super::{BlueprintArgs, StateArgs};
use crate::blueprint::template::contains_unknown;
use crate::blueprint::UNKNOWN;
use clap::Args;
use serde_json::Value;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct OutputArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    /// Print only this output (strings without quotes).
    pub name: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: OutputArgs) -> Result<ExitCode, CliError> {
    let loaded = load(&args.blueprint)?;
    let state = stored_state(&args.state, &loaded.blueprint).await?;
    let outputs = loaded
        .blueprint
        .resolve_outputs(&|a, attr| state.read(a, attr).unwrap_or(Value::String(UNKNOWN.into())));
    let known: serde_json::Map<String, Value> = outputs
        .into_iter()
        .filter(|(_, v)| !contains_unknown(v))
        .collect();
    match &args.name {
        Some(name) => {
            let value = known.get(name).ok_or_else(|| {
                let declared = loaded.blueprint.outputs.iter().any(|(n, _)| n == name);
                CliError(if declared {
                    format!("output `{name}` is not known yet: apply the blueprint first")
                } else {
                    format!("the blueprint has no output `{name}`")
                })
            })?;
            match (value, args.json) {
                (Value::String(s), false) => println!("{s}"),
                (other, _) => println!("{}", serde_json::to_string_pretty(other)?),
            }
        }
        None if args.json => println!("{}", serde_json::to_string_pretty(&known)?),
        None => {
            for (name, value) in &known {
                println!("{name} = {value}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
