//! What an in-place update of a cluster sends: logging, endpoint access, its subnets and
//! security groups, and the Kubernetes version, each its own call.

use super::{encryption, public_cidrs, Spec};
use crate::aws::common::missing;
use crate::aws::sdk_error;
use crate::kinds::{KindError, KindResult};
use aws_sdk_eks::types::{Cluster, LogSetup, LogType, Logging, Update, VpcConfigRequest};
use aws_sdk_eks::Client;
use std::collections::BTreeSet;

/// One in-place change, each its own call: AWS refuses logging and endpoint access in one
/// UpdateClusterConfig, and upgrades Kubernetes one minor version per UpdateClusterVersion.
#[derive(Debug, PartialEq)]
pub(super) enum Step {
    Logging {
        enable: BTreeSet<String>,
        disable: BTreeSet<String>,
    },
    EndpointAccess {
        public: bool,
        private: bool,
        public_cidrs: Option<Vec<String>>,
    },
    /// The cluster's network interfaces move to other subnets or get other security groups
    /// (a VpcConfigUpdate, as terraform-provider-aws sends it apart from endpoint access).
    Network {
        subnet_ids: Vec<String>,
        security_group_ids: Vec<String>,
    },
    Version(String),
    /// Envelope encryption of the cluster's secrets with this KMS key, for a cluster that
    /// has none (AssociateEncryptionConfig).
    Encryption(String),
}

/// The calls that turn `current` into `spec`, in the order to make them.
pub(super) fn steps(current: &Cluster, spec: &Spec) -> KindResult<Vec<Step>> {
    let mut steps = Vec::new();
    steps.extend(logging_step(current, spec));
    steps.extend(endpoint_step(current, spec));
    steps.extend(network_step(current, spec));
    steps.extend(encryption_step(current, spec));
    if let (Some(from), Some(to)) = (current.version(), spec.version.as_deref()) {
        let versions = upgrade_path(from, to)?;
        steps.extend(versions.into_iter().map(Step::Version));
    }
    Ok(steps)
}

/// AWS starts with every log type off, so only enabled ones need saying.
pub(super) fn initial_logging(enabled: &[String]) -> Option<Logging> {
    let enable = enabled.iter().cloned().collect();
    logging(&enable, &BTreeSet::new())
}

fn logging(enable: &BTreeSet<String>, disable: &BTreeSet<String>) -> Option<Logging> {
    let setup = |types: &BTreeSet<String>, on: bool| {
        (!types.is_empty()).then(|| {
            let types = types.iter().map(|t| LogType::from(t.as_str())).collect();
            LogSetup::builder()
                .set_types(Some(types))
                .enabled(on)
                .build()
        })
    };
    let setups: Vec<LogSetup> = [setup(enable, true), setup(disable, false)]
        .into_iter()
        .flatten()
        .collect();
    (!setups.is_empty()).then(|| Logging::builder().set_cluster_logging(Some(setups)).build())
}

pub(super) fn enabled_log_types(current: &Cluster) -> BTreeSet<String> {
    let setups = current
        .logging()
        .map(Logging::cluster_logging)
        .unwrap_or(&[]);
    setups
        .iter()
        .filter(|setup| setup.enabled() == Some(true))
        .flat_map(|setup| setup.types().iter().map(|t| t.as_str().to_string()))
        .collect()
}

/// Only the types whose state changes: AWS rejects an update that changes nothing.
fn logging_step(current: &Cluster, spec: &Spec) -> Option<Step> {
    let now = enabled_log_types(current);
    let wanted: BTreeSet<String> = spec.enabled_log_types.iter().cloned().collect();
    let enable: BTreeSet<String> = wanted.difference(&now).cloned().collect();
    let disable: BTreeSet<String> = now.difference(&wanted).cloned().collect();
    (!enable.is_empty() || !disable.is_empty()).then_some(Step::Logging { enable, disable })
}

fn endpoint_step(current: &Cluster, spec: &Spec) -> Option<Step> {
    let vpc = current.resources_vpc_config();
    let public = vpc.is_some_and(|v| v.endpoint_public_access());
    let private = vpc.is_some_and(|v| v.endpoint_private_access());
    let sorted = |cidrs: &[String]| cidrs.iter().cloned().collect::<BTreeSet<_>>();
    let cidrs_now = sorted(vpc.map(|v| v.public_access_cidrs()).unwrap_or(&[]));
    // CIDRs only matter while the public endpoint is on.
    let cidrs_differ =
        spec.endpoint_public_access && cidrs_now != sorted(&spec.public_access_cidrs);
    let differs = public != spec.endpoint_public_access
        || private != spec.endpoint_private_access
        || cidrs_differ;
    differs.then(|| Step::EndpointAccess {
        public: spec.endpoint_public_access,
        private: spec.endpoint_private_access,
        public_cidrs: public_cidrs(spec),
    })
}

fn network_step(current: &Cluster, spec: &Spec) -> Option<Step> {
    let vpc = current.resources_vpc_config();
    let sorted = |ids: &[String]| ids.iter().cloned().collect::<BTreeSet<_>>();
    let subnets_now = sorted(vpc.map(|v| v.subnet_ids()).unwrap_or(&[]));
    let groups_now = sorted(vpc.map(|v| v.security_group_ids()).unwrap_or(&[]));
    let differs =
        subnets_now != sorted(&spec.subnet_ids) || groups_now != sorted(&spec.security_group_ids);
    differs.then(|| Step::Network {
        subnet_ids: spec.subnet_ids.clone(),
        security_group_ids: spec.security_group_ids.clone(),
    })
}

/// Only for a cluster without encryption: the plan replaces one whose key changes.
fn encryption_step(current: &Cluster, spec: &Spec) -> Option<Step> {
    let key = spec.encryption_kms_key_arn.as_ref()?;
    current
        .encryption_config()
        .is_empty()
        .then(|| Step::Encryption(key.clone()))
}

/// "1.29" -> (1, 29).
fn minor_version(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The versions to pass through from `from` to `to`, one minor step each, as EKS requires.
fn upgrade_path(from: &str, to: &str) -> KindResult<Vec<String>> {
    if from == to {
        return Ok(Vec::new());
    }
    let call = "eks:UpdateClusterVersion";
    let unparsable = |v: &str| KindError::local(call, format!("version {v:?} is not MAJOR.MINOR"));
    let (major, from_minor) = minor_version(from).ok_or_else(|| unparsable(from))?;
    let (to_major, to_minor) = minor_version(to).ok_or_else(|| unparsable(to))?;
    if to_major != major || to_minor < from_minor {
        let message = format!("cannot change Kubernetes {from} to {to}: EKS only upgrades");
        return Err(KindError::local(call, message));
    }
    Ok((from_minor + 1..=to_minor)
        .map(|minor| format!("{major}.{minor}"))
        .collect())
}

/// Makes the call for `step`; AWS's answer is the update it started. `None`: the answer
/// carried no update (emulators answer UpdateClusterConfig with the cluster instead).
pub(super) async fn apply(eks: &Client, name: &str, step: &Step) -> KindResult<Option<Update>> {
    let token = uuid::Uuid::new_v4().to_string();
    let config = eks
        .update_cluster_config()
        .name(name)
        .client_request_token(&token);
    let call = "eks:UpdateClusterConfig";
    let sent = match step {
        Step::Logging { enable, disable } => config.set_logging(logging(enable, disable)),
        Step::EndpointAccess {
            public,
            private,
            public_cidrs,
        } => {
            let access = VpcConfigRequest::builder()
                .endpoint_public_access(*public)
                .endpoint_private_access(*private)
                .set_public_access_cidrs(public_cidrs.clone())
                .build();
            config.resources_vpc_config(access)
        }
        Step::Network {
            subnet_ids,
            security_group_ids,
        } => {
            let network = VpcConfigRequest::builder()
                .set_subnet_ids(Some(subnet_ids.clone()))
                .set_security_group_ids(Some(security_group_ids.clone()))
                .build();
            config.resources_vpc_config(network)
        }
        Step::Encryption(key_arn) => {
            let call = "eks:AssociateEncryptionConfig";
            let request = eks.associate_encryption_config().cluster_name(name);
            let request = request.set_encryption_config(encryption(Some(key_arn)));
            let sent = request.client_request_token(token).send().await;
            let sent = sent.map_err(|e| sdk_error(call, e))?;
            return sent.update.map(Some).ok_or_else(|| missing(call, "update"));
        }
        Step::Version(version) => {
            let call = "eks:UpdateClusterVersion";
            let request = eks.update_cluster_version().name(name).version(version);
            let sent = request.client_request_token(token).send().await;
            let sent = sent.map_err(|e| sdk_error(call, e))?;
            return sent.update.map(Some).ok_or_else(|| missing(call, "update"));
        }
    };
    let sent = sent.send().await.map_err(|e| sdk_error(call, e))?;
    Ok(sent.update)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{current, spec};
    use super::super::SCHEMA;
    use super::*;
    use serde_json::json;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_change_nothing() {
        let steps = steps(&current("1.31", &[]), &spec(json!({"version": "1.31"})));
        assert_eq!(steps.unwrap(), vec![]);
    }

    #[test]
    fn logging_sends_only_the_types_that_flip() {
        let wanted = spec(json!({"enabled_log_types": ["api", "scheduler"]}));
        let steps = steps(&current("1.31", &["audit", "api"]), &wanted).unwrap();
        assert_eq!(
            steps,
            vec![Step::Logging {
                enable: set(&["scheduler"]),
                disable: set(&["audit"])
            }]
        );
        let Step::Logging { enable, disable } = &steps[0] else {
            unreachable!()
        };
        let sent = logging(enable, disable).unwrap();
        assert_eq!(sent.cluster_logging().len(), 2);
        assert_eq!(sent.cluster_logging()[1].enabled(), Some(false));
        assert!(initial_logging(&[]).is_none());
    }

    #[test]
    fn endpoint_access_and_logging_are_separate_calls() {
        let wanted = spec(json!({
            "enabled_log_types": ["api"],
            "endpoint_private_access": true,
            "public_access_cidrs": ["203.0.113.0/24"]
        }));
        let steps = steps(&current("1.31", &[]), &wanted).unwrap();
        assert_eq!(
            steps,
            vec![
                Step::Logging {
                    enable: set(&["api"]),
                    disable: set(&[])
                },
                Step::EndpointAccess {
                    public: true,
                    private: true,
                    public_cidrs: Some(vec!["203.0.113.0/24".into()])
                },
            ]
        );
    }

    #[test]
    fn cidrs_are_ignored_once_the_public_endpoint_is_off() {
        let wanted = spec(json!({
            "endpoint_public_access": false, "endpoint_private_access": true,
            "public_access_cidrs": ["203.0.113.0/24"]
        }));
        let steps = steps(&current("1.31", &[]), &wanted).unwrap();
        assert_eq!(
            steps,
            vec![Step::EndpointAccess {
                public: false,
                private: true,
                public_cidrs: None
            }]
        );
    }

    #[test]
    fn new_subnets_or_security_groups_are_one_network_call() {
        let same = spec(json!({"subnet_ids": ["subnet-1"]}));
        assert_eq!(steps(&current("1.31", &[]), &same).unwrap(), vec![]);
        let wanted =
            spec(json!({"subnet_ids": ["subnet-2", "subnet-1"], "security_group_ids": ["sg-1"]}));
        assert_eq!(
            steps(&current("1.31", &[]), &wanted).unwrap(),
            vec![Step::Network {
                subnet_ids: vec!["subnet-2".into(), "subnet-1".into()],
                security_group_ids: vec!["sg-1".into()],
            }]
        );
        assert!(!SCHEMA.attr("subnet_ids").unwrap().force_new);
        assert!(!SCHEMA.attr("security_group_ids").unwrap().force_new);
    }

    #[test]
    fn encryption_is_added_in_place_and_a_changed_or_removed_key_replaces() {
        let key = "arn:aws:kms:eu-west-1:111122223333:key/k";
        let encrypted = spec(json!({"subnet_ids": ["subnet-1"], "encryption_kms_key_arn": key}));
        let plain = current("1.31", &[]);
        assert_eq!(
            steps(&plain, &encrypted).unwrap(),
            vec![Step::Encryption(key.into())]
        );
        let mut already = current("1.31", &[]);
        already.encryption_config = encryption(Some(key));
        assert_eq!(steps(&already, &encrypted).unwrap(), vec![]);

        let attr = SCHEMA.attr("encryption_kms_key_arn").unwrap();
        let (none, other) = (
            json!(null),
            json!("arn:aws:kms:eu-west-1:111122223333:key/o"),
        );
        assert!(!attr.replaces(None, Some(&json!(key))), "added in place");
        assert!(
            !attr.replaces(Some(&none), Some(&json!(key))),
            "added in place"
        );
        assert!(
            attr.replaces(Some(&json!(key)), Some(&other)),
            "a new key replaces"
        );
        assert!(
            attr.replaces(Some(&json!(key)), None),
            "removing it replaces"
        );
    }

    #[test]
    fn version_upgrades_go_one_minor_step_at_a_time() {
        let steps = steps(&current("1.29", &[]), &spec(json!({"version": "1.31"})));
        assert_eq!(
            steps.unwrap(),
            vec![Step::Version("1.30".into()), Step::Version("1.31".into())]
        );
        assert!(upgrade_path("1.31", "1.30").is_err(), "no downgrades");
        assert!(upgrade_path("1.31", "2.0").is_err());
        assert!(upgrade_path("latest", "1.30").is_err());
        assert_eq!(upgrade_path("1.30", "1.30").unwrap(), Vec::<String>::new());
    }
}
