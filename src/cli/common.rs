//! What the subcommands share: loading a blueprint with its registry, finding the state,
//! asking for confirmation, and the error type that main turns into exit code 1.

use super::{BlueprintArgs, StateArgs};
use crate::aws::{self, AwsContext};
use crate::blueprint::{self, Blueprint, LoadError, LoadOptions};
use crate::graph::Dag;
use crate::kinds::Registry;
use crate::plan::{self, Plan, PlanOptions};
use crate::state::{LocalStore, Lock, RemoteStore, S3Location, State, Store};
use std::future::Future;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

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

impl Loaded {
    /// The plan of this blueprint against `state`.
    pub fn plan(&self, state: &State, options: &PlanOptions) -> Plan {
        plan::plan(&self.blueprint, &self.dag, state, &self.registry, options)
    }
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
    let registry = aws::placing_registry(aws.clone(), &blueprint.account_role);
    Ok(Loaded {
        blueprint,
        dag,
        registry,
        aws,
    })
}

/// The state store: `--state` (a path, or `s3://BUCKET/KEY[?region=REGION]`), else the
/// blueprint's `state:` section, else the file state/<blueprint>-<env>.json.
pub fn open_store(args: &StateArgs, blueprint: &Blueprint) -> Result<Store, CliError> {
    open_location(args.path.as_deref(), blueprint)
}

/// The store at `location` (a `--state` value or a saved plan's), else the blueprint's.
pub fn open_location(location: Option<&Path>, blueprint: &Blueprint) -> Result<Store, CliError> {
    if let Some(path) = location {
        return match S3Location::parse_url(&path.to_string_lossy()).map_err(CliError)? {
            Some(s3) => Ok(remote_store(s3, blueprint)),
            None => Ok(Store::Local(LocalStore::new(path))),
        };
    }
    if let Some(s3) = &blueprint.state_s3 {
        return Ok(remote_store(s3.clone(), blueprint));
    }
    let path = blueprint.state_path.clone().unwrap_or_else(|| {
        PathBuf::from("state").join(format!("{}-{}.json", blueprint.name, blueprint.env))
    });
    Ok(Store::Local(LocalStore::new(path)))
}

/// S3 in the location's region, else the blueprint's, else the SDK's region chain; its own
/// clients, so that refresh's call counts stay those of the estate.
fn remote_store(location: S3Location, blueprint: &Blueprint) -> Store {
    let region = location.region.clone().or_else(|| blueprint.region.clone());
    let objects = aws::s3_state::S3Objects::new(AwsContext::new(region), &location.bucket);
    Store::Remote(RemoteStore::new(std::sync::Arc::new(objects), location))
}

/// The stored state, or a fresh one for this blueprint and environment.
pub async fn load_state(store: &Store, blueprint: &Blueprint) -> Result<(State, bool), CliError> {
    match store.load().await? {
        Some(state) => {
            if state.blueprint != blueprint.name || state.env != blueprint.env {
                return Err(CliError(format!(
                    "state {} belongs to blueprint `{}` env `{}`, not `{}` env `{}`; pass the right --state or --env",
                    store.describe(),
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

/// The state as stored (a fresh one when there is none yet), for commands that only read it.
pub async fn stored_state(args: &StateArgs, blueprint: &Blueprint) -> Result<State, CliError> {
    let store = open_store(args, blueprint)?;
    Ok(load_state(&store, blueprint).await?.0)
}

/// Takes the state lock for `operation`; a refusal names the holder and, for a remote
/// state, the `innovate force-unlock` command that removes the lock if its run is gone.
pub async fn lock(
    store: &Store,
    operation: &str,
    blueprint: &BlueprintArgs,
    state: &StateArgs,
) -> Result<Lock, CliError> {
    Ok(store
        .lock(operation, &force_unlock_command(blueprint, state))
        .await?)
}

/// `innovate force-unlock BLUEPRINT [--env E] [--state S]`, to which the lock id is added.
pub fn force_unlock_command(blueprint: &BlueprintArgs, state: &StateArgs) -> String {
    let quote = |text: String| {
        if text.contains(|c: char| c.is_whitespace() || "'\"$`\\&|;<>()*?".contains(c)) {
            format!("'{}'", text.replace('\'', "'\\''"))
        } else {
            text
        }
    };
    let mut command = format!(
        "innovate force-unlock {}",
        quote(blueprint.blueprint.display().to_string())
    );
    if let Some(env) = &blueprint.env {
        command.push_str(&format!(" --env {}", quote(env.clone())));
    }
    if let Some(path) = &state.path {
        command.push_str(&format!(" --state {}", quote(path.display().to_string())));
    }
    command
}

/// Runs `work` under `lock` and releases the lock whatever the outcome (a remote lock is an
/// S3 object that only an explicit delete removes). A failed release after a successful run
/// is reported as a warning: the work itself is done.
pub async fn unlocking<T>(
    lock: Lock,
    work: impl Future<Output = Result<T, CliError>>,
) -> Result<T, CliError> {
    let result = work.await;
    match (result, lock.release().await) {
        (result, Ok(())) => result,
        (Ok(value), Err(release)) => {
            eprintln!("warning: {release}");
            Ok(value)
        }
        (Err(err), Err(release)) => Err(CliError(format!("{err}\n{release}"))),
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
