//! `${...}` expressions: variables, `count.index`, `each`, `element()` and references to
//! other resources, checked against what they name.

use super::expander::Expander;
use super::scope::{Decl, Mode, Scope};
use crate::address::Address;
use crate::blueprint::diagnostics::{did_you_mean, Pos};
use crate::blueprint::expr::{Expr, Index, Ref};
use crate::blueprint::template::InstanceRef;
use serde_json::Value;

pub(super) enum Evaluated {
    Known(Value),
    Ref(InstanceRef),
}

impl Expander<'_> {
    pub(super) fn eval(&mut self, expr: &Expr, scope: &Scope, pos: Pos) -> Option<Evaluated> {
        match self.try_eval(expr, scope, pos) {
            Ok(v) => Some(v),
            Err((message, hint)) => {
                self.error(pos, message, hint);
                None
            }
        }
    }

    pub(super) fn try_eval(
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

    pub(super) fn element(
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

    pub(super) fn var(
        &mut self,
        name: &str,
        scope: &Scope,
    ) -> Result<Evaluated, (String, Option<String>)> {
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

    pub(super) fn each_value(
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

    pub(super) fn reference(
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
    pub(super) fn index(
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

    pub(super) fn targets(
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

/// `list[i]` (wrapping around when `wrap`) or `map["k"]`.
pub(super) fn element_of(value: &Value, index: &Index, wrap: bool) -> Option<Value> {
    match (value, index) {
        (Value::Array(items), Index::Int(i)) if !items.is_empty() => {
            let i = if wrap { i % items.len() } else { *i };
            items.get(i).cloned()
        }
        (Value::Object(map), Index::Key(k)) => map.get(k).cloned(),
        _ => None,
    }
}
