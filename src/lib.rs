//! innovate: a Rust-native provisioning engine for AWS.
//!
//! The pipeline, one module per stage:
//! blueprint (YAML -> instances) -> graph (DAG) -> plan (diff against state) -> apply
//! (parallel executor) -> state (atomic JSON file with a lock). `kinds` is the contract every
//! AWS resource kind implements; `aws` holds the implementations; `cli` wires commands.

pub mod address;
pub mod apply;
pub mod aws;
pub mod blueprint;
pub mod check;
pub mod cli;
pub mod cost;
pub mod graph;
pub mod kinds;
pub mod plan;
pub mod refresh;
pub mod state;
