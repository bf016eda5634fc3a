//! A YAML tree that remembers where every node came from, so that every blueprint error can
//! point at file:line:col. Built from yaml-rust2's marked events (serde_yaml drops positions).

use super::diagnostics::{Diagnostic, Pos};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: NodeValue,
    /// The source text of a plain scalar read as a number or boolean, so that a string-typed
    /// attribute gets `1.30`, not `1.3`.
    pub raw: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string; `quoted` strings are never read as numbers or booleans.
    Str(String),
    Seq(Vec<Node>),
    /// Keys keep their own positions (for "unknown attribute" errors).
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

impl Node {
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            NodeValue::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a map",
        }
    }

    /// Looks up a key of a map node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }
}

/// Reads a plain (unquoted) scalar the way YAML 1.2's core schema does.
pub fn plain_scalar(text: &str) -> NodeValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => NodeValue::Null,
        "true" | "True" | "TRUE" => NodeValue::Bool(true),
        "false" | "False" | "FALSE" => NodeValue::Bool(false),
        _ => {
            if let Ok(i) = text.parse::<i64>() {
                NodeValue::Int(i)
            } else if looks_like_float(text) {
                text.parse::<f64>()
                    .map(NodeValue::Float)
                    .unwrap_or_else(|_| NodeValue::Str(text.into()))
            } else {
                NodeValue::Str(text.to_string())
            }
        }
    }
}

fn looks_like_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    body.chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '.')
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
}

/// Parses one YAML document. Syntax errors, anchors/aliases (unsupported: they hide where a
/// value came from) and duplicate keys come back as located diagnostics.
pub fn parse(source: &str) -> Result<Node, Vec<Diagnostic>> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(source);
    if let Err(err) = parser.load(&mut builder, false) {
        let marker = err.marker();
        return Err(vec![Diagnostic::new(
            pos_of(marker),
            format!("this is not valid YAML: {}", err.info()),
        )
        .hint("check the indentation and quoting near this point")]);
    }
    if !builder.errors.is_empty() {
        return Err(builder.errors);
    }
    Ok(builder.root.unwrap_or(Node {
        pos: Pos { line: 1, col: 1 },
        value: NodeValue::Null,
        raw: None,
    }))
}

fn pos_of(marker: &Marker) -> Pos {
    Pos {
        line: marker.line().max(1),
        col: marker.col() + 1,
    }
}

/// A map or sequence under construction. A map keeps the key waiting for its value and the
/// line each key name was first seen on: duplicates are found by a hash lookup, since a
/// blueprint's `resources:` map can have thousands of keys.
enum Open {
    Seq(Pos, Vec<Node>),
    Map(Pos, Vec<(Key, Node)>, Option<Key>, HashMap<String, usize>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    root: Option<Node>,
    errors: Vec<Diagnostic>,
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        let pos = pos_of(&marker);
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                self.reject_anchor(anchor, pos);
                let node = match style {
                    TScalarStyle::Plain => match plain_scalar(&text) {
                        NodeValue::Str(s) => Node {
                            pos,
                            value: NodeValue::Str(s),
                            raw: None,
                        },
                        value => Node {
                            pos,
                            value,
                            raw: Some(text),
                        },
                    },
                    _ => Node {
                        pos,
                        value: NodeValue::Str(text),
                        raw: None,
                    },
                };
                self.push(node);
            }
            Event::SequenceStart(anchor, _) => {
                self.reject_anchor(anchor, pos);
                self.stack.push(Open::Seq(pos, Vec::new()));
            }
            Event::MappingStart(anchor, _) => {
                self.reject_anchor(anchor, pos);
                self.stack
                    .push(Open::Map(pos, Vec::new(), None, HashMap::new()));
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::Alias(_) => {
                self.errors.push(
                    Diagnostic::new(pos, "YAML aliases (*name) are not supported in blueprints")
                        .hint("use a variable and ${var.NAME} to share a value"),
                );
                self.push(Node {
                    pos,
                    value: NodeValue::Null,
                    raw: None,
                });
            }
            _ => {}
        }
    }
}

impl Builder {
    fn reject_anchor(&mut self, anchor: usize, pos: Pos) {
        if anchor != 0 {
            self.errors.push(
                Diagnostic::new(pos, "YAML anchors (&name) are not supported in blueprints")
                    .hint("use a variable and ${var.NAME} to share a value"),
            );
        }
    }

    fn close(&mut self) {
        let node = match self.stack.pop() {
            Some(Open::Seq(pos, items)) => Node {
                pos,
                value: NodeValue::Seq(items),
                raw: None,
            },
            Some(Open::Map(pos, entries, _, _)) => Node {
                pos,
                value: NodeValue::Map(entries),
                raw: None,
            },
            None => return,
        };
        self.push(node);
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq(_, items)) => items.push(node),
            Some(Open::Map(_, entries, pending, first_lines)) => match pending.take() {
                Some(key) => entries.push((key, node)),
                None => {
                    let name = match &node.value {
                        NodeValue::Str(s) => s.clone(),
                        NodeValue::Int(i) => i.to_string(),
                        NodeValue::Bool(b) => b.to_string(),
                        NodeValue::Null => "null".into(),
                        NodeValue::Float(f) => f.to_string(),
                        _ => {
                            self.errors
                                .push(Diagnostic::new(node.pos, "map keys must be plain names"));
                            String::new()
                        }
                    };
                    if let Some(&first_line) = first_lines.get(&name) {
                        self.errors.push(
                            Diagnostic::new(node.pos, format!("duplicate key `{name}`")).hint(
                                format!("`{name}` is already set on line {first_line}; keep one"),
                            ),
                        );
                    } else {
                        first_lines.insert(name.clone(), node.pos.line);
                    }
                    *pending = Some(Key {
                        name,
                        pos: node.pos,
                    });
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let doc = parse("a:\n  b: 10.0.0.0/16\n  c: [1, \"2\", true]\n").unwrap();
        let a = doc.get("a").unwrap();
        let (key, value) = &a.as_map().unwrap()[0];
        assert_eq!((key.name.as_str(), key.pos), ("b", Pos { line: 2, col: 3 }));
        assert_eq!(value.pos, Pos { line: 2, col: 6 });
        assert_eq!(value.as_str(), Some("10.0.0.0/16"));
        let c = a.get("c").unwrap();
        let NodeValue::Seq(items) = &c.value else {
            panic!("not a list")
        };
        assert_eq!(items[0].value, NodeValue::Int(1));
        assert_eq!(items[1].value, NodeValue::Str("2".into()));
        assert_eq!(items[2].value, NodeValue::Bool(true));
    }

    #[test]
    fn syntax_errors_are_located() {
        let errors = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.contains("not valid YAML"),
            "{}",
            errors[0].message
        );
        assert!(errors[0].pos.line >= 1);
    }

    #[test]
    fn duplicate_keys_and_anchors_are_errors() {
        let errors = parse("a: 1\na: 2\nb: &x 3\nc: *x\n").unwrap_err();
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(messages.contains(&"duplicate key `a`"), "{messages:?}");
        assert!(
            messages.iter().any(|m| m.contains("anchors")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("aliases")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_duplicate_key_names_the_line_of_the_first() {
        let errors = parse("m:\n  a: 1\n  b: 2\n  a: 3\nn: {c: 1, c: 2}\n").unwrap_err();
        let hints: Vec<_> = errors.iter().filter_map(|e| e.hint.as_deref()).collect();
        assert_eq!(
            hints,
            [
                "`a` is already set on line 2; keep one",
                "`c` is already set on line 5; keep one"
            ]
        );
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        assert_eq!(plain_scalar("3"), NodeValue::Int(3));
        assert_eq!(plain_scalar("-1"), NodeValue::Int(-1));
        assert_eq!(plain_scalar("1.5"), NodeValue::Float(1.5));
        assert_eq!(plain_scalar("true"), NodeValue::Bool(true));
        assert_eq!(plain_scalar("~"), NodeValue::Null);
        assert_eq!(
            plain_scalar("10.0.0.0/16"),
            NodeValue::Str("10.0.0.0/16".into())
        );
        assert_eq!(
            plain_scalar("us-east-1a"),
            NodeValue::Str("us-east-1a".into())
        );
    }
}
