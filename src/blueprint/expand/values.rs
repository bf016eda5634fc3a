//! YAML values -> templates: interpolation, lists and maps, checked against the
//! attribute's type wherever the value is known before apply.

use super::eval::Evaluated;
use super::expander::Expander;
use super::scope::Scope;
use crate::blueprint::check::{coerce, length_problem, missing_attribute, Expect};
use crate::blueprint::diagnostics::{unknown, Pos};
use crate::blueprint::expr::{parse_template, Expr, Segment};
use crate::blueprint::template::{key_string, InstanceRef, Part, Tmpl};
use crate::blueprint::yaml::{Key, Node, NodeValue};
use crate::kinds::AttrType;
use serde_json::Value;

impl Expander<'_> {
    /// Converts a YAML node into a template, checking it against `expect` (its type and
    /// rule) wherever the value is known; a reference is known after apply, and not checked.
    pub(super) fn convert(&mut self, node: &Node, expect: Option<Expect>, scope: &Scope) -> Tmpl {
        match &node.value {
            NodeValue::Str(text) => self.string(node, text, expect, scope),
            NodeValue::Seq(items) => self.sequence(node, items, expect, scope),
            NodeValue::Map(entries) => self.mapping(node, entries, expect, scope),
            scalar => {
                let value = scalar_to_json(scalar.clone(), node.raw.as_deref().unwrap_or(""));
                let value = match (expect.map(|e| e.ty), &node.raw) {
                    (Some(AttrType::String), Some(raw)) => Value::String(raw.clone()),
                    _ => value,
                };
                Tmpl::Lit(self.checked(value, expect, node.pos))
            }
        }
    }

    pub(super) fn checked(&mut self, value: Value, expect: Option<Expect>, pos: Pos) -> Value {
        let Some(expect) = expect else { return value };
        match coerce(value.clone(), expect) {
            Ok(v) => v,
            Err(problems) => {
                for problem in problems {
                    self.report(problem.at(pos));
                }
                value
            }
        }
    }

    pub(super) fn string(
        &mut self,
        node: &Node,
        text: &str,
        expect: Option<Expect>,
        scope: &Scope,
    ) -> Tmpl {
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
                return Tmpl::Lit(self.checked(v, expect, node.pos));
            }
        }
        let mut parts = Vec::new();
        for segment in segments {
            match segment {
                Segment::Lit(s) => parts.push(Part::Lit(s)),
                Segment::Expr(expr) => match self.eval(&expr, scope, node.pos) {
                    Some(Evaluated::Known(v)) => parts.push(Part::Lit(known_part(v))),
                    Some(Evaluated::Ref(r)) => {
                        self.check_ref_shape(&r, expect.map(|e| e.ty), node.pos);
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
        Tmpl::Lit(self.checked(Value::String(text), expect, node.pos))
    }

    /// Evaluates an expression that needs no resource (no error reported when it does).
    pub(super) fn peek_known(&mut self, expr: &Expr, scope: &Scope, pos: Pos) -> Option<Evaluated> {
        if matches!(expr, Expr::Ref(_)) {
            return None;
        }
        self.try_eval(expr, scope, pos).ok()
    }

    pub(super) fn check_ref_shape(&mut self, r: &InstanceRef, ty: Option<&AttrType>, pos: Pos) {
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

    pub(super) fn sequence(
        &mut self,
        node: &Node,
        items: &[Node],
        expect: Option<Expect>,
        scope: &Scope,
    ) -> Tmpl {
        let item_expect = match expect.map(|e| e.ty) {
            None | Some(AttrType::Json) => None,
            Some(AttrType::List(_)) => expect.and_then(Expect::item),
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
            .map(|i| self.convert(i, item_expect, scope))
            .collect();
        // Each item is one item, a reference too: a `[*]` item is refused (`check_ref_shape`).
        if let Some(problem) = expect.and_then(|e| length_problem(converted.len(), e)) {
            self.report(problem.at(node.pos));
        }
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

    pub(super) fn mapping(
        &mut self,
        node: &Node,
        entries: &[(Key, Node)],
        expect: Option<Expect>,
        scope: &Scope,
    ) -> Tmpl {
        let ty = expect.map(|e| e.ty);
        let field_expect = |name: &str| -> Result<Option<Expect>, ()> {
            match ty {
                None => Ok(None),
                Some(AttrType::StringMap) => Ok(Some(Expect::of(&AttrType::String))),
                Some(AttrType::Object(attrs)) => attrs
                    .iter()
                    .find(|a| a.name == name)
                    .map(|a| Some(Expect::attr(a)))
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
                    self.report(missing_attribute(attr).at(node.pos));
                }
            }
        }
        let free_form = !matches!(ty, Some(AttrType::Object(_)));
        let mut out = Vec::new();
        for (key, value) in entries {
            match field_expect(&key.name) {
                Ok(t) => {
                    let key = self.map_key(key, free_form, scope);
                    out.push((key, self.convert(value, t, scope)));
                }
                Err(()) => {
                    let Some(AttrType::Object(attrs)) = ty else {
                        continue;
                    };
                    let known = attrs.iter().map(|a| a.name);
                    self.report(unknown("attribute", &key.name, None, known).at(key.pos));
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
    pub(super) fn map_key(&mut self, key: &Key, free_form: bool, scope: &Scope) -> Tmpl {
        if !free_form || !key.name.contains("${") {
            return Tmpl::Lit(Value::String(key.name.clone()));
        }
        let node = Node {
            pos: key.pos,
            raw: None,
            value: NodeValue::Str(key.name.clone()),
        };
        self.string(&node, &key.name, Some(Expect::of(&AttrType::String)), scope)
    }
}

/// The text a known value contributes inside a longer string.
fn known_part(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

pub(super) fn scalar_to_json(value: NodeValue, raw: &str) -> Value {
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
