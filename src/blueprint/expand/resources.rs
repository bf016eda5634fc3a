//! Resource declarations: their kind, attribute names, `depends_on`, and the instances
//! each one expands into.

use super::expander::Expander;
use super::meta::Placement;
use super::scope::{Decl, Scope};
use crate::address::{is_identifier, Address};
use crate::blueprint::check::Expect;
use crate::blueprint::diagnostics::{did_you_mean, unknown};
use crate::blueprint::template::Tmpl;
use crate::blueprint::yaml::{Key, Node, NodeValue};
use crate::blueprint::Instance;
use crate::kinds::Schema;
use serde_json::Value;
use std::collections::BTreeMap;

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

impl Expander<'_> {
    pub(super) fn declarations<'n>(
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

    pub(super) fn kind_of(&mut self, key: &Key, node: &Node) -> Option<&'static Schema> {
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
            let problem = unknown("kind", name, None, self.registry.names());
            self.report(problem.at(kind.pos));
        }
        schema
    }

    pub(super) fn instances(
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
                    schema.attr(&k.name).map(|a| {
                        (
                            k.name.clone(),
                            self.convert(v, Some(Expect::attr(a)), &scope),
                        )
                    })
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

    pub(super) fn check_attribute_names(
        &mut self,
        decl: &Decl,
        schema: &Schema,
        entries: &[(Key, Node)],
    ) {
        let known: Vec<&str> = schema
            .attrs
            .iter()
            .map(|a| a.name)
            .chain(META.iter().copied())
            .collect();
        let place = format!("for kind {}", schema.name);
        self.check_keys(entries, ("attribute", Some(&place)), &known);
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

    pub(super) fn explicit_dependencies(
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
}
