//! The dependency DAG of resource instances (petgraph), its cycle reports and its pictures.
//! Edges point from a dependency to the instance that needs it.

mod groups;
mod render;
mod tiers;

pub use groups::{by_account, by_subnet};
pub use render::{dot, mermaid, to_dot, to_mermaid, Mark, Picture};
pub use tiers::{by_tier, Tier};

use crate::address::Address;
use crate::blueprint::{Blueprint, Diagnostic};
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;

pub struct Dag {
    graph: DiGraph<Address, ()>,
    index: HashMap<Address, NodeIndex>,
}

impl Dag {
    /// Builds the DAG of a blueprint's instances; a cycle is an error that names every
    /// resource on it.
    pub fn build(blueprint: &Blueprint) -> Result<Dag, Vec<Diagnostic>> {
        let edges = blueprint.instances.iter().flat_map(|i| {
            i.depends_on
                .iter()
                .map(move |d| (d.clone(), i.address.clone()))
        });
        let dag = Dag::from_edges(blueprint.instances.iter().map(|i| i.address.clone()), edges);
        let cycles = dag.cycles();
        if cycles.is_empty() {
            return Ok(dag);
        }
        Err(cycles
            .into_iter()
            .map(|cycle| cycle_diagnostic(blueprint, &cycle))
            .collect())
    }

    /// A DAG over `nodes` with `(dependency, dependent)` edges; edges to unknown nodes are
    /// ignored (a dependency outside a `--target` selection, say).
    pub fn from_edges(
        nodes: impl IntoIterator<Item = Address>,
        edges: impl IntoIterator<Item = (Address, Address)>,
    ) -> Dag {
        let mut graph = DiGraph::new();
        let mut index = HashMap::new();
        for address in nodes {
            index
                .entry(address.clone())
                .or_insert_with(|| graph.add_node(address));
        }
        for (from, to) in edges {
            if let (Some(&a), Some(&b)) = (index.get(&from), index.get(&to)) {
                graph.update_edge(a, b, ());
            }
        }
        Dag { graph, index }
    }

    /// Every strongly connected part with more than one instance (or a self-loop), each as
    /// the path around it.
    fn cycles(&self) -> Vec<Vec<Address>> {
        tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| scc.len() > 1 || self.graph.contains_edge(scc[0], scc[0]))
            .map(|scc| self.walk_cycle(&scc))
            .collect()
    }

    /// Follows edges inside one strongly connected part from its first node back to it.
    fn walk_cycle(&self, scc: &[NodeIndex]) -> Vec<Address> {
        let start = *scc
            .iter()
            .min_by_key(|n| &self.graph[**n])
            .unwrap_or(&scc[0]);
        let mut path = vec![start];
        let mut current = start;
        loop {
            let next = self
                .graph
                .neighbors(current)
                .filter(|n| scc.contains(n))
                .min_by_key(|n| (path.contains(n) && *n != start, self.graph[*n].clone()));
            match next {
                Some(n) if n == start || path.contains(&n) => {
                    path.push(n);
                    break;
                }
                Some(n) => {
                    path.push(n);
                    current = n;
                }
                None => break,
            }
        }
        path.into_iter().map(|n| self.graph[n].clone()).collect()
    }

    /// Instances in an order where every dependency comes first.
    pub fn topological(&self) -> Vec<&Address> {
        match toposort(&self.graph, None) {
            Ok(order) => order.into_iter().map(|n| &self.graph[n]).collect(),
            Err(_) => self.graph.node_weights().collect(), // unreachable: build() rejects cycles
        }
    }

    /// The direct dependencies of `address`.
    pub fn dependencies(&self, address: &Address) -> Vec<&Address> {
        let Some(&n) = self.index.get(address) else {
            return Vec::new();
        };
        self.graph
            .neighbors_directed(n, petgraph::Direction::Incoming)
            .map(|d| &self.graph[d])
            .collect()
    }

    /// `roots` and everything they depend on, transitively (for `--target`).
    pub fn with_dependencies(&self, roots: &[Address]) -> Vec<Address> {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack: Vec<&Address> = roots.iter().collect();
        while let Some(address) = stack.pop() {
            if seen.insert(address.clone()) {
                stack.extend(self.dependencies(address));
            }
        }
        seen.into_iter().collect()
    }

    pub fn edges(&self) -> impl Iterator<Item = (&Address, &Address)> {
        self.graph
            .raw_edges()
            .iter()
            .map(|e| (&self.graph[e.source()], &self.graph[e.target()]))
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Address> {
        self.graph.node_weights()
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }
}

fn cycle_diagnostic(blueprint: &Blueprint, cycle: &[Address]) -> Diagnostic {
    let path: Vec<String> = cycle.iter().map(ToString::to_string).collect();
    let pos = blueprint
        .instance(&cycle[0])
        .map(|i| i.pos)
        .unwrap_or_default();
    Diagnostic::new(pos, format!("dependency cycle: {}", path.join(" -> ")))
        .hint("break the cycle: remove one of these references or depends_on entries")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: &str) -> Address {
        Address::single(name)
    }

    #[test]
    fn orders_dependencies_first() {
        let dag = Dag::from_edges(
            [a("c"), a("b"), a("a")],
            [(a("a"), a("b")), (a("b"), a("c"))],
        );
        let order: Vec<String> = dag.topological().iter().map(|x| x.to_string()).collect();
        assert_eq!(order, ["a", "b", "c"]);
        assert_eq!(dag.with_dependencies(&[a("b")]), vec![a("a"), a("b")]);
    }

    #[test]
    fn names_every_resource_on_a_cycle() {
        let dag = Dag::from_edges(
            [a("a"), a("b"), a("c"), a("d")],
            [
                (a("a"), a("b")),
                (a("b"), a("c")),
                (a("c"), a("a")),
                (a("c"), a("d")),
            ],
        );
        let cycles = dag.cycles();
        assert_eq!(cycles.len(), 1);
        let names: Vec<String> = cycles[0].iter().map(|x| x.to_string()).collect();
        assert_eq!(names, ["a", "b", "c", "a"]);
    }

    #[test]
    fn a_self_reference_is_a_cycle() {
        let dag = Dag::from_edges([a("a")], [(a("a"), a("a"))]);
        assert_eq!(dag.cycles(), vec![vec![a("a"), a("a")]]);
    }
}
