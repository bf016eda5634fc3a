//! The expression language inside `${...}`: variables, env, region, count.index, each.key,
//! each.value and references to other resources (`main.id`, `private[0].id`,
//! `app["http"].id`, `private[*].id`, `public[count.index].id`).

/// A string with `${...}` parts. `$${` writes a literal `${`.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Lit(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `var.NAME` or a bare `NAME` that is a variable.
    Var(String),
    Env,
    Region,
    CountIndex,
    EachKey,
    /// `each.value` with an optional path into a map value (`each.value.port`).
    EachValue(Vec<String>),
    Ref(Ref),
    /// `var.azs[count.index]`: one element of a list or map variable.
    VarIndex(String, Index),
    /// `element(LIST, INDEX)`: the element at INDEX modulo the list's length, so that three
    /// private subnets can share one NAT gateway in dev and use three in prod.
    Element(Box<Expr>, Box<Expr>),
}

/// `NAME[INDEX].ATTR`
#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    pub resource: String,
    pub index: Index,
    pub attr: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Index {
    None,
    Int(usize),
    Key(String),
    /// `[*]`: every instance, giving a list.
    Splat,
    /// `[count.index]`, `[each.key]`, `[var.n]`: known once the instance is expanded.
    Expr(Box<Expr>),
}

/// Where in the string a parse error happened (0-based char offset), and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

/// Splits a string into literal and expression segments.
pub fn parse_template(text: &str) -> Result<Vec<Segment>, ExprError> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find('$') {
        let after = &rest[start..];
        if after.starts_with("$${") {
            literal.push_str(&rest[..start]);
            literal.push_str("${");
            advance(&mut rest, &mut offset, start + 3);
        } else if after.starts_with("${") {
            literal.push_str(&rest[..start]);
            let close = after.find('}').ok_or_else(|| ExprError {
                offset: offset + start,
                message: "`${` is never closed with `}`".into(),
            })?;
            let inner = &after[2..close];
            let expr = parse_expr(inner.trim()).map_err(|message| ExprError {
                offset: offset + start,
                message,
            })?;
            if !literal.is_empty() {
                segments.push(Segment::Lit(std::mem::take(&mut literal)));
            }
            segments.push(Segment::Expr(expr));
            advance(&mut rest, &mut offset, start + close + 1);
        } else {
            literal.push_str(&rest[..=start]);
            advance(&mut rest, &mut offset, start + 1);
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() || segments.is_empty() {
        segments.push(Segment::Lit(literal));
    }
    Ok(segments)
}

fn advance(rest: &mut &str, offset: &mut usize, by: usize) {
    *offset += rest[..by].chars().count();
    *rest = &rest[by..];
}

/// Parses the text between `${` and `}`.
pub fn parse_expr(text: &str) -> Result<Expr, String> {
    let mut p = Cursor { text, at: 0 };
    let expr = p.expr()?;
    if p.at < text.len() {
        return Err(format!("unexpected `{}` in `${{{text}}}`", &text[p.at..]));
    }
    Ok(expr)
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.at += s.len();
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(format!("expected a name in `${{{}}}`", self.text));
        }
        let name = rest[..len].to_string();
        self.at += len;
        Ok(name)
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let head = self.ident()?;
        match head.as_str() {
            "env" if self.rest().is_empty() || !self.rest().starts_with(['.', '[']) => {
                Ok(Expr::Env)
            }
            "region" if !self.rest().starts_with(['.', '[']) => Ok(Expr::Region),
            "var" => {
                self.expect_dot("var.NAME")?;
                let name = self.ident()?;
                if self.eat("[") {
                    return Ok(Expr::VarIndex(name, self.index()?));
                }
                Ok(Expr::Var(name))
            }
            _ if self.eat("(") => self.call(&head),
            "count" => {
                self.expect_dot("count.index")?;
                match self.ident()?.as_str() {
                    "index" => Ok(Expr::CountIndex),
                    other => Err(format!(
                        "`count.{other}` does not exist; did you mean `count.index`?"
                    )),
                }
            }
            "each" => {
                self.expect_dot("each.key or each.value")?;
                match self.ident()?.as_str() {
                    "key" => Ok(Expr::EachKey),
                    "value" => {
                        let mut path = Vec::new();
                        while self.eat(".") {
                            path.push(self.ident()?);
                        }
                        Ok(Expr::EachValue(path))
                    }
                    other => Err(format!(
                        "`each.{other}` does not exist; use each.key or each.value"
                    )),
                }
            }
            _ => self.reference_or_variable(head),
        }
    }

    fn call(&mut self, function: &str) -> Result<Expr, String> {
        if function != "element" {
            return Err(format!(
                "unknown function `{function}`; the one function is element(LIST, INDEX)"
            ));
        }
        let list = self.expr()?;
        self.skip_spaces();
        if !self.eat(",") {
            return Err("element takes two arguments: element(LIST, INDEX)".into());
        }
        self.skip_spaces();
        let index = self.expr()?;
        self.skip_spaces();
        if !self.eat(")") {
            return Err("expected `)` after element(LIST, INDEX)".into());
        }
        Ok(Expr::Element(Box::new(list), Box::new(index)))
    }

    fn skip_spaces(&mut self) {
        while self.eat(" ") {}
    }

    fn expect_dot(&mut self, form: &str) -> Result<(), String> {
        if self.eat(".") {
            Ok(())
        } else {
            Err(format!("expected `{form}`"))
        }
    }

    /// `NAME` alone is a variable; `NAME.ATTR` / `NAME[..].ATTR` a resource reference.
    fn reference_or_variable(&mut self, resource: String) -> Result<Expr, String> {
        let index = if self.eat("[") {
            self.index()?
        } else {
            Index::None
        };
        if index == Index::None && self.rest().is_empty() {
            return Ok(Expr::Var(resource));
        }
        if !self.eat(".") {
            return Err(format!(
                "expected `.ATTRIBUTE` after `{resource}` (for example `{resource}.id`)"
            ));
        }
        let attr = self.ident()?;
        Ok(Expr::Ref(Ref {
            resource,
            index,
            attr,
        }))
    }

    fn index(&mut self) -> Result<Index, String> {
        let index = if self.eat("*") {
            Index::Splat
        } else if self.rest().starts_with('"') {
            let end = self.rest()[1..]
                .find('"')
                .ok_or("unterminated string in index")?
                + 2;
            let key = serde_json::from_str(&self.rest()[..end]).map_err(|e| e.to_string())?;
            self.at += end;
            Index::Key(key)
        } else if self.rest().starts_with(|c: char| c.is_ascii_digit()) {
            let digits = self
                .rest()
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(self.rest().len());
            let n = self.rest()[..digits]
                .parse()
                .map_err(|_| "index too large")?;
            self.at += digits;
            Index::Int(n)
        } else {
            Index::Expr(Box::new(self.expr()?))
        };
        if !self.eat("]") {
            return Err("expected `]`".into());
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(resource: &str, index: Index, attr: &str) -> Expr {
        Expr::Ref(Ref {
            resource: resource.into(),
            index,
            attr: attr.into(),
        })
    }

    #[test]
    fn parses_every_form_of_the_contract() {
        assert_eq!(parse_expr("var.n"), Ok(Expr::Var("n".into())));
        assert_eq!(
            parse_expr("nat_gateways"),
            Ok(Expr::Var("nat_gateways".into()))
        );
        assert_eq!(parse_expr("env"), Ok(Expr::Env));
        assert_eq!(parse_expr("region"), Ok(Expr::Region));
        assert_eq!(parse_expr("count.index"), Ok(Expr::CountIndex));
        assert_eq!(parse_expr("each.key"), Ok(Expr::EachKey));
        assert_eq!(
            parse_expr("each.value.port"),
            Ok(Expr::EachValue(vec!["port".into()]))
        );
        assert_eq!(parse_expr("main.id"), Ok(r("main", Index::None, "id")));
        assert_eq!(
            parse_expr("private[0].id"),
            Ok(r("private", Index::Int(0), "id"))
        );
        assert_eq!(
            parse_expr("app[\"http\"].id"),
            Ok(r("app", Index::Key("http".into()), "id"))
        );
        assert_eq!(
            parse_expr("private[*].id"),
            Ok(r("private", Index::Splat, "id"))
        );
        assert_eq!(
            parse_expr("var.azs[count.index]"),
            Ok(Expr::VarIndex(
                "azs".into(),
                Index::Expr(Box::new(Expr::CountIndex))
            ))
        );
        assert_eq!(
            parse_expr("element(nat[*].id, count.index)"),
            Ok(Expr::Element(
                Box::new(r("nat", Index::Splat, "id")),
                Box::new(Expr::CountIndex)
            ))
        );
        assert!(parse_expr("upper(env)")
            .unwrap_err()
            .contains("unknown function"));
        assert_eq!(
            parse_expr("public[count.index].id"),
            Ok(r("public", Index::Expr(Box::new(Expr::CountIndex)), "id"))
        );
    }

    #[test]
    fn rejects_malformed_expressions_with_a_reason() {
        assert!(parse_expr("count.idx").unwrap_err().contains("count.index"));
        assert!(parse_expr("main.").is_err());
        assert!(parse_expr("main[0]").unwrap_err().contains(".ATTRIBUTE"));
        assert!(parse_expr("a[1.id").is_err());
        assert!(parse_expr("").is_err());
    }

    #[test]
    fn splits_templates_into_segments() {
        assert_eq!(
            parse_template("innovate-${env}-x"),
            Ok(vec![
                Segment::Lit("innovate-".into()),
                Segment::Expr(Expr::Env),
                Segment::Lit("-x".into())
            ])
        );
        assert_eq!(parse_template("${env}"), Ok(vec![Segment::Expr(Expr::Env)]));
        assert_eq!(
            parse_template("cost $5 $${literal}"),
            Ok(vec![Segment::Lit("cost $5 ${literal}".into())])
        );
        assert_eq!(parse_template(""), Ok(vec![Segment::Lit(String::new())]));
        let err = parse_template("ab ${env").unwrap_err();
        assert_eq!(err.offset, 3);
    }
}
