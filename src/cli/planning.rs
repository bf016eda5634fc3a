//! The step plan and apply share: load the state, refresh it from AWS (unless told not to),
//! and plan against what AWS really has.

use super::common::{load_state, refuse_protected, CliError, Loaded};
use crate::address::Address;
use crate::plan::{self, Plan, PlanOptions};
use crate::refresh::{self, Drift};
use crate::state::{LocalStore, State};

pub struct Planned {
    /// The state file as stored (`None` when there is none yet).
    pub stored: Option<State>,
    /// The state the plan was computed against: the stored one, refreshed from AWS.
    pub state: State,
    pub drift: Vec<Drift>,
    pub plan: Plan,
    pub refreshed: bool,
}

pub async fn make_plan(
    loaded: &Loaded,
    store: &LocalStore,
    targets: &[Address],
    refresh: bool,
) -> Result<Planned, CliError> {
    let (stored, exists) = load_state(store, &loaded.blueprint)?;
    check_targets(targets, loaded, &stored)?;
    let (state, drift) = if refresh && !stored.resources.is_empty() {
        let refreshed = refresh_state(loaded, &stored).await?;
        (refreshed.state, refreshed.drift)
    } else {
        (stored.clone(), Vec::new())
    };
    let options = PlanOptions {
        targets: targets.to_vec(),
        destroy: false,
    };
    let plan = plan::plan(
        &loaded.blueprint,
        &loaded.dag,
        &state,
        &loaded.registry,
        &options,
    );
    refuse_protected(&plan, &loaded.blueprint)?;
    Ok(Planned {
        stored: exists.then_some(stored),
        state,
        drift,
        plan,
        refreshed: refresh,
    })
}

/// Refreshes `state`, logging (with -v) how many AWS calls it took.
pub async fn refresh_state(loaded: &Loaded, state: &State) -> Result<refresh::Refreshed, CliError> {
    let before = loaded.aws.calls();
    let refreshed = refresh::refresh(state, &loaded.registry)
        .await
        .map_err(|e| CliError(e.to_string()))?;
    let kinds: std::collections::BTreeSet<&str> =
        state.resources.values().map(|r| r.kind.as_str()).collect();
    tracing::info!(
        "refresh read {} resource(s) of {} kind(s) with {} AWS call(s)",
        state.resources.len(),
        kinds.len(),
        loaded.aws.calls() - before
    );
    Ok(refreshed)
}

/// A `--target` must name something the blueprint or the state knows.
fn check_targets(targets: &[Address], loaded: &Loaded, state: &State) -> Result<(), CliError> {
    for target in targets {
        let known = loaded
            .blueprint
            .instances
            .iter()
            .any(|i| target.selects(&i.address))
            || state.resources.keys().any(|a| target.selects(a));
        if !known {
            return Err(CliError(format!(
                "--target {target}: no such resource instance in the blueprint or the state"
            )));
        }
    }
    Ok(())
}
