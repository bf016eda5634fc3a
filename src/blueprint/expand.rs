//! Expansion of a parsed blueprint into the resource instances of one environment:
//! variables and environment overrides, count / for_each, interpolation, references, and
//! the schema checks of every attribute. Collects every error instead of stopping at one.

use super::check::{coerce, json_type, unknown_field};
use super::diagnostics::{did_you_mean, Diagnostic, Pos};
use super::expr::{parse_template, Expr, Index, Ref, Segment};
use super::meta::Placement;
use super::template::{key_string, InstanceRef, Part, Tmpl};
use super::yaml::{plain_scalar, Key, Node, NodeValue};
use super::{Blueprint, Instance, LoadOptions};
use crate::address::{is_identifier, Address, InstanceKey};
use crate::kinds::{AttrType, Registry, Schema};
use crate::state::{check_bucket_name, S3Location};
use serde_json::Value;
use std::collections::BTreeMap;

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
/// Keys of a resource that are not AWS attributes.
const META: &[&str] = &[
    "kind",
    "count",
    "for_each",
    "depends_on",
    "timeouts",
    "lifecycle",
    "account",
    "check",
];

pub fn expand(
    root: &Node,
    options: &LoadOptions,
    registry: &Registry,
) -> Result<Blueprint, Vec<Diagnostic>> {
    let mut x = Expander {
        diags: Vec::new(),
        registry,
    };
    let blueprint = x.blueprint(root, options);
    if x.diags.is_empty() {
        Ok(blueprint)
    } else {
        Err(x.diags)
    }
}

pub(super) struct Expander<'r> {
    diags: Vec<Diagnostic>,
    registry: &'r Registry,
}

/// How many instances a resource has.
#[derive(Debug, Clone)]
enum Mode {
    Single,
    Count(usize),
    ForEach(Vec<(String, Value)>),
}

/// A resource as declared, before its instances are expanded.
pub(super) struct Decl<'n> {
    name: String,
    pos: Pos,
    node: &'n Node,
    schema: Option<&'static Schema>,
    mode: Mode,
}

/// One instance to expand: its key, and what `count.index` / `each` mean inside it.
type InstanceSlot = (Option<InstanceKey>, Option<usize>, Option<(String, Value)>);

impl Decl<'_> {
    fn instance_keys(&self) -> Vec<InstanceSlot> {
        match &self.mode {
            Mode::Single => vec![(None, None, None)],
            Mode::Count(n) => (0..*n)
                .map(|i| (Some(InstanceKey::Index(i)), Some(i), None))
                .collect(),
            Mode::ForEach(entries) => entries
                .iter()
                .map(|(k, v)| {
                    (
                        Some(InstanceKey::Key(k.clone())),
                        None,
                        Some((k.clone(), v.clone())),
                    )
                })
                .collect(),
        }
    }

    fn addresses(&self) -> Vec<Address> {
        self.instance_keys()
            .into_iter()
            .map(|(key, _, _)| Address {
                resource: self.name.clone(),
                key,
            })
            .collect()
    }
}

/// What `${...}` can see while one value is expanded.
pub(super) struct Scope<'a> {
    env: &'a str,
    region: &'a str,
    vars: &'a BTreeMap<String, Value>,
    count_index: Option<usize>,
    each: Option<&'a (String, Value)>,
    decls: &'a BTreeMap<String, Decl<'a>>,
    /// The resource being expanded (a reference to itself is an error).
    current: Option<&'a str>,
}

impl Scope<'_> {
    /// The kind of a declared resource, when it is known.
    pub(super) fn kind_of(&self, resource: &str) -> Option<&'static str> {
        self.decls.get(resource)?.schema.map(|s| s.name)
    }
}

enum Evaluated {
    Known(Value),
    Ref(InstanceRef),
}

impl<'r> Expander<'r> {
    pub(super) fn error(&mut self, pos: Pos, message: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::new(pos, message);
        d.hint = hint;
        self.diags.push(d);
    }

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
        for (key, _) in entries {
            if !TOP_LEVEL.contains(&key.name.as_str()) {
                let hint = did_you_mean(&key.name, TOP_LEVEL.iter().copied());
                self.error(
                    key.pos,
                    format!("unknown top-level section `{}`", key.name),
                    hint,
                );
            }
        }
        let name = self.blueprint_name(root);
        let region = self.optional_string(root, "region");
        let env = self.select_env(root, options);
        let vars = self.variables(root, &env, region.as_deref().unwrap_or(""), options);
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
            index: Default::default(),
        }
    }

    /// `state: { path: FILE }` (local, the default backend) or
    /// `state: { backend: s3, bucket: B, key: K, region: R }`; `key` defaults to
    /// `<blueprint>-<env>.json`, `${env}` in it is the environment's name.
    fn state_section(
        &mut self,
        root: &Node,
        name: &str,
        env: &str,
    ) -> (Option<std::path::PathBuf>, Option<S3Location>) {
        const KEYS: &[&str] = &["backend", "path", "bucket", "key", "region"];
        let Some(section) = root.get("state") else {
            return (None, None);
        };
        let Some(entries) = section.as_map() else {
            self.error(
                section.pos,
                "`state` must be a map: `{ path: FILE }` or `{ backend: s3, bucket: B, key: K }`",
                None,
            );
            return (None, None);
        };
        for (key, _) in entries {
            if !KEYS.contains(&key.name.as_str()) {
                let hint = did_you_mean(&key.name, KEYS.iter().copied());
                self.error(
                    key.pos,
                    format!("unknown key `{}` in `state`", key.name),
                    hint,
                );
            }
        }
        let backend = self.optional_string(section, "backend");
        let path = self.optional_string(section, "path");
        let bucket = self.optional_string(section, "bucket");
        let key = self.optional_string(section, "key");
        let region = self.optional_string(section, "region");
        let at = |key: &str| key_pos(section, key).unwrap_or(section.pos);
        match backend.as_deref() {
            None | Some("local") => {
                for (field, given) in [("bucket", &bucket), ("key", &key), ("region", &region)] {
                    if given.is_some() {
                        self.error(
                            at(field),
                            format!("`{field}` is for the s3 backend"),
                            Some("add `backend: s3`, or drop it".into()),
                        );
                    }
                }
                (path.map(Into::into), None)
            }
            Some("s3") => {
                if path.is_some() {
                    self.error(
                        at("path"),
                        "`path` is for the local backend; the s3 backend takes `bucket` and `key`",
                        None,
                    );
                }
                let Some(bucket) = bucket else {
                    self.error(
                        section.pos,
                        "the s3 state backend needs `bucket`",
                        Some(
                            "state: { backend: s3, bucket: my-team-state, key: network/prod.json }"
                                .into(),
                        ),
                    );
                    return (None, None);
                };
                if let Err(why) = check_bucket_name(&bucket) {
                    self.error(at("bucket"), why, None);
                }
                let key = key
                    .unwrap_or_else(|| format!("{name}-{env}.json"))
                    .replace("${env}", env);
                if key.is_empty() || key.ends_with('/') || key.contains("${") {
                    self.error(
                        at("key"),
                        format!("`{key}` is not a state object key"),
                        Some(
                            "a key such as network/prod.json; `${env}` is the only substitution"
                                .into(),
                        ),
                    );
                }
                let location = S3Location {
                    bucket,
                    key,
                    region,
                };
                (None, Some(location))
            }
            Some(other) => {
                let hint = did_you_mean(other, ["local", "s3"]).or(Some("`local` or `s3`".into()));
                self.error(
                    at("backend"),
                    format!("unknown state backend `{other}`"),
                    hint,
                );
                (None, None)
            }
        }
    }

    fn blueprint_name(&mut self, root: &Node) -> String {
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

    pub(super) fn optional_string(&mut self, parent: &Node, key: &str) -> Option<String> {
        let node = parent.get(key)?;
        match &node.value {
            NodeValue::Str(s) => Some(s.clone()),
            _ => {
                self.error(
                    node.pos,
                    format!("`{key}` must be a string, found {}", node.type_name()),
                    None,
                );
                None
            }
        }
    }

    /// `--env`, checked against the declared environments.
    fn select_env(&mut self, root: &Node, options: &LoadOptions) -> String {
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

    /// Variable defaults, then the environment's overrides, then `--var`.
    fn variables(
        &mut self,
        root: &Node,
        env: &str,
        region: &str,
        options: &LoadOptions,
    ) -> BTreeMap<String, Value> {
        let mut vars = BTreeMap::new();
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
        }
        vars
    }

    pub(super) fn map_entries<'n>(&mut self, node: &'n Node, what: &str) -> &'n [(Key, Node)] {
        match node.as_map() {
            Some(entries) => entries,
            None if node.value == NodeValue::Null => &[],
            None => {
                self.error(
                    node.pos,
                    format!("{what} must be a map, found {}", node.type_name()),
                    None,
                );
                &[]
            }
        }
    }

    /// A value that may use `${env}` and `${region}` but no other expressions.
    fn literal(&mut self, node: &Node, env: &str, region: &str) -> Value {
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

    fn declarations<'n>(
        &mut self,
        resources: &'n Node,
        env: &str,
        region: &str,
        vars: &BTreeMap<String, Value>,
    ) -> BTreeMap<String, Decl<'n>> {
        let mut decls = BTreeMap::new();
        let no_decls = BTreeMap::new();
        let scope = Scope {
            env,
            region,
            vars,
            count_index: None,
            each: None,
            decls: &no_decls,
            current: None,
        };
        for (key, node) in self.map_entries(resources, "`resources`") {
            if !is_identifier(&key.name) {
                self.error(
                    key.pos,
                    format!("resource name `{}` must be letters, digits and _", key.name),
                    Some("for example `private_subnets`".into()),
                );
            }
            let schema = self.kind_of(key, node);
            let mode = self.mode(node, &scope);
            decls.insert(
                key.name.clone(),
                Decl {
                    name: key.name.clone(),
                    pos: key.pos,
                    node,
                    schema,
                    mode,
                },
            );
        }
        decls
    }

    fn kind_of(&mut self, key: &Key, node: &Node) -> Option<&'static Schema> {
        if node.as_map().is_none() {
            self.error(
                node.pos,
                format!(
                    "resource `{}` must be a map with `kind:` and attributes",
                    key.name
                ),
                None,
            );
            return None;
        }
        let Some(kind) = node.get("kind") else {
            self.error(
                key.pos,
                format!("resource `{}` has no `kind`", key.name),
                Some("add `kind: ec2.vpc` (or another kind)".into()),
            );
            return None;
        };
        let Some(name) = kind.as_str() else {
            self.error(kind.pos, "`kind` must be a name like ec2.vpc", None);
            return None;
        };
        let schema = self.registry.schema(name);
        if schema.is_none() {
            let hint = did_you_mean(name, self.registry.names()).unwrap_or_else(|| {
                format!(
                    "known kinds: {}",
                    self.registry.names().collect::<Vec<_>>().join(", ")
                )
            });
            self.error(kind.pos, format!("unknown kind `{name}`"), Some(hint));
        }
        schema
    }

    fn mode(&mut self, node: &Node, scope: &Scope) -> Mode {
        match (node.get("count"), node.get("for_each")) {
            (Some(count), Some(_)) => {
                self.error(
                    count.pos,
                    "a resource has `count` or `for_each`, not both",
                    None,
                );
                Mode::Single
            }
            (Some(count), None) => match self.known(count, scope, "count") {
                Some(Value::Number(n)) if n.as_u64().is_some() => {
                    Mode::Count(n.as_u64().unwrap_or(0) as usize)
                }
                Some(other) => {
                    self.error(
                        count.pos,
                        format!(
                            "`count` must be a whole number, found {}",
                            json_type(&other)
                        ),
                        None,
                    );
                    Mode::Count(0)
                }
                None => Mode::Count(0),
            },
            (None, Some(each)) => match self.known(each, scope, "for_each") {
                Some(Value::Object(map)) => Mode::ForEach(map.into_iter().collect()),
                Some(Value::Array(items)) => self.for_each_list(each.pos, items),
                Some(other) => {
                    self.error(
                        each.pos,
                        format!(
                            "`for_each` must be a map or a list of strings, found {}",
                            json_type(&other)
                        ),
                        None,
                    );
                    Mode::ForEach(Vec::new())
                }
                None => Mode::ForEach(Vec::new()),
            },
            (None, None) => Mode::Single,
        }
    }

    fn for_each_list(&mut self, pos: Pos, items: Vec<Value>) -> Mode {
        let mut entries = Vec::new();
        for item in items {
            match item {
                Value::String(s) => entries.push((s.clone(), Value::String(s))),
                other => self.error(
                    pos,
                    format!(
                        "`for_each` list items must be strings, found {}",
                        json_type(&other)
                    ),
                    None,
                ),
            }
        }
        Mode::ForEach(entries)
    }

    /// A value that must be known before apply (count, for_each).
    fn known(&mut self, node: &Node, scope: &Scope, what: &str) -> Option<Value> {
        if mentions_resource(node) {
            self.error(
                node.pos,
                format!("`{what}` must be known before apply"),
                Some("it can use variables, env and region, not resource attributes".into()),
            );
            return None;
        }
        match self.convert(node, None, scope) {
            Tmpl::Lit(v) => Some(v),
            _ => {
                self.error(
                    node.pos,
                    format!("`{what}` must be known before apply"),
                    Some("it can use variables, env and region, not resource attributes".into()),
                );
                None
            }
        }
    }

    fn instances(
        &mut self,
        decl: &Decl,
        (env, region, vars): (&str, &str, &BTreeMap<String, Value>),
        decls: &BTreeMap<String, Decl>,
        placement: &Placement,
    ) -> Vec<Instance> {
        let Some(schema) = decl.schema else {
            return Vec::new();
        };
        let entries = decl.node.as_map().unwrap_or(&[]);
        self.check_attribute_names(decl, schema, entries);
        let timeouts = self.timeouts(decl.node);
        let lifecycle = self.lifecycle(decl.node, schema);
        let suppress = self.suppressions(decl.node);
        let mut out = Vec::new();
        for (key, count_index, each) in decl.instance_keys() {
            let scope = Scope {
                env,
                region,
                vars,
                count_index,
                each: each.as_ref(),
                decls,
                current: Some(&decl.name),
            };
            let attrs: Vec<(String, Tmpl)> = entries
                .iter()
                .filter(|(k, _)| !META.contains(&k.name.as_str()))
                .filter_map(|(k, v)| {
                    schema
                        .attr(&k.name)
                        .map(|a| (k.name.clone(), self.convert(v, Some(&a.ty), &scope)))
                })
                .collect();
            let account = self.account(decl.node, placement, schema, &scope);
            // The account must exist before anything is created in it.
            let mut depends_on: Vec<Address> = attrs
                .iter()
                .map(|(_, t)| t)
                .chain(account.as_ref())
                .flat_map(Tmpl::references)
                .cloned()
                .collect();
            depends_on.extend(self.explicit_dependencies(decl, decls));
            depends_on.sort();
            depends_on.dedup();
            let address = Address {
                resource: decl.name.clone(),
                key,
            };
            out.push(Instance {
                address,
                kind: schema.name.to_string(),
                attrs,
                depends_on,
                timeouts: timeouts.clone(),
                lifecycle: lifecycle.clone(),
                account,
                suppress: suppress.clone(),
                pos: decl.pos,
            });
        }
        out
    }

    fn check_attribute_names(&mut self, decl: &Decl, schema: &Schema, entries: &[(Key, Node)]) {
        for (key, _) in entries {
            if META.contains(&key.name.as_str()) || schema.attr(&key.name).is_some() {
                continue;
            }
            let candidates = schema
                .attrs
                .iter()
                .map(|a| a.name)
                .chain(META.iter().copied());
            let hint = did_you_mean(&key.name, candidates).unwrap_or_else(|| {
                format!(
                    "{} takes: {}",
                    schema.name,
                    schema
                        .attrs
                        .iter()
                        .map(|a| a.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            self.error(
                key.pos,
                format!("unknown attribute `{}` for kind {}", key.name, schema.name),
                Some(hint),
            );
        }
        for attr in schema.attrs.iter().filter(|a| a.required) {
            if !entries.iter().any(|(k, _)| k.name == attr.name) {
                self.error(
                    decl.pos,
                    format!(
                        "resource `{}` ({}) is missing the required attribute `{}`",
                        decl.name, schema.name, attr.name
                    ),
                    Some(format!("add `{}:` ({})", attr.name, attr.ty.describe())),
                );
            }
        }
    }

    fn explicit_dependencies(
        &mut self,
        decl: &Decl,
        decls: &BTreeMap<String, Decl>,
    ) -> Vec<Address> {
        let Some(node) = decl.node.get("depends_on") else {
            return Vec::new();
        };
        let NodeValue::Seq(items) = &node.value else {
            self.error(
                node.pos,
                "`depends_on` must be a list of resource names",
                Some("for example `depends_on: [gw]`".into()),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let Some(text) = item.as_str() else {
                self.error(item.pos, "`depends_on` items are resource names", None);
                continue;
            };
            let target = text.trim_start_matches("${").trim_end_matches('}');
            let parsed = target.parse::<Address>();
            match parsed
                .as_ref()
                .ok()
                .and_then(|a| decls.get(&a.resource).map(|d| (a, d)))
            {
                Some((address, d)) => {
                    out.extend(d.addresses().into_iter().filter(|a| address.selects(a)))
                }
                None => {
                    let hint = did_you_mean(target, decls.keys().map(String::as_str));
                    self.error(item.pos, format!("`depends_on` names `{target}`, which is not a resource of this blueprint"), hint);
                }
            }
        }
        out
    }

    fn outputs(
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

    // ---- values ------------------------------------------------------------------------

    /// Converts a YAML node into a template, checking it against `ty` where the value is known.
    pub(super) fn convert(&mut self, node: &Node, ty: Option<&AttrType>, scope: &Scope) -> Tmpl {
        match &node.value {
            NodeValue::Str(text) => self.string(node, text, ty, scope),
            NodeValue::Seq(items) => self.sequence(node, items, ty, scope),
            NodeValue::Map(entries) => self.mapping(node, entries, ty, scope),
            scalar => {
                let value = scalar_to_json(scalar.clone(), node.raw.as_deref().unwrap_or(""));
                let value = match (ty, &node.raw) {
                    (Some(AttrType::String), Some(raw)) => Value::String(raw.clone()),
                    _ => value,
                };
                Tmpl::Lit(self.checked(value, ty, node.pos))
            }
        }
    }

    fn checked(&mut self, value: Value, ty: Option<&AttrType>, pos: Pos) -> Value {
        let Some(ty) = ty else { return value };
        match coerce(value.clone(), ty) {
            Ok(v) => v,
            Err(message) => {
                self.error(pos, message, None);
                value
            }
        }
    }

    fn string(&mut self, node: &Node, text: &str, ty: Option<&AttrType>, scope: &Scope) -> Tmpl {
        let segments = match parse_template(text) {
            Ok(segments) => segments,
            Err(e) => {
                self.error(
                    node.pos,
                    e.message,
                    Some(
                        "expressions look like ${var.NAME}, ${main.id} or ${private[0].id}".into(),
                    ),
                );
                return Tmpl::Lit(Value::Null);
            }
        };
        // A string that is exactly one known `${...}` keeps that value's type.
        if let [Segment::Expr(expr)] = &segments[..] {
            if let Some(Evaluated::Known(v)) = self.peek_known(expr, scope, node.pos) {
                return Tmpl::Lit(self.checked(v, ty, node.pos));
            }
        }
        let mut parts = Vec::new();
        for segment in segments {
            match segment {
                Segment::Lit(s) => parts.push(Part::Lit(s)),
                Segment::Expr(expr) => match self.eval(&expr, scope, node.pos) {
                    Some(Evaluated::Known(v)) => parts.push(Part::Lit(known_part(v))),
                    Some(Evaluated::Ref(r)) => {
                        self.check_ref_shape(&r, ty, node.pos);
                        parts.push(Part::Ref(r))
                    }
                    None => return Tmpl::Lit(Value::Null),
                },
            }
        }
        if parts.iter().any(|p| matches!(p, Part::Ref(_))) {
            return Tmpl::Concat(parts);
        }
        let text: String = parts
            .iter()
            .map(|p| if let Part::Lit(s) = p { s.as_str() } else { "" })
            .collect();
        Tmpl::Lit(self.checked(Value::String(text), ty, node.pos))
    }

    /// Evaluates an expression that needs no resource (no error reported when it does).
    fn peek_known(&mut self, expr: &Expr, scope: &Scope, pos: Pos) -> Option<Evaluated> {
        if matches!(expr, Expr::Ref(_)) {
            return None;
        }
        self.try_eval(expr, scope, pos).ok()
    }

    fn check_ref_shape(&mut self, r: &InstanceRef, ty: Option<&AttrType>, pos: Pos) {
        let wants_list = matches!(ty, Some(AttrType::List(_)));
        if r.splat && ty.is_some() && !wants_list {
            self.error(
                pos,
                format!(
                    "`[*]` gives a list, but this attribute takes {}",
                    ty.map(|t| t.describe()).unwrap_or_default()
                ),
                Some("pick one instance, for example `[0]` or `[count.index]`".into()),
            );
        }
    }

    fn sequence(
        &mut self,
        node: &Node,
        items: &[Node],
        ty: Option<&AttrType>,
        scope: &Scope,
    ) -> Tmpl {
        let item_ty = match ty {
            None | Some(AttrType::Json) => None,
            Some(AttrType::List(item)) => Some(*item),
            Some(other) => {
                self.error(
                    node.pos,
                    format!("expected {}, found a list", other.describe()),
                    None,
                );
                return Tmpl::Lit(Value::Null);
            }
        };
        // A `${x[*].id}` item is spliced into the list, as users of other tools expect.
        let converted: Vec<Tmpl> = items
            .iter()
            .map(|i| self.convert(i, item_ty.or(None), scope))
            .collect();
        if converted.iter().all(|t| matches!(t, Tmpl::Lit(_))) {
            Tmpl::Lit(Value::Array(
                converted
                    .into_iter()
                    .map(|t| if let Tmpl::Lit(v) = t { v } else { Value::Null })
                    .collect(),
            ))
        } else {
            Tmpl::List(converted)
        }
    }

    fn mapping(
        &mut self,
        node: &Node,
        entries: &[(Key, Node)],
        ty: Option<&AttrType>,
        scope: &Scope,
    ) -> Tmpl {
        let field_ty = |name: &str| -> Result<Option<&'static AttrType>, ()> {
            match ty {
                None => Ok(None),
                Some(AttrType::StringMap) => Ok(Some(&AttrType::String)),
                Some(AttrType::Object(attrs)) => attrs
                    .iter()
                    .find(|a| a.name == name)
                    .map(|a| Some(&a.ty))
                    .ok_or(()),
                Some(_) => Ok(None),
            }
        };
        match ty {
            None | Some(AttrType::StringMap) | Some(AttrType::Object(_)) | Some(AttrType::Json) => {
            }
            Some(other) => {
                self.error(
                    node.pos,
                    format!("expected {}, found a map", other.describe()),
                    None,
                );
                return Tmpl::Lit(Value::Null);
            }
        }
        if let Some(AttrType::Object(attrs)) = ty {
            for attr in attrs.iter().filter(|a| a.required) {
                if !entries.iter().any(|(k, _)| k.name == attr.name) {
                    self.error(
                        node.pos,
                        format!("missing required attribute `{}`", attr.name),
                        Some(format!("add `{}:` ({})", attr.name, attr.ty.describe())),
                    );
                }
            }
        }
        let free_form = !matches!(ty, Some(AttrType::Object(_)));
        let mut out = Vec::new();
        for (key, value) in entries {
            match field_ty(&key.name) {
                Ok(t) => {
                    let key = self.map_key(key, free_form, scope);
                    out.push((key, self.convert(value, t, scope)));
                }
                Err(()) => {
                    let Some(AttrType::Object(attrs)) = ty else {
                        continue;
                    };
                    self.error(
                        key.pos,
                        unknown_field(&key.name, attrs.iter().map(|a| a.name)),
                        None,
                    );
                }
            }
        }
        let known = |t: &Tmpl| matches!(t, Tmpl::Lit(_));
        if out.iter().all(|(k, v)| known(k) && known(v)) {
            let literal = |t: Tmpl| if let Tmpl::Lit(v) = t { v } else { Value::Null };
            Tmpl::Lit(Value::Object(
                out.into_iter()
                    .map(|(k, v)| (key_string(literal(k)), literal(v)))
                    .collect(),
            ))
        } else {
            Tmpl::Map(out)
        }
    }

    /// A map key: literal, except in free-form maps (policies, labels), where `${...}` may
    /// build it, as IAM condition keys that name an OIDC provider need.
    fn map_key(&mut self, key: &Key, free_form: bool, scope: &Scope) -> Tmpl {
        if !free_form || !key.name.contains("${") {
            return Tmpl::Lit(Value::String(key.name.clone()));
        }
        let node = Node {
            pos: key.pos,
            raw: None,
            value: NodeValue::Str(key.name.clone()),
        };
        self.string(&node, &key.name, Some(&AttrType::String), scope)
    }

    // ---- expressions -------------------------------------------------------------------

    fn eval(&mut self, expr: &Expr, scope: &Scope, pos: Pos) -> Option<Evaluated> {
        match self.try_eval(expr, scope, pos) {
            Ok(v) => Some(v),
            Err((message, hint)) => {
                self.error(pos, message, hint);
                None
            }
        }
    }

    fn try_eval(
        &mut self,
        expr: &Expr,
        scope: &Scope,
        pos: Pos,
    ) -> Result<Evaluated, (String, Option<String>)> {
        match expr {
            Expr::Env => Ok(Evaluated::Known(Value::String(scope.env.into()))),
            Expr::Region => Ok(Evaluated::Known(Value::String(scope.region.into()))),
            Expr::Var(name) => self.var(name, scope),
            Expr::CountIndex => scope
                .count_index
                .map(|i| Evaluated::Known(Value::from(i)))
                .ok_or_else(|| {
                    (
                        "`count.index` is only available in a resource with `count`".to_string(),
                        None,
                    )
                }),
            Expr::EachKey => scope
                .each
                .map(|(k, _)| Evaluated::Known(Value::String(k.clone())))
                .ok_or_else(|| {
                    (
                        "`each.key` is only available in a resource with `for_each`".to_string(),
                        None,
                    )
                }),
            Expr::EachValue(path) => self.each_value(path, scope),
            Expr::Ref(r) => self.reference(r, scope, pos),
            Expr::VarIndex(name, index) => {
                let Evaluated::Known(list) = self.var(name, scope)? else {
                    unreachable!("variables are known")
                };
                let index = self.index(index, scope, pos)?;
                element_of(&list, &index, false)
                    .map(Evaluated::Known)
                    .ok_or_else(|| (format!("`var.{name}` has no element {index:?}"), None))
            }
            Expr::Element(list, index) => self.element(list, index, scope, pos),
        }
    }

    fn element(
        &mut self,
        list: &Expr,
        index: &Expr,
        scope: &Scope,
        pos: Pos,
    ) -> Result<Evaluated, (String, Option<String>)> {
        let at = match self.try_eval(index, scope, pos)? {
            Evaluated::Known(Value::Number(n)) if n.as_u64().is_some() => {
                n.as_u64().unwrap_or(0) as usize
            }
            _ => {
                return Err((
                    "element(LIST, INDEX): INDEX must be a whole number known before apply".into(),
                    None,
                ))
            }
        };
        match self.try_eval(list, scope, pos)? {
            Evaluated::Known(value) => element_of(&value, &Index::Int(at), true)
                .map(Evaluated::Known)
                .ok_or_else(|| {
                    (
                        "element(LIST, INDEX): LIST must be a non-empty list".into(),
                        None,
                    )
                }),
            Evaluated::Ref(r) if r.splat && !r.targets.is_empty() => {
                let target = r.targets[at % r.targets.len()].clone();
                Ok(Evaluated::Ref(InstanceRef {
                    targets: vec![target],
                    splat: false,
                    attr: r.attr,
                }))
            }
            Evaluated::Ref(_) => Err((
                "element(LIST, INDEX): LIST must be a list such as nat[*].id".into(),
                None,
            )),
        }
    }

    fn var(&mut self, name: &str, scope: &Scope) -> Result<Evaluated, (String, Option<String>)> {
        if let Some(v) = scope.vars.get(name) {
            return Ok(Evaluated::Known(v.clone()));
        }
        if scope.decls.contains_key(name) {
            return Err((
                format!("`{name}` is a resource; reference one of its attributes"),
                Some(format!("for example `${{{name}.id}}`")),
            ));
        }
        let hint = did_you_mean(name, scope.vars.keys().map(String::as_str));
        Err((
            format!("unknown variable `{name}`"),
            hint.or_else(|| Some("declare it under `variables:`".into())),
        ))
    }

    fn each_value(
        &mut self,
        path: &[String],
        scope: &Scope,
    ) -> Result<Evaluated, (String, Option<String>)> {
        let (_, mut value) = scope.each.cloned().ok_or_else(|| {
            (
                "`each.value` is only available in a resource with `for_each`".to_string(),
                None,
            )
        })?;
        for field in path {
            value = value
                .get(field)
                .cloned()
                .ok_or_else(|| (format!("`each.value` has no field `{field}`"), None))?;
        }
        Ok(Evaluated::Known(value))
    }

    fn reference(
        &mut self,
        r: &Ref,
        scope: &Scope,
        pos: Pos,
    ) -> Result<Evaluated, (String, Option<String>)> {
        let Some(decl) = scope.decls.get(&r.resource) else {
            if scope.vars.contains_key(&r.resource) {
                return Err((
                    format!(
                        "`{}` is a variable; variables have no attributes",
                        r.resource
                    ),
                    Some(format!("write `${{var.{}}}`", r.resource)),
                ));
            }
            let hint = did_you_mean(&r.resource, scope.decls.keys().map(String::as_str));
            return Err((
                format!(
                    "unknown resource `{}` in reference `{}.{}`",
                    r.resource, r.resource, r.attr
                ),
                hint,
            ));
        };
        if scope.current == Some(r.resource.as_str()) {
            return Err((format!("resource `{}` refers to itself", r.resource), None));
        }
        if let Some(schema) = decl.schema {
            if !schema.is_readable(&r.attr) {
                let hint = did_you_mean(&r.attr, schema.readable_names());
                let hint = hint.or_else(|| {
                    Some(format!(
                        "{} has: {}",
                        schema.name,
                        schema.readable_names().join(", ")
                    ))
                });
                return Err((
                    format!(
                        "{} `{}` has no attribute `{}`",
                        schema.name, r.resource, r.attr
                    ),
                    hint,
                ));
            }
        }
        let index = self.index(&r.index, scope, pos)?;
        let targets = self.targets(decl, &index)?;
        Ok(Evaluated::Ref(InstanceRef {
            targets,
            splat: index == Index::Splat,
            attr: r.attr.clone(),
        }))
    }

    /// Turns `[count.index]`-style indexes into plain ones.
    fn index(
        &mut self,
        index: &Index,
        scope: &Scope,
        pos: Pos,
    ) -> Result<Index, (String, Option<String>)> {
        let Index::Expr(expr) = index else {
            return Ok(index.clone());
        };
        match self.eval(expr, scope, pos) {
            Some(Evaluated::Known(Value::Number(n))) if n.as_u64().is_some() => {
                Ok(Index::Int(n.as_u64().unwrap_or(0) as usize))
            }
            Some(Evaluated::Known(Value::String(s))) => Ok(Index::Key(s)),
            Some(_) => Err((
                "an index must be a whole number or a string known before apply".into(),
                None,
            )),
            None => Err(("the index above could not be evaluated".into(), None)),
        }
    }

    fn targets(
        &mut self,
        decl: &Decl,
        index: &Index,
    ) -> Result<Vec<Address>, (String, Option<String>)> {
        let name = &decl.name;
        match (&decl.mode, index) {
            (_, Index::Splat) => Ok(decl.addresses()),
            (Mode::Single, Index::None) => Ok(vec![Address::single(name)]),
            (Mode::Single, _) => Err((
                format!("`{name}` has no count or for_each, so it takes no index"),
                Some(format!("write `{name}.ATTR`")),
            )),
            (Mode::Count(n), Index::Int(i)) if i < n => Ok(vec![Address::indexed(name, *i)]),
            (Mode::Count(n), Index::Int(i)) => Err((
                format!("`{name}[{i}]` is out of range: `{name}` has count {n}"),
                None,
            )),
            (Mode::Count(_), _) => Err((
                format!("`{name}` has count: pick an instance by number"),
                Some(format!(
                    "`{name}[0].ATTR`, `{name}[count.index].ATTR` or `{name}[*].ATTR`"
                )),
            )),
            (Mode::ForEach(entries), Index::Key(k)) if entries.iter().any(|(e, _)| e == k) => {
                Ok(vec![Address::keyed(name, k)])
            }
            (Mode::ForEach(entries), Index::Key(k)) => {
                let hint = did_you_mean(k, entries.iter().map(|(e, _)| e.as_str()));
                Err((format!("`{name}` has no instance with key \"{k}\""), hint))
            }
            (Mode::ForEach(_), _) => Err((
                format!("`{name}` has for_each: pick an instance by key"),
                Some(format!("`{name}[\"KEY\"].ATTR` or `{name}[*].ATTR`")),
            )),
        }
    }
}

/// Whether a string in `node` reads a resource attribute.
fn mentions_resource(node: &Node) -> bool {
    match &node.value {
        NodeValue::Str(text) => parse_template(text)
            .map(|segments| segments.iter().any(|s| matches!(s, Segment::Expr(Expr::Ref(_))) || matches!(s, Segment::Expr(Expr::Element(list, _)) if matches!(**list, Expr::Ref(_)))))
            .unwrap_or(false),
        NodeValue::Seq(items) => items.iter().any(mentions_resource),
        NodeValue::Map(entries) => entries.iter().any(|(_, v)| mentions_resource(v)),
        _ => false,
    }
}

fn key_pos(map: &Node, key: &str) -> Option<Pos> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.name == key)
        .map(|(k, _)| k.pos)
}

/// `list[i]` (wrapping around when `wrap`) or `map["k"]`.
fn element_of(value: &Value, index: &Index, wrap: bool) -> Option<Value> {
    match (value, index) {
        (Value::Array(items), Index::Int(i)) if !items.is_empty() => {
            let i = if wrap { i % items.len() } else { *i };
            items.get(i).cloned()
        }
        (Value::Object(map), Index::Key(k)) => map.get(k).cloned(),
        _ => None,
    }
}

/// The text a known value contributes inside a longer string.
fn known_part(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn scalar_to_json(value: NodeValue, raw: &str) -> Value {
    match value {
        NodeValue::Null => Value::Null,
        NodeValue::Bool(b) => Value::Bool(b),
        NodeValue::Int(i) => Value::from(i),
        NodeValue::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(raw.into())),
        NodeValue::Str(s) => Value::String(s),
        NodeValue::Seq(_) | NodeValue::Map(_) => Value::Null,
    }
}

#[cfg(test)]
mod state_section_tests {
    use super::super::{parse, Blueprint, LoadOptions};
    use crate::kinds::Registry;
    use crate::state::S3Location;

    fn load(state: &str, env: Option<&str>) -> Result<Blueprint, Vec<String>> {
        let text = format!(
            "blueprint: net\nenvironments: {{ dev: {{}}, prod: {{}} }}\nstate: {state}\nresources: {{}}\n"
        );
        let options = LoadOptions {
            env: Some(env.unwrap_or("dev").into()),
            vars: Vec::new(),
        };
        parse("bp.yaml", &text, &options, &Registry::default())
            .map_err(|e| e.diagnostics.into_iter().map(|d| d.message).collect())
    }

    #[test]
    fn the_state_section_names_a_file_or_an_s3_object() {
        let local = load("{ path: state/net.json }", None).unwrap();
        assert_eq!(local.state_path, Some("state/net.json".into()));
        assert_eq!(local.state_s3, None);

        let s3 = load(
            "{ backend: s3, bucket: team-state, key: \"net/${env}.json\", region: eu-west-1 }",
            Some("prod"),
        )
        .unwrap();
        assert_eq!(s3.state_path, None);
        assert_eq!(
            s3.state_s3,
            Some(S3Location {
                bucket: "team-state".into(),
                key: "net/prod.json".into(),
                region: Some("eu-west-1".into()),
            })
        );
        let default_key = load("{ backend: s3, bucket: team-state }", None).unwrap();
        assert_eq!(default_key.state_s3.unwrap().key, "net-dev.json");
    }

    #[test]
    fn a_wrong_state_section_is_reported() {
        for (state, expected) in [
            ("{ backend: s3, key: a.json }", "needs `bucket`"),
            (
                "{ backend: s3, bucket: Team_State }",
                "bucket name `Team_State`",
            ),
            ("{ backend: gcs, bucket: b }", "unknown state backend `gcs`"),
            ("{ bucket: team-state }", "`bucket` is for the s3 backend"),
            (
                "{ backend: s3, bucket: team-state, path: x.json }",
                "`path` is for the local backend",
            ),
            (
                "{ backend: s3, bucket: team-state, key: \"a/${region}.json\" }",
                "is not a state object key",
            ),
            (
                "{ backend: s3, bucket: team-state, buckett: x }",
                "unknown key `buckett` in `state`",
            ),
            ("s3://team-state/a.json", "`state` must be a map"),
        ] {
            let errors = load(state, None).unwrap_err();
            assert!(
                errors.iter().any(|e| e.contains(expected)),
                "{state}: {errors:?}"
            );
        }
    }
}
