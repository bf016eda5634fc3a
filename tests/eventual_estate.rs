//! The whole estate of the seeds, applied as a first real apply meets AWS: plans/innovate.yaml
//! (dev and prod), plans/shared-services.yaml and plans/innovate-org.yaml through the fault proxy's `--eventual` mode
//! with every behaviour on (localstack/eventual.py: fresh IAM principals not yet usable,
//! fresh ids not yet readable, deletes refused while dependents are released, a new
//! organization still finalizing, a new account's role not yet assumable).
//!
//! Each estate applies, plans no change, matches AWS exactly (drift against the emulator
//! itself: nothing twice, nothing untracked) and destroys to nothing (or, for the protected
//! accounts, to exactly what protection keeps), and the proxy's counts prove AWS's answers
//! really were given. One emulator for the binary; one organization in it.

mod common;

use common::cli::{Run, Workspace};
use common::faultproxy::FaultProxy;

const ESTATE: &str = include_str!("../plans/innovate.yaml");
const ORGANIZATION: &str = include_str!("../plans/innovate-org.yaml");
const SHARED_SERVICES: &str = include_str!("../plans/shared-services.yaml");

/// How long each eventual window lasts, in seconds: long enough that every behaviour is met,
/// short enough for the suite. The organization's is longer: its OUs are created between
/// CreateOrganization and the first CreateAccount, which must still meet the window.
const WINDOW: &str = "2";
const ORGANIZATION_WINDOW: &str = "8";

/// A blueprint in its own workspace, run with `vars` through the proxy or against the
/// emulator itself.
struct Under {
    ws: Workspace,
    bp: String,
    vars: Vec<String>,
    proxy: FaultProxy,
}

impl Under {
    fn eventual(blueprint: &str, file: &str, vars: Vec<String>, window: &str) -> Under {
        let ws = Workspace::new();
        let bp = ws.path().join(file);
        std::fs::write(&bp, blueprint).expect("copy the blueprint");
        Under {
            bp: bp.to_str().unwrap().to_string(),
            ws,
            vars,
            proxy: FaultProxy::start(&["--eventual", window]),
        }
    }

    fn args<'a>(&'a self, command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec![command, self.bp.as_str()];
        all.extend(self.vars.iter().map(String::as_str));
        all.extend_from_slice(extra);
        all
    }

    /// `innovate COMMAND BLUEPRINT VARS... EXTRA...` through the proxy.
    fn through_proxy(&self, command: &str, extra: &[&str]) -> Run {
        let env = [("AWS_ENDPOINT_URL", self.proxy.endpoint.as_str())];
        self.ws.run_with_env(&self.args(command, extra), &env)
    }

    /// The same against the emulator, with no proxy in between: what AWS really holds.
    fn direct(&self, command: &str, extra: &[&str]) -> Run {
        self.ws.run(&self.args(command, extra))
    }

    /// `innovate state list BLUEPRINT VARS...` against the emulator: one address per line.
    fn state_list(&self) -> String {
        let mut all = vec!["state", "list", self.bp.as_str()];
        all.extend(self.vars.iter().map(String::as_str));
        expect(self.ws.run(&all), 0, "state list").stdout()
    }

    /// How many eventual answers of `behaviour` the proxy gave, over every action.
    fn answered(&self, behaviour: &str) -> u64 {
        let stats = self.proxy.stats();
        eprintln!("proxy answers: {}", stats["faults"]);
        let prefix = format!("eventual_{behaviour} ");
        let faults = stats["faults"].as_object().cloned().unwrap_or_default();
        let counts = faults.iter().filter(|(key, _)| key.starts_with(&prefix));
        counts.filter_map(|(_, count)| count.as_u64()).sum()
    }

    fn assert_answered(&self, behaviours: &[&str]) {
        for behaviour in behaviours {
            assert!(
                self.answered(behaviour) >= 1,
                "the proxy gave no {behaviour} answer: {}",
                self.proxy.stats()
            );
        }
    }
}

fn expect(run: Run, code: i32, what: &str) -> Run {
    assert_eq!(
        run.code(),
        code,
        "{what}\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout(),
        run.stderr()
    );
    run
}

/// Apply, no-op plan, no drift, destroy to nothing, no drift: each through AWS's eventual
/// consistency except the drift checks, which read the emulator itself.
fn estate_under_eventual_consistency(env: &str, resources: usize, extra: &[&str]) {
    let mut vars = vec!["--env".to_string(), env.to_string()];
    vars.extend(extra.iter().map(|v| v.to_string()));
    let answered = ["iam", "reads", "deletes"];
    applies_and_destroys_under_eventual_consistency(
        ESTATE,
        "innovate.yaml",
        vars,
        resources,
        &answered,
    );
}

fn applies_and_destroys_under_eventual_consistency(
    blueprint: &str,
    file: &str,
    vars: Vec<String>,
    resources: usize,
    answered: &[&str],
) {
    let estate = Under::eventual(blueprint, file, vars, WINDOW);

    let applied = expect(
        estate.through_proxy("apply", &["--auto-approve"]),
        0,
        "apply",
    );
    let complete = format!("Apply complete! Resources: {resources} added, 0 changed, 0 destroyed.");
    assert!(applied.stdout().contains(&complete), "{}", applied.stdout());
    expect(
        estate.through_proxy("plan", &["--detailed-exitcode"]),
        0,
        "a second plan changes nothing",
    );
    expect(
        estate.direct("drift", &[]),
        0,
        "AWS holds exactly the state: nothing twice, nothing untracked",
    );

    let destroyed = expect(
        estate.through_proxy("destroy", &["--auto-approve"]),
        0,
        "destroy",
    );
    let complete =
        format!("Destroy complete! Resources: 0 added, 0 changed, {resources} destroyed.");
    assert!(
        destroyed.stdout().contains(&complete),
        "{}",
        destroyed.stdout()
    );
    expect(
        estate.direct("drift", &[]),
        0,
        "nothing tagged for the estate is left behind",
    );
    assert_eq!(estate.state_list().trim(), "", "the state is empty");
    estate.assert_answered(answered);
}

/// Resource instances of plans/innovate.yaml per environment.
const DEV_RESOURCES: usize = 56;
const PROD_RESOURCES: usize = 70;

#[test]
fn the_dev_estate_applies_and_destroys_while_aws_catches_up() {
    estate_under_eventual_consistency("dev", DEV_RESOURCES, &[]);
}

/// The shared-services account's registry and CI identity through IAM's propagation (the
/// push role not yet usable); the proxy's read and delete behaviours are EC2's, which this
/// account does not use.
#[test]
fn the_shared_services_apply_and_destroy_while_aws_catches_up() {
    let vars = [
        "organization_id=o-a1b2c3d4e5",
        "github_repository=innovate-inc/innovate",
    ];
    let vars = vars
        .iter()
        .flat_map(|v| ["--var".to_string(), v.to_string()])
        .collect();
    applies_and_destroys_under_eventual_consistency(
        SHARED_SERVICES,
        "shared-services.yaml",
        vars,
        4,
        &["iam"],
    );
}

/// Prod protects its database; protection off, the estate destroys like dev's.
#[test]
fn the_prod_estate_applies_and_destroys_while_aws_catches_up() {
    let unprotected = ["--var", "deletion_protection=false"];
    estate_under_eventual_consistency("prod", PROD_RESOURCES, &unprotected);
}

/// The organization, its OUs, accounts, guardrail policy and the workload accounts' VPCs and
/// subnets (placed in accounts created in the same run). Destroy removes everything but the
/// protected accounts and what they stand on, and says so.
#[test]
fn the_organization_applies_and_destroys_to_its_protected_accounts_while_aws_catches_up() {
    let vars = vec!["--var".into(), "email_domain=innovate-inc.com".into()];
    let org = Under::eventual(ORGANIZATION, "innovate-org.yaml", vars, ORGANIZATION_WINDOW);

    expect(org.through_proxy("apply", &["--auto-approve"]), 0, "apply");
    expect(
        org.through_proxy("plan", &["--detailed-exitcode"]),
        0,
        "a second plan changes nothing",
    );
    expect(
        org.direct("drift", &[]),
        0,
        "AWS holds exactly the state: nothing twice, nothing untracked",
    );

    let refused = expect(
        org.through_proxy("destroy", &["--auto-approve"]),
        1,
        "destroy stops at the protected accounts",
    );
    assert!(
        refused.stderr().contains("protected"),
        "{}",
        refused.stderr()
    );
    let listed = org.state_list();
    let mut kept: Vec<&str> = listed.lines().collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            "environments[\"non-prod\"]",
            "environments[\"prod\"]",
            "infrastructure",
            "org",
            "security",
            "security_account",
            "shared_services",
            "workload[\"dev\"]",
            "workload[\"prod\"]",
            "workloads",
        ],
        "the accounts and what they stand on stay; the VPCs, subnets and policy are gone"
    );
    expect(
        org.direct("drift", &[]),
        0,
        "what is kept matches AWS, and nothing destroyed lingers",
    );
    org.assert_answered(&["org", "assume"]);
}
