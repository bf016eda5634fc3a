//! `innovate apply`: plan (or read a saved plan), confirm, execute, report.

use super::common::{
    confirm, load, load_state, lock, open_location, open_store, unlocking, CliError, Ui,
};
use super::planning::make_plan;
use super::ChangeArgs;
use crate::address::Address;
use crate::apply::{self, ApplyOptions, ApplyReport, OpKind, ProgressMode, INTERRUPTED_EXIT_CODE};
use crate::blueprint::template::contains_unknown;
use crate::blueprint::Blueprint;
use crate::kinds::Registry;
use crate::plan::{self, Plan, PlanFile};
use crate::refresh::render_drift;
use crate::state::{State, Store};
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A blueprint, or a plan saved with `innovate plan --out`.
    #[command(flatten)]
    pub change: ChangeArgs,
    /// Apply only these instances and what they depend on (repeatable).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<Address>,
    /// Read live AWS state first (--refresh=false to plan from the state file alone).
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub refresh: bool,
    /// Progress as JSON lines on stdout, one event per line (schema in the README); the plan
    /// and other text for people go to stderr.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ApplyArgs, ui: &Ui) -> Result<ExitCode, CliError> {
    if let Some(saved) = PlanFile::read(&args.change.blueprint.blueprint).map_err(CliError)? {
        return apply_saved(saved, &args, ui).await;
    }
    let loaded = load(&args.change.blueprint)?;
    let store = open_store(&args.change.state, &loaded.blueprint)?;
    let lock = lock(&store, "apply", &args.change.blueprint, &args.change.state).await?;
    unlocking(lock, async {
        let mut planned = make_plan(&loaded, &store, &args.targets, args.refresh, true).await?;
        eprint!("{}", render_drift(&planned.drift));
        execute(
            &planned.plan,
            &loaded.blueprint,
            &mut planned.state,
            &store,
            &loaded.registry,
            &args,
            ui,
            planned.stored.clone(),
        )
        .await
    })
    .await
}

async fn apply_saved(saved: PlanFile, args: &ApplyArgs, ui: &Ui) -> Result<ExitCode, CliError> {
    let location = args
        .change
        .state
        .path
        .clone()
        .unwrap_or_else(|| saved.state_path.clone());
    let store = open_location(Some(&location), &saved.blueprint)?;
    let lock = lock(&store, "apply", &args.change.blueprint, &args.change.state).await?;
    unlocking(lock, async {
        let (stored, exists) = load_state(&store, &saved.blueprint).await?;
        saved
            .check_state(exists.then_some(&stored))
            .map_err(CliError)?;
        // Start from the state the plan was computed against, refreshed or not.
        let stored = exists.then_some(stored);
        let mut state = saved
            .refreshed
            .clone()
            .or_else(|| stored.clone())
            .unwrap_or_else(|| State::new(&saved.blueprint.name, &saved.blueprint.env));
        let aws = crate::aws::AwsContext::new(saved.blueprint.region.clone());
        let registry = crate::aws::placing_registry(aws, &saved.blueprint.account_role);
        execute(
            &saved.plan,
            &saved.blueprint,
            &mut state,
            &store,
            &registry,
            args,
            ui,
            stored,
        )
        .await
    })
    .await
}

#[allow(clippy::too_many_arguments)] // the saved-plan and live paths share it
async fn execute(
    plan: &Plan,
    blueprint: &Blueprint,
    state: &mut State,
    store: &Store,
    registry: &Registry,
    args: &ApplyArgs,
    ui: &Ui,
    stored: Option<State>,
) -> Result<ExitCode, CliError> {
    show_plan(plan, ui, args.json);
    if !plan.has_changes() {
        // Refresh and crash recovery may have learned something worth keeping.
        save_final(blueprint, state, store, stored.as_ref()).await?;
        if args.json {
            apply::emit_summary(&ApplyReport::default(), "apply");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !confirm(
        "\nDo you want to perform these actions?",
        args.change.auto_approve,
    )? {
        return Err(CliError::new("apply cancelled; nothing was changed"));
    }
    let options = ApplyOptions {
        parallelism: args.change.parallelism,
        display: progress_mode(ui, args.json),
    };
    let report = apply::execute(plan, blueprint, state, store, registry, &options).await?;
    let saved = state.clone();
    save_final(blueprint, state, store, Some(&saved)).await?;
    finish(&report, "Apply", args.json)
}

/// The plan for people: on stdout, or on stderr when stdout carries JSON events.
pub fn show_plan(plan: &Plan, ui: &Ui, json: bool) {
    if json {
        eprint!("{}", plan::render_human(plan, false));
    } else {
        print!("{}", plan::render_human(plan, ui.color));
    }
}

pub fn progress_mode(ui: &Ui, json: bool) -> ProgressMode {
    match (json, ui.plain) {
        (true, _) => ProgressMode::Json,
        (false, true) => ProgressMode::Plain,
        (false, false) => ProgressMode::Auto,
    }
}

/// Records the blueprint's outputs once they are known, and saves the state if it differs
/// from what is stored (`stored`: the file's content, `None` when there is no file).
async fn save_final(
    blueprint: &Blueprint,
    state: &mut State,
    store: &Store,
    stored: Option<&State>,
) -> Result<(), CliError> {
    let outputs: std::collections::BTreeMap<_, _> = blueprint
        .resolve_outputs(&|a, attr| {
            state
                .read(a, attr)
                .unwrap_or(serde_json::Value::String(crate::blueprint::UNKNOWN.into()))
        })
        .into_iter()
        .filter(|(_, v)| !contains_unknown(v))
        .collect();
    if !state.resources.is_empty() {
        state.outputs = outputs;
    }
    let nothing_yet = stored.is_none() && state.resources.is_empty() && state.pending.is_empty();
    if stored != Some(&*state) && !nothing_yet {
        state.serial += 1;
        store.save(state).await?;
    }
    Ok(())
}

/// Prints the table of steps and the closing summary (with `json`, the `summary` event
/// instead); exit 1 naming every failure when anything failed.
pub fn finish(report: &ApplyReport, what: &str, json: bool) -> Result<ExitCode, CliError> {
    finish_keeping(report, what, json, 0)
}

/// As [`finish`], for a run that left `kept` protected resources alone on purpose: it
/// does not call itself complete (the caller reports them and exits 1).
pub fn finish_keeping(
    report: &ApplyReport,
    what: &str,
    json: bool,
    kept: usize,
) -> Result<ExitCode, CliError> {
    if json {
        apply::emit_summary(report, &what.to_lowercase());
    } else if !report.steps.is_empty() {
        print!("\n{}", apply::render_table(&report.steps));
    }
    let count = |kinds: &[OpKind]| {
        report
            .completed
            .iter()
            .filter(|(_, k, _)| kinds.contains(k))
            .count()
    };
    let (added, changed, destroyed) = (
        count(&[OpKind::Create]),
        count(&[OpKind::Update]),
        count(&[OpKind::Delete]),
    );
    if report.succeeded() {
        if json {
            return Ok(ExitCode::SUCCESS);
        }
        let outcome = match kept {
            0 => "complete!".to_string(),
            n => format!("finished, {n} protected resource(s) kept."),
        };
        println!("\n{what} {outcome} Resources: {added} added, {changed} changed, {destroyed} destroyed.");
        return Ok(ExitCode::SUCCESS);
    }
    if report.interrupted {
        eprintln!(
            "{}",
            interrupted_summary(report, what, (added, changed, destroyed))
        );
        return Ok(ExitCode::from(INTERRUPTED_EXIT_CODE));
    }
    let mut message = format!(
        "{what} failed: {} operation(s) failed, {} skipped; {added} added, {changed} changed, {destroyed} destroyed before that (all recorded in state).",
        report.failed.len(),
        report.skipped.len()
    );
    for (address, kind, err) in &report.failed {
        message.push_str(&format!("\n  {address}: {} failed: {err}", kind.verbs().0));
    }
    if !report.skipped.is_empty() {
        let skipped: Vec<String> = report.skipped.iter().map(|(a, _)| a.to_string()).collect();
        message.push_str(&format!(
            "\n  skipped because a dependency failed: {}",
            skipped.join(", ")
        ));
    }
    Err(CliError(message))
}

fn interrupted_summary(
    report: &ApplyReport,
    what: &str,
    (added, changed, destroyed): (usize, usize, usize),
) -> String {
    let mut message = format!(
        "{what} interrupted: {added} added, {changed} changed, {destroyed} destroyed (all recorded in state); the lock is released. Run it again to finish."
    );
    for (address, kind, err) in &report.failed {
        message.push_str(&format!("\n  {address}: {} failed: {err}", kind.verbs().0));
    }
    if !report.abandoned.is_empty() {
        let abandoned: Vec<String> = report
            .abandoned
            .iter()
            .map(|(a, k)| format!("{a} ({})", k.verbs().0))
            .collect();
        message.push_str(&format!(
            "\n  still in flight when the grace period ended, outcome unknown: {}",
            abandoned.join(", ")
        ));
    }
    message
}
