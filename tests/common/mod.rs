//! Shared by the integration tests: one real emulator process per test binary, and helpers
//! to run the real `innovate` binary against it.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod cli;
pub mod emulator;
pub mod faultproxy;
pub mod kinds;
pub mod offline;
pub mod rewriting_proxy;
