//! `innovate cost`: the monthly estimate of one environment, offline (no AWS call).

use super::common::{load, CliError};
use super::BlueprintArgs;
use crate::cost;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CostArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    /// Print the estimate as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: CostArgs) -> Result<ExitCode, CliError> {
    let loaded = load(&args.blueprint)?;
    let b = &loaded.blueprint;
    let estimate = cost::of_blueprint(b, &loaded.registry);
    if args.json {
        let json = cost::to_json(&estimate, &b.name, &b.env);
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!(
            "{}",
            cost::render_human(&estimate, &b.name, &b.env, b.region.as_deref())
        );
    }
    Ok(ExitCode::SUCCESS)
}
