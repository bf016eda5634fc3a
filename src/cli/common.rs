//! What the subcommands share: loading a blueprint with its registry, finding the state,
//! asking for confirmation, and the error type that main turns into exit code 1.

use super::{BlueprintArgs, StateArgs};
use crate::aws::{self, AwsContext};
use crate::blueprint::{self, Blueprint, LoadError, LoadOptions};
use crate::graph::Dag;
use crate::kinds::Registry;
use crate::state::{LocalStore, State};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// An error for the user: printed as is, exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

impl CliError {
    pub fn new(message: impl Into<String>) -> Self {
        CliError(message.into())
    }
}

macro_rules! impl_from_display {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self { CliError(e.to_string()) }
        }
    )*};
}
impl_from_display!(
    crate::state::StateError,
    crate::apply::ApplyError,
    std::io::Error,
    serde_json::Error
);

pub fn parse_var(text: &str) -> Result<(String, String), String> {
    let (k, v) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not K=V"))?;
    Ok((k.trim().to_string(), v.to_string()))
}

/// A blueprint loaded, validated and checked for cycles, with the registry that serves it.
pub struct Loaded {
    pub blueprint: Blueprint,
    pub dag: Dag,
    pub registry: Registry,
    /// The AWS clients behind `registry` (for counting calls).
    pub aws: std::sync::Arc<AwsContext>,
}

pub fn load(args: &BlueprintArgs) -> Result<Loaded, CliError> {
    let schemas = aws::registry(AwsContext::new(None));
    let options = LoadOptions {
        env: args.env.clone(),
        vars: args.vars.clone(),
    };
    let blueprint = blueprint::load(&args.blueprint, &options, &schemas).map_err(|e| match e {
        LoadError::Io(message) => CliError(message),
        LoadError::Invalid(errors) => CliError(errors.render()),
    })?;
    let dag = Dag::build(&blueprint).map_err(|diagnostics| {
        let source_text = std::fs::read_to_string(&args.blueprint).unwrap_or_default();
        let errors = blueprint::BlueprintErrors {
            file: args.blueprint.display().to_string(),
            source_text,
            diagnostics,
        };
        CliError(errors.render())
    })?;
    let aws = AwsContext::new(blueprint.region.clone());
    let registry = aws::registry(aws.clone());
    Ok(Loaded {
        blueprint,
        dag,
        registry,
        aws,
    })
}

/// `--state`, else the blueprint's `state: { path }`, else state/<blueprint>-<env>.json.
pub fn state_path(args: &StateArgs, blueprint: &Blueprint) -> PathBuf {
    args.path
        .clone()
        .or_else(|| blueprint.state_path.clone())
        .unwrap_or_else(|| {
            PathBuf::from("state").join(format!("{}-{}.json", blueprint.name, blueprint.env))
        })
}

/// The stored state, or a fresh one for this blueprint and environment.
pub fn load_state(store: &LocalStore, blueprint: &Blueprint) -> Result<(State, bool), CliError> {
    match store.load()? {
        Some(state) => {
            if state.blueprint != blueprint.name || state.env != blueprint.env {
                return Err(CliError(format!(
                    "state {} belongs to blueprint `{}` env `{}`, not `{}` env `{}`; pass the right --state or --env",
                    store.path().display(),
                    state.blueprint,
                    state.env,
                    blueprint.name,
                    blueprint.env
                )));
            }
            Ok((state, true))
        }
        None => Ok((State::new(&blueprint.name, &blueprint.env), false)),
    }
}

/// `lifecycle.prevent_destroy`: a plan that would delete or replace a protected instance
/// is an error, before anything is asked or changed.
pub fn refuse_protected(plan: &crate::plan::Plan, blueprint: &Blueprint) -> Result<(), CliError> {
    let refusals = crate::plan::protected_destroys(plan, blueprint);
    if refusals.is_empty() {
        return Ok(());
    }
    Err(CliError(refusals.join("\n")))
}

/// How output is shown.
pub struct Ui {
    pub color: bool,
    pub plain: bool,
}

impl Ui {
    pub fn new(no_color: bool) -> Ui {
        let no_color = no_color || std::env::var_os("NO_COLOR").is_some();
        Ui {
            color: !no_color && std::io::stdout().is_terminal(),
            plain: no_color,
        }
    }
}

/// Asks "yes?" on the terminal; refuses when there is no terminal to ask on.
pub fn confirm(question: &str, auto_approve: bool) -> Result<bool, CliError> {
    if auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            "this needs confirmation, but stdin is not a terminal: re-run with --auto-approve to proceed without asking",
        ));
    }
    eprint!("{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
