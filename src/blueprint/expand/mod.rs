//! Expansion of a parsed blueprint into the resource instances of one environment, in the
//! order of the pipeline: top-level [`sections`] and [`state`], resource declarations
//! ([`resources`]) and how many [`instances`] each has, then every value ([`values`], with
//! its `${...}` expressions in [`eval`]) and the meta-arguments ([`meta`]). Every step reports
//! to one [`Expander`], which collects every error instead of stopping at one.

mod eval;
mod expander;
mod instances;
mod meta;
mod resources;
mod scope;
mod sections;
mod state;
mod values;

use super::diagnostics::{Diagnostic, Pos};
use super::yaml::{Node, NodeValue};
use super::{Blueprint, LoadOptions};
use crate::kinds::Registry;
use expander::Expander;
use meta::Placement;

const TOP_LEVEL: &[&str] = &[
    "blueprint",
    "region",
    "variables",
    "environments",
    "resources",
    "outputs",
    "state",
    "account",
    "account_role",
];

pub fn expand(
    root: &Node,
    options: &LoadOptions,
    registry: &Registry,
) -> Result<Blueprint, Vec<Diagnostic>> {
    if root.value == NodeValue::Null {
        return Err(vec![empty_blueprint(root.pos)]);
    }
    let mut x = Expander::new(registry);
    let blueprint = x.blueprint(root, options);
    x.finish(blueprint)
}

fn variable_list(
    vars: &std::collections::BTreeMap<String, serde_json::Value>,
    at: &std::collections::BTreeMap<String, Pos>,
) -> Vec<super::Variable> {
    vars.iter()
        .map(|(name, value)| super::Variable {
            name: name.clone(),
            value: value.clone(),
            pos: at.get(name).copied().unwrap_or_default(),
        })
        .collect()
}

/// An empty file (or only comments): one clear error instead of one per missing section.
fn empty_blueprint(pos: Pos) -> Diagnostic {
    Diagnostic::new(
        pos,
        "the blueprint is empty: it needs at least `blueprint: NAME` and a `resources:` section",
    )
    .hint("for example `blueprint: network` then `resources:` with one resource per key")
}

impl Expander<'_> {
    fn blueprint(&mut self, root: &Node, options: &LoadOptions) -> Blueprint {
        let empty = Vec::new();
        let entries = match root.as_map() {
            Some(entries) => entries,
            None => {
                self.error(
                    root.pos,
                    "a blueprint is a YAML map",
                    Some("start with `blueprint: NAME`".into()),
                );
                &empty
            }
        };
        self.check_keys(entries, ("top-level section", None), TOP_LEVEL);
        let name = self.blueprint_name(root);
        let region = self.optional_string(root, "region");
        let env = self.select_env(root, options);
        let (vars, var_pos) = self.variables(root, &env, region.as_deref().unwrap_or(""), options);
        let (state_path, state_s3) = self.state_section(root, &name, &env);
        let account_role = self.account_role(root);

        let empty_node = Node {
            pos: root.pos,
            value: NodeValue::Map(Vec::new()),
            raw: None,
        };
        let resources = root.get("resources").unwrap_or(&empty_node);
        let region_text = region.clone().unwrap_or_default();
        let decls = self.declarations(resources, &env, &region_text, &vars);
        let mut instances = Vec::new();
        let placement = Placement {
            default: root.get("account"),
        };
        for decl in decls.values() {
            let scope_env = (env.as_str(), region_text.as_str(), &vars);
            instances.extend(self.instances(decl, scope_env, &decls, &placement));
        }
        let outputs = self.outputs(root, &env, &region_text, &vars, &decls);
        Blueprint {
            name,
            env,
            region,
            state_path,
            state_s3,
            account_role,
            instances,
            outputs,
            variables: variable_list(&vars, &var_pos),
            index: Default::default(),
        }
    }
}
