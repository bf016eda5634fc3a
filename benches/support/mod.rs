//! What the emulator benches share: the Innovate estate (plans/innovate.yaml, dev) loaded
//! against one endpoint, applied and destroyed through the library, as `innovate apply`
//! and `innovate destroy` do.

use crate::emulator;
use innovate::apply::{self, ApplyOptions, ApplyReport};
use innovate::aws::{registry, AwsContext};
use innovate::blueprint::{self, Blueprint, LoadOptions};
use innovate::graph::Dag;
use innovate::kinds::Registry;
use innovate::plan::{self, Plan, PlanOptions};
use innovate::state::{LocalStore, State};
use std::sync::Arc;
use std::time::Duration;

pub const ESTATE: &str = include_str!("../../plans/innovate.yaml");

/// High enough that no ready operation ever waits for a slot: the estate has ~40.
pub const PARALLELISM: usize = 64;

/// An SDK configuration for `endpoint` (the emulator or a proxy in front of it) with the
/// emulator's static credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .load()
        .await
}

/// The estate's dev environment with its kinds talking to `endpoint`.
pub struct Estate {
    pub aws: Arc<AwsContext>,
    pub registry: Registry,
    pub blueprint: Blueprint,
    pub dag: Dag,
    pub store: LocalStore,
    _dir: tempfile::TempDir,
}

impl Estate {
    pub async fn at(endpoint: &str) -> Estate {
        let config = sdk_config(endpoint).await;
        let aws = AwsContext::with_config(config);
        let registry = registry(aws.clone());
        let options = LoadOptions {
            env: Some("dev".into()),
            vars: Vec::new(),
        };
        let blueprint = blueprint::parse("innovate.yaml", ESTATE, &options, &registry)
            .unwrap_or_else(|e| panic!("{}", e.render()));
        let dag = Dag::build(&blueprint).expect("acyclic");
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalStore::new(dir.path().join("state.json"));
        Estate {
            aws,
            registry,
            blueprint,
            dag,
            store,
            _dir: dir,
        }
    }

    /// The emulator itself, without a proxy.
    pub async fn plain() -> Estate {
        Estate::at(emulator::endpoint()).await
    }

    pub fn plan(&self, state: &State, options: &PlanOptions) -> Plan {
        plan::plan(&self.blueprint, &self.dag, state, &self.registry, options)
    }

    /// Applies `plan`, panicking on any failure (a bench figure of a failed run means
    /// nothing).
    pub async fn execute(&self, plan: &Plan, state: &mut State) -> ApplyReport {
        let options = ApplyOptions {
            parallelism: PARALLELISM,
            display: innovate::apply::ProgressMode::Plain,
        };
        let bp = &self.blueprint;
        let report = apply::execute(plan, bp, state, &self.store, &self.registry, &options)
            .await
            .expect("apply");
        assert!(
            report.succeeded(),
            "the estate applies: {:?}",
            report.failed
        );
        report
    }

    /// A full apply from nothing: the new state, and how long each operation took.
    pub async fn apply(&self) -> (State, ApplyReport) {
        let mut state = State::new(&self.blueprint.name, &self.blueprint.env);
        let plan = self.plan(&state, &PlanOptions::default());
        let report = self.execute(&plan, &mut state).await;
        (state, report)
    }

    /// Deletes everything in `state`, so the next run starts from an empty estate.
    pub async fn destroy(&self, mut state: State) {
        let options = PlanOptions {
            targets: Vec::new(),
            destroy: true,
        };
        let plan = self.plan(&state, &options);
        self.execute(&plan, &mut state).await;
        assert!(state.resources.is_empty(), "destroy leaves nothing");
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// (median, min, max) of at least one duration.
pub fn spread(mut times: Vec<Duration>) -> (Duration, Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[0], times[times.len() - 1])
}
