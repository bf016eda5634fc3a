//! Blueprint: YAML text -> one environment's resource instances, validated against the kinds'
//! schemas before any AWS call. Every error is located (file:line:col) and all of them are
//! reported together.

mod check;
pub mod diagnostics;
mod expand;
pub mod expr;
pub mod template;
pub mod yaml;

pub use diagnostics::{BlueprintErrors, Diagnostic, Pos};
pub use template::{Part, Tmpl, UNKNOWN};

use crate::address::Address;
use crate::kinds::Registry;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One environment of a blueprint, expanded into resource instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Blueprint {
    pub name: String,
    pub env: String,
    pub region: Option<String>,
    /// The blueprint's `state: { path: ... }`, when it names one.
    pub state_path: Option<PathBuf>,
    /// The blueprint's `state: { backend: s3, bucket, key, region }`, when it names one.
    #[serde(default)]
    pub state_s3: Option<crate::state::S3Location>,
    /// The role assumed in member accounts (`account_role:`), for resources with `account`.
    #[serde(default = "default_account_role")]
    pub account_role: String,
    pub instances: Vec<Instance>,
    pub outputs: Vec<(String, Tmpl)>,
    /// Each variable's value for this environment and where it is written, for `check`
    /// (a placeholder in a variable is a finding even where no resource uses it yet).
    #[serde(skip)]
    pub variables: Vec<Variable>,
    /// Address -> position in `instances`, built on the first [`Blueprint::instance`] call:
    /// the planner and the executor look up every instance, and a scan each time made a
    /// plan of 10,000 instances quadratic.
    #[serde(skip)]
    index: InstanceIndex,
}

/// One variable of the selected environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub value: serde_json::Value,
    /// Where the value is written: the default, the environment's override, or the
    /// `variables:` declaration when it came from `--var`.
    pub pos: Pos,
}

/// A lazily built address index over [`Blueprint::instances`]. Only a hint: a hit is checked
/// against the instance it points at and a miss (rare: an address the blueprint dropped) is
/// confirmed by a scan, so code that edits `instances` afterwards still gets right answers.
#[derive(Debug, Clone, Default)]
struct InstanceIndex(OnceLock<HashMap<Address, usize>>);

impl InstanceIndex {
    fn find<'b>(&self, instances: &'b [Instance], address: &Address) -> Option<&'b Instance> {
        let index = self.0.get_or_init(|| {
            let positions = instances.iter().enumerate();
            // The first of duplicate addresses wins, as with a scan.
            positions
                .rev()
                .map(|(n, i)| (i.address.clone(), n))
                .collect()
        });
        let hit = index.get(address).and_then(|&n| instances.get(n));
        match hit {
            Some(instance) if &instance.address == address => Some(instance),
            _ => instances.iter().find(|i| &i.address == address),
        }
    }
}

/// One resource instance: `private[1]` of a resource with `count: 3`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub address: Address,
    pub kind: String,
    /// Attribute name -> value, in blueprint order.
    pub attrs: Vec<(String, Tmpl)>,
    /// Instances this one needs first: every reference plus `depends_on`.
    pub depends_on: Vec<Address>,
    /// `timeouts: { create: 30m, update: 20m, delete: 30m }`, overriding the kind's defaults.
    #[serde(default)]
    pub timeouts: Timeouts,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// The AWS account the resource lives in (`account:`, or the blueprint's default): a
    /// 12-digit id or a reference to an organizations.account's id. `None`: the caller's.
    #[serde(default)]
    pub account: Option<Tmpl>,
    /// `check: { suppress: { INV002: "reason" } }`: findings of `innovate check` accepted for
    /// this resource, rule id -> the reason (never empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub suppress: BTreeMap<String, String>,
    /// Where the resource is declared, for graph errors.
    #[serde(skip)]
    pub pos: Pos,
}

/// The role AWS Organizations creates in every account it makes, assumable from the
/// management account.
pub const DEFAULT_ACCOUNT_ROLE: &str = "OrganizationAccountAccessRole";

fn default_account_role() -> String {
    DEFAULT_ACCOUNT_ROLE.to_string()
}

/// Per-resource bounds on long waits (EKS clusters, RDS instances, NAT gateways).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeouts {
    pub create: Option<std::time::Duration>,
    pub update: Option<std::time::Duration>,
    pub delete: Option<std::time::Duration>,
}

/// `lifecycle: { prevent_destroy, create_before_destroy, ignore_changes: [...] }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// A plan that would delete or replace this instance is an error.
    pub prevent_destroy: bool,
    /// A replace creates the new resource (and repoints dependents) before deleting the old.
    pub create_before_destroy: bool,
    /// Attributes whose blueprint changes are not applied: the state's value is kept.
    pub ignore_changes: Vec<String>,
}

/// What the command line adds to the blueprint text.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub env: Option<String>,
    /// `--var K=V`, in order; later ones win.
    pub vars: Vec<(String, String)>,
}

/// Reads, parses, expands and validates a blueprint file.
pub fn load(
    path: &Path,
    options: &LoadOptions,
    registry: &Registry,
) -> Result<Blueprint, LoadError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| LoadError::Io(unreadable(path, &e)))?;
    let text = String::from_utf8(bytes).map_err(|e| LoadError::Invalid(not_utf8(&file, e)))?;
    parse(&file, &text, options, registry).map_err(LoadError::Invalid)
}

/// Why a blueprint file cannot be read, naming the path as given.
fn unreadable(path: &Path, error: &std::io::Error) -> String {
    let shown = path.display();
    if error.kind() == std::io::ErrorKind::NotFound {
        return format!("blueprint file not found: {shown} (a relative path is read from the current directory)");
    }
    if path.is_dir() {
        return format!("blueprint {shown} is a directory; give the YAML file in it");
    }
    format!("cannot read blueprint {shown}: {error}")
}

/// A file that is not UTF-8, located at its first invalid byte: YAML is UTF-8 text, and a
/// file saved in another encoding (Latin-1, UTF-16) shows where it went wrong.
fn not_utf8(file: &str, error: std::string::FromUtf8Error) -> BlueprintErrors {
    let offset = error.utf8_error().valid_up_to();
    let bytes = error.into_bytes();
    let before = String::from_utf8_lossy(&bytes[..offset]);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let message = format!(
        "the blueprint is not UTF-8 text: byte {offset} (0x{:02X}) is not valid UTF-8",
        bytes[offset]
    );
    BlueprintErrors {
        file: file.to_string(),
        source_text: String::from_utf8_lossy(&bytes).into_owned(),
        diagnostics: vec![Diagnostic::new(Pos { line, col }, message)
            .hint("save the file as UTF-8 (YAML is UTF-8 text)")],
    }
}

/// Parses blueprint text; `file` is used in error locations.
pub fn parse(
    file: &str,
    text: &str,
    options: &LoadOptions,
    registry: &Registry,
) -> Result<Blueprint, BlueprintErrors> {
    let errors = |diagnostics: Vec<Diagnostic>| BlueprintErrors {
        file: file.to_string(),
        source_text: text.to_string(),
        diagnostics: dedupe(diagnostics),
    };
    let root = yaml::parse(text).map_err(errors)?;
    expand::expand(&root, options, registry).map_err(errors)
}

fn dedupe(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = std::collections::HashSet::new();
    diagnostics.retain(|d| seen.insert((d.pos, d.message.clone())));
    diagnostics
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Invalid(BlueprintErrors),
}

impl Blueprint {
    /// The instance at `address`: a hash lookup when it is there.
    pub fn instance(&self, address: &Address) -> Option<&Instance> {
        self.index.find(&self.instances, address)
    }

    /// Resolved outputs, reading instance attributes through `lookup`.
    pub fn resolve_outputs(
        &self,
        lookup: &dyn Fn(&Address, &str) -> Value,
    ) -> BTreeMap<String, Value> {
        self.outputs
            .iter()
            .map(|(name, t)| (name.clone(), t.resolve(lookup)))
            .collect()
    }
}

impl Instance {
    pub fn attr(&self, name: &str) -> Option<&Tmpl> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// The account id this instance lives in, read through `lookup`: [`UNKNOWN`] while the
    /// account it references is not created yet; `None` for the caller's account.
    pub fn resolve_account(&self, lookup: &dyn Fn(&Address, &str) -> Value) -> Option<String> {
        let value = self.account.as_ref()?.resolve(lookup);
        Some(value.as_str().unwrap_or(UNKNOWN).to_string())
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod robustness;

#[cfg(test)]
mod placement_tests;

#[cfg(test)]
mod validate_tests;
