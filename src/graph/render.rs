//! Pictures of the DAG: Graphviz DOT (the default of `innovate graph`) and Mermaid, with
//! the instances grouped (by tier unless told otherwise) as clusters / subgraphs, and
//! optionally each node coloured by what a plan will do to it.

use super::tiers::{by_tier, Tier};
use super::Dag;
use crate::address::Address;
use crate::kinds::Registry;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What a plan does to a node, as a colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
}

impl Mark {
    /// Green for new, yellow for changed in place, red for anything destroyed, grey for
    /// untouched.
    fn fill(self) -> &'static str {
        match self {
            Mark::Create => "#b7e4c7",
            Mark::Update => "#ffe08a",
            Mark::Replace | Mark::Delete => "#f4a3a3",
            Mark::NoOp => "#e0e0e0",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Mark::NoOp => "noop",
            Mark::Create => "create",
            Mark::Update => "update",
            Mark::Replace => "replace",
            Mark::Delete => "delete",
        }
    }

    const ALL: [Mark; 5] = [
        Mark::Create,
        Mark::Update,
        Mark::Replace,
        Mark::Delete,
        Mark::NoOp,
    ];
}

/// What to draw: the groups (every node is in exactly one; an empty id is drawn ungrouped),
/// each node's kind, and, for `graph --plan`, each node's mark.
pub struct Picture<'a> {
    pub groups: Vec<Tier<'a>>,
    pub kinds: &'a BTreeMap<Address, String>,
    pub marks: BTreeMap<Address, Mark>,
}

impl<'a> Picture<'a> {
    /// The DAG's instances grouped by tier, unmarked.
    pub fn tiers(
        dag: &'a Dag,
        kinds: &'a BTreeMap<Address, String>,
        registry: &Registry,
    ) -> Picture<'a> {
        Picture {
            groups: by_tier(dag.nodes(), kinds, registry),
            kinds,
            marks: BTreeMap::new(),
        }
    }

    fn kind(&self, address: &Address) -> &str {
        self.kinds.get(address).map(String::as_str).unwrap_or("")
    }

    fn members(&self) -> impl Iterator<Item = &Address> {
        self.groups.iter().flat_map(|g| g.members.iter().copied())
    }
}

/// DOT text; `kinds` labels each node with its kind.
pub fn to_dot(
    dag: &Dag,
    name: &str,
    kinds: &BTreeMap<Address, String>,
    registry: &Registry,
) -> String {
    dot(dag, name, &Picture::tiers(dag, kinds, registry))
}

pub fn dot(dag: &Dag, name: &str, picture: &Picture) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(name));
    let _ = writeln!(
        out,
        "  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];"
    );
    for group in &picture.groups {
        let indent = if group.id.is_empty() { "  " } else { "    " };
        if !group.id.is_empty() {
            let _ = writeln!(
                out,
                "  subgraph {} {{\n    label={};\n    style=rounded;\n    color=gray60;",
                quote(&format!("cluster_{}", group.id)),
                quote(&group.title)
            );
        }
        for address in &group.members {
            let label = format!("{address}\\n{}", picture.kind(address));
            let fill = picture
                .marks
                .get(*address)
                .map(|m| format!(", style=\"rounded,filled\", fillcolor=\"{}\"", m.fill()))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{indent}{} [label=\"{}\"{fill}];",
                quote(&address.to_string()),
                label.replace('"', "\\\"")
            );
        }
        if !group.id.is_empty() {
            out.push_str("  }\n");
        }
    }
    if !picture.marks.is_empty() {
        dot_legend(&mut out);
    }
    for (from, to) in sorted_edges(dag) {
        let _ = writeln!(
            out,
            "  {} -> {};",
            quote(&from.to_string()),
            quote(&to.to_string())
        );
    }
    out.push_str("}\n");
    out
}

/// A key to the colours, drawn apart from the graph.
fn dot_legend(out: &mut String) {
    out.push_str("  subgraph \"cluster_legend\" {\n    label=\"plan\";\n    style=rounded;\n    color=gray60;\n");
    for mark in Mark::ALL {
        let _ = writeln!(
            out,
            "    \"legend_{0}\" [label=\"{0}\", style=\"rounded,filled\", fillcolor=\"{1}\"];",
            mark.class(),
            mark.fill()
        );
    }
    out.push_str("  }\n");
}

/// Mermaid flowchart text (renders on GitHub and in the seeds' diagrams).
pub fn to_mermaid(dag: &Dag, kinds: &BTreeMap<Address, String>, registry: &Registry) -> String {
    mermaid(dag, &Picture::tiers(dag, kinds, registry))
}

pub fn mermaid(dag: &Dag, picture: &Picture) -> String {
    let ids: BTreeMap<&Address, String> = sorted(picture.members())
        .into_iter()
        .enumerate()
        .map(|(i, a)| (a, format!("n{i}")))
        .collect();
    let mut out = String::from("flowchart LR\n");
    for group in &picture.groups {
        let indent = if group.id.is_empty() { "  " } else { "    " };
        if !group.id.is_empty() {
            let _ = writeln!(out, "  subgraph tier_{}[\"{}\"]", group.id, group.title);
        }
        for address in &group.members {
            let label = format!("{address}<br/>{}", picture.kind(address)).replace('"', "#quot;");
            let _ = writeln!(out, "{indent}{}[\"{label}\"]", ids[address]);
        }
        if !group.id.is_empty() {
            out.push_str("  end\n");
        }
    }
    for (from, to) in sorted_edges(dag) {
        if let (Some(from), Some(to)) = (ids.get(from), ids.get(to)) {
            let _ = writeln!(out, "  {from} --> {to}");
        }
    }
    mermaid_classes(&mut out, picture, &ids);
    out
}

/// `classDef create fill:…` and `class n0,n3 create` for every mark in use.
fn mermaid_classes(out: &mut String, picture: &Picture, ids: &BTreeMap<&Address, String>) {
    for mark in Mark::ALL {
        let marked: Vec<&str> = picture
            .marks
            .iter()
            .filter(|(_, m)| **m == mark)
            .filter_map(|(a, _)| ids.get(a).map(String::as_str))
            .collect();
        if !marked.is_empty() {
            let _ = writeln!(out, "  classDef {} fill:{}", mark.class(), mark.fill());
            let _ = writeln!(out, "  class {} {}", marked.join(","), mark.class());
        }
    }
}

fn sorted<'a>(nodes: impl Iterator<Item = &'a Address>) -> Vec<&'a Address> {
    let mut v: Vec<_> = nodes.collect();
    v.sort();
    v
}

fn sorted_edges(dag: &Dag) -> Vec<(&Address, &Address)> {
    let mut v: Vec<_> = dag.edges().collect();
    v.sort();
    v
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        crate::aws::registry(crate::aws::AwsContext::new(None))
    }

    #[test]
    fn dot_lists_nodes_and_edges_deterministically() {
        let (vpc, subnet) = (Address::single("main"), Address::indexed("private", 0));
        let dag = Dag::from_edges(
            [subnet.clone(), vpc.clone()],
            [(vpc.clone(), subnet.clone())],
        );
        let kinds = BTreeMap::from([
            (vpc, "ec2.vpc".to_string()),
            (subnet, "ec2.subnet".to_string()),
        ]);
        let dot = to_dot(&dag, "net", &kinds, &registry());
        assert!(dot.starts_with("digraph \"net\" {"), "{dot}");
        assert!(
            dot.contains("\"main\" [label=\"main\\nec2.vpc\"];"),
            "{dot}"
        );
        assert!(dot.contains("\"main\" -> \"private[0]\";"), "{dot}");
        let mermaid = to_mermaid(&dag, &kinds, &registry());
        assert!(mermaid.contains("n0[\"main<br/>ec2.vpc\"]"), "{mermaid}");
        assert!(mermaid.contains("n0 --> n1"), "{mermaid}");
    }

    #[test]
    fn instances_are_grouped_by_tier() {
        let (role, vpc, subnet) = (
            Address::single("role"),
            Address::single("main"),
            Address::indexed("private", 0),
        );
        let dag = Dag::from_edges(
            [role.clone(), subnet.clone(), vpc.clone()],
            [(vpc.clone(), subnet.clone())],
        );
        let kinds = BTreeMap::from([
            (role, "iam.role".to_string()),
            (vpc, "ec2.vpc".to_string()),
            (subnet, "ec2.subnet".to_string()),
        ]);
        let dot = to_dot(&dag, "net", &kinds, &registry());
        let network = "  subgraph \"cluster_ec2\" {\n    label=\"network (ec2)\";\n    style=rounded;\n    color=gray60;\n    \"main\" [label=\"main\\nec2.vpc\"];\n    \"private[0]\" [label=\"private[0]\\nec2.subnet\"];\n  }\n";
        assert!(dot.contains(network), "{dot}");
        assert!(
            dot.find("cluster_iam").unwrap() < dot.find("cluster_ec2").unwrap(),
            "{dot}"
        );
        let mermaid = to_mermaid(&dag, &kinds, &registry());
        assert!(
            mermaid.contains("  subgraph tier_ec2[\"network (ec2)\"]\n    n0[\"main<br/>ec2.vpc\"]\n    n1[\"private[0]<br/>ec2.subnet\"]\n  end\n"),
            "{mermaid}"
        );
    }
}
