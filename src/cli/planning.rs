//! The step plan and apply share: load the state, refresh it from AWS (unless told not to),
//! and plan against what AWS really has.

use super::common::{load_state, refuse_protected, CliError, Loaded};
use super::tagged::{self, Tagged};
use crate::address::Address;
use crate::kinds::{BLUEPRINT_TAG, ENV_TAG};
use crate::plan::{Plan, PlanOptions};
use crate::refresh::{self, Drift, Recovered};
use crate::state::{State, Store};

pub struct Planned {
    /// The state file as stored (`None` when there is none yet).
    pub stored: Option<State>,
    /// The state the plan was computed against: the stored one, refreshed from AWS.
    pub state: State,
    pub drift: Vec<Drift>,
    pub plan: Plan,
    pub refreshed: bool,
    /// Creates a crashed run left unrecorded, and what was found of them.
    pub recovered: Vec<Recovered>,
    /// Resources of this blueprint and env that other states own, found where this plan
    /// creates (left alone; reported).
    pub others: Vec<Tagged>,
}

pub async fn make_plan(
    loaded: &Loaded,
    store: &Store,
    targets: &[Address],
    refresh: bool,
    for_apply: bool,
) -> Result<Planned, CliError> {
    let (stored, exists) = load_state(store, &loaded.blueprint).await?;
    check_targets(targets, loaded, &stored)?;
    let mut recovered_state = stored.clone();
    let recovered = recover(loaded, &mut recovered_state, for_apply).await?;
    let (state, drift) = if refresh && !recovered_state.resources.is_empty() {
        let refreshed = refresh_state(loaded, &recovered_state).await?;
        (refreshed.state, refreshed.drift)
    } else {
        (recovered_state, Vec::new())
    };
    let options = PlanOptions {
        targets: targets.to_vec(),
        destroy: false,
    };
    let plan = loaded.plan(&state, &options);
    refuse_protected(&plan, &loaded.blueprint)?;
    // `--refresh=false` plans from the state file alone: no AWS reads at all.
    let others = if refresh {
        warn_about_other_owners(loaded, &state, &plan).await
    } else {
        Vec::new()
    };
    Ok(Planned {
        stored: exists.then_some(stored),
        state,
        drift,
        plan,
        refreshed: refresh,
        recovered,
        others,
    })
}

/// Before anything is created: says which resources at the addresses this plan creates
/// belong to other states of this blueprint and env (they stay untouched), and, for an empty
/// state, that AWS already holds the estate (a lost state file?). One listing per kind
/// created; nothing is listed for a plan that creates nothing. Best effort: a kind that
/// cannot be listed now (an organization not created yet) is skipped.
async fn warn_about_other_owners(loaded: &Loaded, state: &State, plan: &Plan) -> Vec<Tagged> {
    let wanted = tagged::created_kinds(plan);
    if wanted.is_empty() {
        return Vec::new();
    }
    let census = tagged::census(loaded, state, &wanted).await;
    for failed in &census.failed {
        tracing::info!("could not look for other states' resources: {failed}");
    }
    for warning in tagged::warnings(plan, state, &census) {
        eprintln!("{warning}");
    }
    census.others
}

/// Adopts what creates interrupted by a crash left in AWS (and, for apply, deletes extra
/// copies), telling the operator about each.
async fn recover(
    loaded: &Loaded,
    state: &mut State,
    delete_duplicates: bool,
) -> Result<Vec<Recovered>, CliError> {
    if state.pending.is_empty() {
        return Ok(Vec::new());
    }
    let identity = [
        (BLUEPRINT_TAG.to_string(), loaded.blueprint.name.clone()),
        (ENV_TAG.to_string(), loaded.blueprint.env.clone()),
    ]
    .into();
    let recovered = refresh::recover_pending(state, &loaded.registry, &identity, delete_duplicates)
        .await
        .map_err(|e| CliError(e.to_string()))?;
    for r in &recovered {
        match &r.adopted {
            Some(id) => eprintln!("{}: a previous run was creating it when it stopped; found {} {id} and adopted it.", r.address, r.kind),
            None => eprintln!("{}: a previous run was creating it when it stopped; AWS has none, so it is planned again.", r.address),
        }
        if !r.duplicates.is_empty() {
            let verb = if delete_duplicates {
                "deleted"
            } else {
                "apply will delete"
            };
            eprintln!(
                "{}: {verb} duplicate(s) {}",
                r.address,
                r.duplicates.join(", ")
            );
        }
    }
    Ok(recovered)
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

/// A `--target` must name something the blueprint or the state knows; every one that does
/// not is reported at once.
fn check_targets(targets: &[Address], loaded: &Loaded, state: &State) -> Result<(), CliError> {
    let known = |target: &Address| {
        let instances = &loaded.blueprint.instances;
        instances.iter().any(|i| target.selects(&i.address))
            || state.resources.keys().any(|a| target.selects(a))
    };
    let unknown: Vec<String> = targets
        .iter()
        .filter(|t| !known(t))
        .map(|t| format!("--target {t}: no such resource instance in the blueprint or the state"))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(CliError(unknown.join("\n")))
}
