//! The top-level sections besides `resources` and `state`: the blueprint's name, the
//! environment, variables (defaults, environment overrides, `--var`) and outputs.

use super::expander::{key_pos, Expander};
use super::scope::{Decl, Scope};
use super::values::scalar_to_json;
use crate::address::is_identifier;
use crate::blueprint::diagnostics::did_you_mean;
use crate::blueprint::template::Tmpl;
use crate::blueprint::yaml::{plain_scalar, Node, NodeValue};
use crate::blueprint::LoadOptions;
use crate::blueprint::Pos;
use serde_json::Value;
use std::collections::BTreeMap;

impl Expander<'_> {
    pub(super) fn blueprint_name(&mut self, root: &Node) -> String {
        match root.get("blueprint") {
            Some(Node {
                value: NodeValue::Str(name),
                pos,
                ..
            }) => {
                if !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    || name.is_empty()
                {
                    self.error(
                        *pos,
                        format!("blueprint name `{name}` is not usable in file names and tags"),
                        Some("use letters, digits, - and _".into()),
                    );
                }
                name.clone()
            }
            Some(other) => {
                self.error(
                    other.pos,
                    format!("`blueprint` must be a name, found {}", other.type_name()),
                    None,
                );
                String::new()
            }
            None => {
                self.error(root.pos, "missing `blueprint: NAME`", Some("the name is used for state file names and tags, e.g. `blueprint: innovate`".into()));
                String::new()
            }
        }
    }

    pub(super) fn select_env(&mut self, root: &Node, options: &LoadOptions) -> String {
        let env = options.env.clone().unwrap_or_else(|| "default".into());
        let Some(envs) = root.get("environments") else {
            if env != "default" {
                self.error(root.pos, format!("environment `{env}` is not declared: this blueprint has no `environments:` section"), Some("drop --env, or add `environments: { NAME: {} }`".into()));
            }
            return env;
        };
        let at = key_pos(root, "environments").unwrap_or(envs.pos);
        let Some(entries) = envs.as_map() else {
            self.error(
                at,
                "`environments` must be a map of environment name -> variable overrides",
                None,
            );
            return env;
        };
        let names: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
        let declared = names.contains(&env.as_str()) || (env == "default" && names.is_empty());
        if !declared {
            let hint = did_you_mean(&env, names.iter().copied())
                .unwrap_or_else(|| format!("choose one with --env: {}", names.join(", ")));
            let what = if options.env.is_none() {
                "no --env given and no `default` environment".to_string()
            } else {
                format!("environment `{env}` is not declared")
            };
            self.error(at, what, Some(hint));
        }
        env
    }

    /// Every variable's value for `env` (default, then the environment's override, then
    /// `--var`) and where that value is written (for `check` findings on variable values).
    pub(super) fn variables(
        &mut self,
        root: &Node,
        env: &str,
        region: &str,
        options: &LoadOptions,
    ) -> (BTreeMap<String, Value>, BTreeMap<String, Pos>) {
        let mut vars = BTreeMap::new();
        let mut at = BTreeMap::new();
        let mut required = BTreeMap::new();
        let mut declared_at = root.pos;
        if let Some(node) = root.get("variables") {
            declared_at = key_pos(root, "variables").unwrap_or(node.pos);
            for (key, value) in self.map_entries(node, "variables") {
                if !is_identifier(&key.name) {
                    self.error(
                        key.pos,
                        format!("variable name `{}` must be letters, digits and _", key.name),
                        None,
                    );
                }
                at.insert(key.name.clone(), value.pos);
                if let Some(description) = required_description(value) {
                    // A placeholder so references to it raise no second error.
                    vars.insert(key.name.clone(), Value::Null);
                    required.insert(key.name.clone(), (key.pos, description));
                    continue;
                }
                vars.insert(key.name.clone(), self.literal(value, env, region));
            }
        }
        let overrides = root.get("environments").and_then(|e| e.get(env));
        if let Some(node) = overrides.filter(|n| n.value != NodeValue::Null) {
            for (key, value) in self.map_entries(node, "an environment") {
                if !vars.contains_key(&key.name) {
                    let hint =
                        did_you_mean(&key.name, vars.keys().map(String::as_str)).or_else(|| {
                            Some("declare it under `variables:` with a default".to_string())
                        });
                    self.error(
                        key.pos,
                        format!(
                            "environment `{env}` sets `{}`, which is not a declared variable",
                            key.name
                        ),
                        hint,
                    );
                }
                let v = self.literal(value, env, region);
                vars.insert(key.name.clone(), v);
                at.insert(key.name.clone(), value.pos);
                required.remove(&key.name);
            }
        }
        for (name, text) in &options.vars {
            if !vars.contains_key(name) {
                let hint = did_you_mean(name, vars.keys().map(String::as_str));
                self.error(
                    declared_at,
                    format!("--var {name}: no variable `{name}` is declared in this blueprint"),
                    hint,
                );
                continue;
            }
            vars.insert(name.clone(), scalar_to_json(plain_scalar(text), text));
            required.remove(name);
        }
        for (name, (pos, description)) in required {
            self.missing_required(name, pos, &description, env);
        }
        (vars, at)
    }

    /// A required variable nobody set: what it is for and how to pass it.
    fn missing_required(&mut self, name: String, pos: Pos, description: &str, env: &str) {
        let hint = if env == "default" {
            format!("pass `--var {name}=VALUE`")
        } else {
            format!("pass `--var {name}=VALUE`, or set `{name}` under `environments: {env}:`")
        };
        self.error(
            pos,
            format!("variable `{name}` is required and has no value: {description}"),
            Some(hint),
        );
    }

    /// A value that may use `${env}` and `${region}` but no other expressions.
    pub(super) fn literal(&mut self, node: &Node, env: &str, region: &str) -> Value {
        let (vars, decls) = (BTreeMap::new(), BTreeMap::new());
        let scope = Scope {
            env,
            region,
            vars: &vars,
            count_index: None,
            each: None,
            decls: &decls,
            current: None,
        };
        match self.convert(node, None, &scope) {
            Tmpl::Lit(v) => v,
            _ => Value::Null,
        }
    }

    pub(super) fn outputs(
        &mut self,
        root: &Node,
        env: &str,
        region: &str,
        vars: &BTreeMap<String, Value>,
        decls: &BTreeMap<String, Decl>,
    ) -> Vec<(String, Tmpl)> {
        let Some(node) = root.get("outputs") else {
            return Vec::new();
        };
        let scope = Scope {
            env,
            region,
            vars,
            count_index: None,
            each: None,
            decls,
            current: None,
        };
        let mut out = Vec::new();
        for (key, value) in self.map_entries(node, "`outputs`") {
            out.push((key.name.clone(), self.convert(value, None, &scope)));
        }
        out
    }
}

/// `NAME: { required: "what it is, how to get it" }` declares a variable without a default:
/// a value that only the user can know (a key ARN, a domain they own) must never default to
/// a placeholder that fails on AWS. The description is shown when the value is missing.
fn required_description(node: &Node) -> Option<String> {
    match node.as_map()? {
        [(
            key,
            Node {
                value: NodeValue::Str(text),
                ..
            },
        )] if key.name == "required" => Some(text.trim().to_string()),
        _ => None,
    }
}
