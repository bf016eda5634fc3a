//! `innovate plan`: what apply would change, for people (default) or machines (--json);
//! `--out` saves it for `innovate apply FILE`.

use super::common::{load, open_store, CliError, Loaded, Ui};
use super::planning::make_plan;
use super::{BlueprintArgs, StateArgs};
use crate::address::Address;
use crate::check::{self, Severity, Source};
use crate::cost;
use crate::plan::{self, PlanFile};
use crate::refresh::render_drift;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    #[command(flatten)]
    pub state: StateArgs,
    /// Save the plan for `innovate apply FILE`.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON (schema in the README).
    #[arg(long)]
    pub json: bool,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Read live AWS state first (--refresh=false to plan from the state file alone).
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub refresh: bool,
    /// Plan only these instances and what they depend on (repeatable).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<Address>,
}

pub async fn run(args: PlanArgs, ui: &Ui) -> Result<ExitCode, CliError> {
    let loaded = load(&args.blueprint)?;
    let store = open_store(&args.state, &loaded.blueprint)?;
    let planned = make_plan(&loaded, &store, &args.targets, args.refresh, false).await?;
    let (name, env) = (&loaded.blueprint.name, &loaded.blueprint.env);
    let cost = cost::plan_delta(&planned.plan, &planned.state, &loaded.registry);
    let warnings = CheckWarnings::of(&args.blueprint, &loaded);
    if args.json {
        let mut json = plan::to_json(&planned.plan, name, env);
        json["cost"] = cost.to_json();
        json["drift"] = serde_json::to_value(&planned.drift)?;
        json["recovered"] = serde_json::to_value(&planned.recovered)?;
        json["other_states"] = serde_json::to_value(&planned.others)?;
        json["warnings"] = serde_json::Value::Array(warnings.json);
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!(
            "{}{}",
            render_drift(&planned.drift),
            plan::render_human(&planned.plan, ui.color)
        );
        if planned.plan.has_changes() {
            println!("{}", cost.line());
        }
        for line in &warnings.lines {
            println!("{line}");
        }
    }
    let has_changes = planned.plan.has_changes();
    if let Some(out) = &args.out {
        let refreshed = planned.refreshed.then(|| planned.state.clone());
        PlanFile::new(
            loaded.blueprint,
            store.location(),
            planned.stored.as_ref(),
            refreshed,
            false,
            planned.plan,
        )
        .save(out)?;
        if !args.json {
            println!(
                "\nSaved the plan to {}. Apply exactly this plan with: innovate apply {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && has_changes {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `innovate check`'s findings at or above high, which plan shows as warnings: they never
/// change plan's exit code, and suppressions in the blueprint hold as they do for check.
struct CheckWarnings {
    lines: Vec<String>,
    json: Vec<serde_json::Value>,
}

impl CheckWarnings {
    const THRESHOLD: Severity = Severity::High;

    fn of(args: &BlueprintArgs, loaded: &Loaded) -> CheckWarnings {
        // The blueprint loaded a moment ago; were it gone now, a plan still beats a warning.
        let text = std::fs::read_to_string(&args.blueprint).unwrap_or_default();
        let report = check::check(&loaded.blueprint, &loaded.registry, &text);
        let file = args.blueprint.display().to_string();
        let source = Source {
            file: &file,
            text: &text,
            env: &loaded.blueprint.env,
        };
        CheckWarnings {
            lines: check::warning_lines(&report, Self::THRESHOLD, &source),
            json: check::findings_json(&report, Self::THRESHOLD, &source),
        }
    }
}
