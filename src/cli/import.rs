//! `innovate import BLUEPRINT ADDR ID`: adopt an existing AWS resource into the state, so that
//! innovate manages it from now on; `innovate plan` then shows how it differs from the blueprint.

use super::common::{load, load_state, lock, open_store, unlocking, CliError};
use super::{BlueprintArgs, StateArgs};
use crate::address::Address;
use crate::kinds::{CREATED_TAG, LINEAGE_TAG};
use crate::state::ResourceState;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    /// The blueprint address to import into, e.g. main or private[1].
    pub address: Address,
    /// The resource's AWS id (vpc-0abc..., a name or an ARN, as the kind's `id`).
    pub id: String,
    #[command(flatten)]
    pub state: StateArgs,
}

pub async fn run(args: ImportArgs) -> Result<ExitCode, CliError> {
    let loaded = load(&args.blueprint)?;
    let instance = loaded.blueprint.instance(&args.address).ok_or_else(|| {
        CliError(format!(
            "{} is not an instance of this blueprint: declare the resource first, then import it",
            args.address
        ))
    })?;
    let store = open_store(&args.state, &loaded.blueprint)?;
    let lock = lock(&store, "import", &args.blueprint, &args.state).await?;
    unlocking(lock, async {
    let (mut state, _) = load_state(&store, &loaded.blueprint).await?;
    if let Some(existing) = state.resources.get(&args.address) {
        return Err(CliError(format!(
            "{} is already in the state (id {}); `innovate state rm {}` first to import another resource there",
            args.address, existing.id, args.address
        )));
    }
    let account = import_account(instance, &state, &args.address)?;
    let kind = loaded
        .registry
        .kind_in(account.as_deref(), &instance.kind)
        .await
        .map_err(|e| CliError(format!("{}: {e}", args.address)))?;
    let read = kind
        .read_many(std::slice::from_ref(&args.id))
        .await
        .map_err(|e| CliError(format!("{}: {e}", args.address)))?;
    let live = read.into_iter().next().flatten().ok_or_else(|| {
        CliError(format!(
            "{} {} does not exist (or is not visible with these credentials)",
            instance.kind, args.id
        ))
    })?;
    let attrs = imported_attrs(instance, kind.schema(), &state, &live);
    let identity = kind
        .identity_of(&live)
        .await
        .map_err(|e| CliError(format!("{}: {e}", args.address)))?;
    let previous_owner = identity.get(LINEAGE_TAG).filter(|l| **l != state.lineage);
    if let Some(lineage) = previous_owner {
        println!(
            "{} {} belonged to the state of lineage {lineage}; this state takes it over.",
            instance.kind, args.id
        );
    }
    // No lineage yet: the next apply tags it with this state's (shown in the plan). The
    // stamp of the create that made it stays.
    let owner = identity
        .get(CREATED_TAG)
        .map(|created| [(CREATED_TAG.to_string(), created.clone())].into())
        .unwrap_or_default();
    let resource = ResourceState {
        kind: instance.kind.clone(),
        id: live.id,
        attrs,
        outputs: live.outputs,
        depends_on: instance.depends_on.clone(),
        account,
        owner,
    };
    state.resources.insert(args.address.clone(), resource);
    state.serial += 1;
    store.save(&state).await?;
    println!(
        "Imported {} ({} {}). Run `innovate plan` to see how it differs from the blueprint.",
        args.address, instance.kind, args.id
    );
    Ok(ExitCode::SUCCESS)
    })
    .await
}

/// What state records for the imported resource, as an apply would have: the attributes
/// the blueprint sets (with schema defaults), each as AWS reports it, or as the blueprint
/// says where the kind's read leaves it out (write-only or not read back). Left out, such an
/// attribute would plan as a change, and a `force_new` one as a replacement of the resource
/// just imported. What the blueprint does not set is AWS's business, as in refresh; a
/// reference not yet resolvable from state stays unrecorded.
fn imported_attrs(
    instance: &crate::blueprint::Instance,
    schema: &crate::kinds::Schema,
    state: &crate::state::State,
    live: &crate::kinds::Live,
) -> crate::kinds::Attrs {
    let lookup = |a: &Address, attr: &str| {
        state
            .read(a, attr)
            .unwrap_or_else(|| serde_json::Value::String(crate::blueprint::UNKNOWN.into()))
    };
    let mut attrs = crate::plan::desired_attrs(instance, schema, &lookup);
    attrs.retain(|_, value| !crate::blueprint::template::contains_unknown(value));
    attrs.retain(|name, _| schema.attr(name).is_some_and(|a| !a.sensitive));
    for (name, reported) in live.attrs.iter().flatten() {
        if let Some(recorded) = attrs.get_mut(name) {
            *recorded = reported.clone();
        }
    }
    attrs
}

/// The account `instance` lives in, which must be known: an account it references has to
/// be in the state (applied or imported) first.
fn import_account(
    instance: &crate::blueprint::Instance,
    state: &crate::state::State,
    address: &Address,
) -> Result<Option<String>, CliError> {
    let lookup = |a: &Address, attr: &str| {
        state
            .read(a, attr)
            .unwrap_or_else(|| serde_json::Value::String(crate::blueprint::UNKNOWN.into()))
    };
    match instance.resolve_account(&lookup) {
        Some(account) if account == crate::blueprint::UNKNOWN => Err(CliError(format!(
            "{address} is placed in an account that is not in the state yet: apply or import that account first"
        ))),
        account => Ok(account),
    }
}
