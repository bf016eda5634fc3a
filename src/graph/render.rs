//! Pictures of the DAG: Graphviz DOT (the default of `innovate graph`) and Mermaid, with
//! the instances grouped by tier (the kind's AWS service) as clusters / subgraphs.

use super::tiers::by_tier;
use super::Dag;
use crate::address::Address;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// DOT text; `kinds` labels each node with its kind.
pub fn to_dot(dag: &Dag, name: &str, kinds: &BTreeMap<Address, String>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(name));
    let _ = writeln!(
        out,
        "  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];"
    );
    for tier in by_tier(dag.nodes(), kinds) {
        let indent = if tier.id.is_empty() { "  " } else { "    " };
        if !tier.id.is_empty() {
            let _ = writeln!(
                out,
                "  subgraph {} {{\n    label={};\n    style=rounded;\n    color=gray60;",
                quote(&format!("cluster_{}", tier.id)),
                quote(&tier.title)
            );
        }
        for address in tier.members {
            let kind = kinds.get(address).map(String::as_str).unwrap_or("");
            let label = format!("{address}\\n{kind}");
            let _ = writeln!(
                out,
                "{indent}{} [label=\"{}\"];",
                quote(&address.to_string()),
                label.replace('"', "\\\"")
            );
        }
        if !tier.id.is_empty() {
            out.push_str("  }\n");
        }
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

/// Mermaid flowchart text (renders on GitHub and in the seeds' diagrams).
pub fn to_mermaid(dag: &Dag, kinds: &BTreeMap<Address, String>) -> String {
    let ids: BTreeMap<&Address, String> = sorted(dag.nodes())
        .into_iter()
        .enumerate()
        .map(|(i, a)| (a, format!("n{i}")))
        .collect();
    let mut out = String::from("flowchart LR\n");
    for tier in by_tier(dag.nodes(), kinds) {
        let indent = if tier.id.is_empty() { "  " } else { "    " };
        if !tier.id.is_empty() {
            let _ = writeln!(out, "  subgraph tier_{}[\"{}\"]", tier.id, tier.title);
        }
        for address in tier.members {
            let kind = kinds.get(address).map(String::as_str).unwrap_or("");
            let label = format!("{address}<br/>{kind}").replace('"', "#quot;");
            let _ = writeln!(out, "{indent}{}[\"{label}\"]", ids[address]);
        }
        if !tier.id.is_empty() {
            out.push_str("  end\n");
        }
    }
    for (from, to) in sorted_edges(dag) {
        let _ = writeln!(out, "  {} --> {}", ids[from], ids[to]);
    }
    out
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
        let dot = to_dot(&dag, "net", &kinds);
        assert!(dot.starts_with("digraph \"net\" {"), "{dot}");
        assert!(
            dot.contains("\"main\" [label=\"main\\nec2.vpc\"];"),
            "{dot}"
        );
        assert!(dot.contains("\"main\" -> \"private[0]\";"), "{dot}");
        let mermaid = to_mermaid(&dag, &kinds);
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
        let dot = to_dot(&dag, "net", &kinds);
        let network = "  subgraph \"cluster_ec2\" {\n    label=\"network (ec2)\";\n    style=rounded;\n    color=gray60;\n    \"main\" [label=\"main\\nec2.vpc\"];\n    \"private[0]\" [label=\"private[0]\\nec2.subnet\"];\n  }\n";
        assert!(dot.contains(network), "{dot}");
        assert!(
            dot.find("cluster_iam").unwrap() < dot.find("cluster_ec2").unwrap(),
            "{dot}"
        );
        let mermaid = to_mermaid(&dag, &kinds);
        assert!(
            mermaid.contains("  subgraph tier_ec2[\"network (ec2)\"]\n    n0[\"main<br/>ec2.vpc\"]\n    n1[\"private[0]<br/>ec2.subnet\"]\n  end\n"),
            "{mermaid}"
        );
    }
}
