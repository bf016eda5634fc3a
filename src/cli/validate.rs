//! `innovate validate`: parse, expand and check a blueprint without calling AWS.

use super::common::{load, CliError};
use super::BlueprintArgs;
use std::process::ExitCode;

pub async fn run(args: BlueprintArgs) -> Result<ExitCode, CliError> {
    let loaded = load(&args)?;
    let b = &loaded.blueprint;
    println!(
        "{} is valid: blueprint `{}`, env `{}`, {} resource instance{}.",
        args.blueprint.display(),
        b.name,
        b.env,
        b.instances.len(),
        if b.instances.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}
