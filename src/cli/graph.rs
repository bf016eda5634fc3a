//! `innovate graph`: the dependency graph as DOT (default) or Mermaid, on stdout; grouped by
//! tier, account or subnet; with `--plan`, nodes coloured by what the plan does to them.

use super::common::{load, stored_state, CliError, Loaded};
use super::{BlueprintArgs, StateArgs};
use crate::address::Address;
use crate::graph::{by_account, by_subnet, by_tier, dot, mermaid, Mark, Picture, Tier};
use crate::plan::{Action, PlanOptions};
use clap::{Args, ValueEnum};
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Dot,
    Mermaid,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Group {
    /// By the kind's AWS service: accounts, identity, network, compute, database.
    Tier,
    /// By `account:` placement (the caller's account where nothing is placed).
    Account,
    /// By the subnet(s) each instance references.
    Subnet,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub blueprint: BlueprintArgs,
    #[arg(long, value_enum, default_value = "dot")]
    pub format: Format,
    /// How instances are grouped into clusters.
    #[arg(long, value_enum, default_value = "tier")]
    pub group: Group,
    /// Colour each node by the plan's action against the state file, without reading AWS:
    /// create green, update yellow, replace / delete red, no-op grey.
    #[arg(long)]
    pub plan: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

pub async fn run(args: GraphArgs) -> Result<ExitCode, CliError> {
    let loaded = load(&args.blueprint)?;
    let mut kinds: BTreeMap<Address, String> = loaded
        .blueprint
        .instances
        .iter()
        .map(|i| (i.address.clone(), i.kind.clone()))
        .collect();
    let marks = match args.plan {
        true => plan_marks(&args, &loaded).await?,
        false => BTreeMap::new(),
    };
    // What the plan deletes is in the state only: drawn apart, with its recorded kind.
    let removed = removed_from_blueprint(&marks, &kinds);
    for (address, kind) in &removed {
        kinds.insert(address.clone(), kind.clone());
    }
    let mut groups = match args.group {
        Group::Tier => by_tier(loaded.dag.nodes(), &kinds, &loaded.registry),
        Group::Account => by_account(&loaded.blueprint.instances),
        Group::Subnet => by_subnet(&loaded.blueprint.instances, &kinds),
    };
    if !removed.is_empty() {
        groups.push(Tier {
            id: "removed".into(),
            title: "removed from the blueprint".into(),
            members: removed.keys().collect(),
        });
    }
    let picture = Picture {
        groups,
        kinds: &kinds,
        marks: marks.into_iter().map(|(a, (m, _))| (a, m)).collect(),
    };
    let text = match args.format {
        Format::Dot => dot(&loaded.dag, &loaded.blueprint.name, &picture),
        Format::Mermaid => mermaid(&loaded.dag, &picture),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Each planned address's mark and kind, from a plan against the state file as stored
/// (no refresh, no crash recovery: a picture must not call AWS).
async fn plan_marks(
    args: &GraphArgs,
    loaded: &Loaded,
) -> Result<BTreeMap<Address, (Mark, String)>, CliError> {
    let state = stored_state(&args.state, &loaded.blueprint).await?;
    let plan = loaded.plan(&state, &PlanOptions::default());
    let mut marks = BTreeMap::new();
    // A create-before-destroy replace also deletes its deposed object: the replace wins.
    for step in plan.steps.iter().filter(|s| !s.deposed) {
        marks.insert(step.address.clone(), (mark(step.action), step.kind.clone()));
    }
    for step in plan.steps.iter().filter(|s| s.deposed) {
        marks
            .entry(step.address.clone())
            .or_insert((Mark::Delete, step.kind.clone()));
    }
    Ok(marks)
}

fn mark(action: Action) -> Mark {
    match action {
        Action::NoOp => Mark::NoOp,
        Action::Create => Mark::Create,
        Action::Update => Mark::Update,
        Action::Replace => Mark::Replace,
        Action::Delete => Mark::Delete,
    }
}

fn removed_from_blueprint(
    marks: &BTreeMap<Address, (Mark, String)>,
    kinds: &BTreeMap<Address, String>,
) -> BTreeMap<Address, String> {
    marks
        .iter()
        .filter(|(address, _)| !kinds.contains_key(*address))
        .map(|(address, (_, kind))| (address.clone(), kind.clone()))
        .collect()
}
