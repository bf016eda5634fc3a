//! Located blueprint errors, rendered the way compilers do: message, file:line:col, the
//! offending line with a caret, and a hint that says how to fix it.

use std::fmt::Write as _;

/// 1-based line and column in the blueprint file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            pos,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Every error found in one blueprint, with the text needed to show the offending lines.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.render())]
pub struct BlueprintErrors {
    pub file: String,
    pub source_text: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl BlueprintErrors {
    pub fn render(&self) -> String {
        let mut sorted = self.diagnostics.clone();
        sorted.sort_by_key(|d| d.pos);
        let mut out = String::new();
        for d in &sorted {
            self.render_one(&mut out, d);
        }
        let n = sorted.len();
        let _ = write!(
            out,
            "{n} error{} in {}",
            if n == 1 { "" } else { "s" },
            self.file
        );
        out
    }

    fn render_one(&self, out: &mut String, d: &Diagnostic) {
        render_located(out, "error", d, &self.file, &self.source_text);
    }
}

/// One located message: `LABEL: message`, `--> file:line:col`, the line with a caret under
/// the column and the hint. Errors use the label "error"; `innovate check` uses the severity
/// and rule id ("high[INV002]").
pub fn render_located(out: &mut String, label: &str, d: &Diagnostic, file: &str, source: &str) {
    let _ = writeln!(out, "{label}: {}", d.message);
    let _ = writeln!(out, "  --> {file}:{}:{}", d.pos.line, d.pos.col);
    if let Some(line) = source.lines().nth(d.pos.line.saturating_sub(1)) {
        let number = d.pos.line.to_string();
        let gutter = " ".repeat(number.len());
        let caret_at = " ".repeat(d.pos.col.saturating_sub(1));
        let _ = writeln!(out, "{gutter} |");
        let _ = writeln!(out, "{number} | {line}");
        let _ = writeln!(out, "{gutter} | {caret_at}^");
    }
    if let Some(hint) = &d.hint {
        let _ = writeln!(out, "  = hint: {hint}");
    }
    out.push('\n');
}

/// An error before it is placed: what is wrong and how to fix it. Checks of values that have
/// no position of their own return these; the caller locates them with [`Problem::at`].
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(message: impl Into<String>, hint: Option<String>) -> Self {
        Problem {
            message: message.into(),
            hint,
        }
    }

    pub fn at(self, pos: Pos) -> Diagnostic {
        Diagnostic {
            pos,
            message: self.message,
            hint: self.hint,
        }
    }

    /// The same problem inside a larger value: "item 2: ...", "`from_port`: ...".
    pub fn within(self, place: &str) -> Self {
        Problem {
            message: format!("{place}: {}", self.message),
            ..self
        }
    }
}

/// The one "unknown name" error, used for every key and name a blueprint spells (sections,
/// `state` keys, attributes, timeouts, lifecycle and check options, kinds): "unknown WHAT
/// `name` PLACE", hinted with the closest of `known`, or with all of them when none is close.
pub fn unknown<'a>(
    what: &str,
    name: &str,
    place: Option<&str>,
    known: impl IntoIterator<Item = &'a str>,
) -> Problem {
    let known: Vec<&str> = known.into_iter().collect();
    let hint = did_you_mean(name, known.iter().copied())
        .unwrap_or_else(|| format!("expected one of: {}", known.join(", ")));
    let place = place.map(|p| format!(" {p}")).unwrap_or_default();
    Problem::new(format!("unknown {what} `{name}`{place}"), Some(hint))
}

/// "did you mean `cidr_block`?" when a close candidate exists. Case is ignored while
/// comparing (`spot` finds `SPOT`), the suggestion keeps the candidate's own spelling.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let wrong = wrong.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&wrong, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_caret_and_hint() {
        let errors = BlueprintErrors {
            file: "plans/x.yaml".into(),
            source_text: "resources:\n  main:\n    cidr: 10.0.0.0/16\n".into(),
            diagnostics: vec![
                Diagnostic::new(Pos { line: 3, col: 5 }, "unknown attribute `cidr`")
                    .hint("did you mean `cidr_block`?"),
            ],
        };
        let expected = "error: unknown attribute `cidr`\n  --> plans/x.yaml:3:5\n  |\n3 |     cidr: 10.0.0.0/16\n  |     ^\n  = hint: did you mean `cidr_block`?\n\n1 error in plans/x.yaml";
        assert_eq!(errors.render(), expected);
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("cidr", ["cidr_block", "tags"]).as_deref(),
            Some("did you mean `cidr_block`?")
        );
        assert_eq!(did_you_mean("zzz", ["cidr_block", "tags"]), None);
        assert_eq!(
            did_you_mean("spott", ["ON_DEMAND", "SPOT"]).as_deref(),
            Some("did you mean `SPOT`?"),
            "case is ignored, the candidate's spelling kept"
        );
    }

    #[test]
    fn unknown_names_suggest_the_closest_or_list_them_all() {
        let close = unknown("timeout", "delet", None, ["create", "update", "delete"]);
        assert_eq!(close.message, "unknown timeout `delet`");
        assert_eq!(close.hint.as_deref(), Some("did you mean `delete`?"));
        let placed = unknown("key", "buckett", Some("in `state`"), ["bucket"]);
        assert_eq!(placed.message, "unknown key `buckett` in `state`");
        let far = unknown("timeout", "zzz", None, ["create", "delete"]);
        assert_eq!(far.hint.as_deref(), Some("expected one of: create, delete"));
        let located = far.within("`timeouts`").at(Pos { line: 3, col: 7 });
        assert_eq!(located.message, "`timeouts`: unknown timeout `zzz`");
        assert_eq!(located.pos, Pos { line: 3, col: 7 });
    }
}
