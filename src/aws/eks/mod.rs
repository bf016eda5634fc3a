//! EKS: cluster, managed node group and add-on, one kind per file (or folder). What they
//! share lives here (one-by-one reads, compound ids, IAM propagation retries, waits on a
//! resource's status and on an update's id) and in [`tags`].

/// The [`EksItem`] methods every EKS item answers the same way: its status (of enum
/// `$status`) and health issues for a wait, ACTIVE, its ARN (from `$arn`) and its tags.
macro_rules! eks_status {
    ($status:ident, $arn:ident) => {
        fn seen(&self) -> $crate::kinds::Seen {
            let issues = self.health().map(|h| h.issues()).unwrap_or(&[]);
            let issues = issues
                .iter()
                .map(|issue| (issue.code().map(|c| c.as_str()), issue.message()));
            $crate::aws::eks::seen_with_issues(self.status().map($status::as_str), issues)
        }

        fn is_active(&self) -> bool {
            self.status() == Some(&$status::Active)
        }

        fn arn(&self) -> Option<&str> {
            self.$arn()
        }

        fn eks_tags(&self) -> Option<&std::collections::HashMap<String, String>> {
            self.tags()
        }
    };
}

mod addon;
mod cluster;
mod nodegroup;
mod tags;

use crate::aws::common::missing;
use crate::aws::{sdk_error, AwsContext, Backoff};
use crate::kinds::{retry_when, AwsItem, Tags};
use crate::kinds::{Attr, KindError, KindResult, Registry, Rule, Seen, StepCx, Tagging, Waiter};
use async_trait::async_trait;
use aws_sdk_eks::types::{ErrorDetail, Update, UpdateStatus};
use aws_sdk_eks::Client;
use futures::{StreamExt, TryStreamExt};
use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Registers every EKS kind, all sharing `aws`'s one EKS client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.add(cluster::ClusterKind, aws);
    registry.add(nodegroup::NodegroupKind, aws);
    registry.add(addon::AddonKind, aws);
}

/// What EKS answers for a cluster, node group, add-on or update that does not exist.
const NOT_FOUND: &str = "ResourceNotFoundException";

/// What EKS answers a create whose name is taken: after a lost answer, the SDK's retry meets
/// its own first attempt, found again by its natural id.
const NAME_TAKEN: &[&str] = &["ResourceInUseException"];

/// How many Describe* calls a read keeps in flight.
const READ_CONCURRENCY: usize = 8;

/// What the EKS kinds' items (cluster, node group, add-on) share: how one is described by
/// its innovate id, what a wait sees in it, its tags and the ARN EKS tags it by. Each is an
/// [`AwsItem`] through it.
#[async_trait]
trait EksItem: Sized + Send + Sync + 'static {
    /// The Describe call, as errors name it.
    const DESCRIBE: &'static str;

    /// Describes the item `id` names: a cluster's name, or "CLUSTER:NAME" for what lives
    /// in a cluster.
    async fn describe(eks: &Client, id: &str) -> KindResult<Self>;

    /// Every item of the account, where EKS can list them. `None`: not listable.
    async fn list(eks: &Client) -> KindResult<Option<Vec<Self>>> {
        let _ = eks;
        Ok(None)
    }

    /// Its status and health issues, for a [`Waiter`].
    fn seen(&self) -> Seen;

    /// ACTIVE: it takes changes.
    fn is_active(&self) -> bool;

    fn arn(&self) -> Option<&str>;

    fn eks_tags(&self) -> Option<&HashMap<String, String>>;
}

#[async_trait]
impl<T: EksItem> AwsItem for T {
    type Client = AwsContext;
    const DESCRIBE: &'static str = <T as EksItem>::DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    async fn describe(aws: &AwsContext, ids: &[String]) -> KindResult<Vec<T>> {
        describe_all(aws.eks().await, ids).await
    }

    async fn list(aws: &AwsContext, _tags: &Tags) -> KindResult<Option<Vec<T>>> {
        <T as EksItem>::list(aws.eks().await).await
    }

    fn tags(&self) -> Option<Tags> {
        Some(tags::to_map(self.eks_tags()))
    }

    /// EKS tags by ARN.
    async fn tagging(&self, aws: &AwsContext, _id: &str) -> KindResult<Option<Tagging>> {
        let arn = self
            .arn()
            .ok_or_else(|| missing(<T as EksItem>::DESCRIBE, "arn"))?;
        Ok(Some(Tagging::new(tags::Eks(aws.eks().await.clone()), arn)))
    }
}

/// EKS has no batch Describe: one call per id, a few at a time, in the order of `ids`,
/// leaving out those that do not exist.
async fn describe_all<T: EksItem>(eks: &Client, ids: &[String]) -> KindResult<Vec<T>> {
    describe_each(
        ids,
        |id| async move { <T as EksItem>::describe(eks, &id).await },
    )
    .await
}

/// [`describe_all`] through any one-id `describe` call.
async fn describe_each<T, F, Fut>(ids: &[String], describe: F) -> KindResult<Vec<T>>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = KindResult<T>>,
{
    let looks = ids.iter().cloned().map(|id| {
        let described = describe(id);
        async move { found(described.await) }
    });
    let found: Vec<Option<T>> = futures::stream::iter(looks)
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Polls item `id` with `waiter`; AWS's "does not exist" is an item not visible yet (or,
/// waiting for a deletion, gone).
async fn wait_on<T: EksItem>(
    cx: &StepCx,
    eks: &Client,
    waiter: &Waiter,
    id: &str,
) -> KindResult<Option<T>> {
    let look = || async move { found(<T as EksItem>::describe(eks, id).await) };
    waiter.wait(cx, look, T::seen).await
}

/// The item an update starts from: `current` when it is ACTIVE, else the item once `waiter`
/// saw it ready. One adopted mid-create (or changed elsewhere) is CREATING / UPDATING, and
/// AWS refuses changes until it is ACTIVE.
async fn ready_for_update<'a, T: EksItem + Clone>(
    cx: &StepCx,
    eks: &Client,
    waiter: &Waiter,
    current: &'a T,
    id: &str,
) -> KindResult<Cow<'a, T>> {
    if current.is_active() {
        return Ok(Cow::Borrowed(current));
    }
    let found = wait_on::<T>(cx, eks, waiter, id).await?;
    found
        .map(Cow::Owned)
        .ok_or_else(|| missing(<T as EksItem>::DESCRIBE, id))
}

/// A Describe* result with "does not exist" as `None`.
fn found<T>(result: KindResult<T>) -> KindResult<Option<T>> {
    match result.map_err(not_found_as_such) {
        Err(err) if err.code.as_deref() == Some(NOT_FOUND) => Ok(None),
        other => other.map(Some),
    }
}

/// EKS answers some calls about a cluster that does not exist with ClientException "No
/// cluster found for name: ..." rather than ResourceNotFoundException (terraform-provider-aws
/// checks for both); such an answer is given [`NOT_FOUND`]'s code, so every "not found" path
/// reads it as gone.
fn not_found_as_such(err: KindError) -> KindError {
    let no_cluster = err.code.as_deref() == Some("ClientException")
        && err.message.contains("No cluster found for name");
    match no_cluster {
        true => KindError {
            code: Some(NOT_FOUND.into()),
            ..err
        },
        false => err,
    }
}

/// Node groups and add-ons are named within a cluster: their id is "CLUSTER:NAME" (cluster
/// names cannot contain a colon).
fn compound_id(cluster: &str, name: &str) -> String {
    format!("{cluster}:{name}")
}

fn split_id<'a>(kind: &str, id: &'a str) -> KindResult<(&'a str, &'a str)> {
    match id.split_once(':') {
        Some((cluster, name)) if !cluster.is_empty() && !name.is_empty() => Ok((cluster, name)),
        _ => Err(KindError::local(
            kind,
            format!("id {id:?} is not CLUSTER:NAME"),
        )),
    }
}

/// An IAM role (or its policy attachments) created moments ago is not visible to EKS yet:
/// CreateCluster and CreateNodegroup answer InvalidParameterException for a minute or two.
const IAM_PROPAGATION: Backoff = Backoff {
    first: Duration::from_secs(2),
    max_delay: Duration::from_secs(10),
    bound: Duration::from_secs(3 * 60),
};

/// What AWS says in those InvalidParameterExceptions ("Role with arn: ... could not be
/// assumed because it does not exist or the trusted entity is not correct", ...), the
/// phrases terraform-provider-aws retries cluster, node group and add-on creates on.
const IAM_NOT_READY: [&str; 6] = [
    "cannot be assumed",
    "could not be assumed",
    "Error in role params",
    "have the Amazon EKS Managed Policies",
    "not found in the trust relationships",
    "IAM role's policy must include",
];

fn iam_not_ready(err: &KindError) -> bool {
    let message = err.message.as_str();
    // "roleArn, arn:aws:iam::...:role/x, does not exist" (an add-on's IRSA role); a subnet
    // or security group that does not exist is a real error, not propagation.
    let role_missing = message.contains("does not exist")
        && (message.contains("roleArn") || message.contains(":role/"));
    err.code.as_deref() == Some("InvalidParameterException")
        && (role_missing || IAM_NOT_READY.iter().any(|text| message.contains(text)))
}

/// Runs a create call again while AWS reports a fresh role as not ready, up to
/// `backoff.bound` ([`IAM_PROPAGATION`]).
async fn retry_iam_propagation<T, F, Fut>(backoff: Backoff, op: F) -> KindResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = KindResult<T>>,
{
    retry_when(iam_not_ready, backoff, op).await
}

/// The pauses of every EKS wait, bounded by `bound` unless the blueprint's `timeouts` say
/// otherwise: looks start half a second apart and stretch with the wait.
const fn waiting(bound: Duration) -> Backoff {
    Backoff {
        first: Duration::from_millis(500),
        max_delay: Duration::from_secs(20),
        bound,
    }
}

/// What one look at a cluster, node group or add-on saw: its status, and its health issues
/// ("CODE: message; CODE: message") as AWS's reason should it be a failure.
fn seen_with_issues<'a>(
    status: Option<&str>,
    issues: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> Seen {
    let issues: Vec<String> = issues
        .into_iter()
        .map(|(code, message)| match (code, message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (code, message) => code.or(message).unwrap_or("unspecified issue").to_string(),
        })
        .collect();
    Seen::new(status.unwrap_or("in no status yet")).because(Some(issues.join("; ")))
}

/// Checks `value` of attribute `path` ("taints.effect") against the `one_of` rule `attrs`
/// declare for it, so a typo fails before any call changes anything.
fn one_of(kind: &str, attrs: &[Attr], path: &str, value: &str) -> KindResult<()> {
    let name = path.rsplit('.').next().unwrap_or(path);
    let rule = attrs.iter().find(|attr| attr.name == name).map(|a| a.rule);
    let Some(Rule::OneOf(allowed)) = rule else {
        return Ok(());
    };
    if allowed.contains(&value) {
        return Ok(());
    }
    let message = format!("{path}: {value:?} is not one of {}", allowed.join(", "));
    Err(KindError::local(kind, message))
}

/// Whose update an update id is: DescribeUpdate names a node group's or an add-on's.
#[derive(Debug, Clone, Copy)]
enum UpdateOf<'a> {
    Cluster,
    Nodegroup(&'a str),
    Addon(&'a str),
}

/// An update started by UpdateClusterConfig, UpdateClusterVersion, UpdateNodegroupConfig,
/// UpdateNodegroupVersion or UpdateAddon, followed by its id: AWS's verdict on the update
/// itself, with its errors, not merely a resource that is ACTIVE again.
const UPDATE: Waiter = Waiter::until(
    "eks:DescribeUpdate",
    &["Successful"],
    &["Failed", "Cancelled"],
    waiting(Duration::from_secs(60 * 60)),
);

/// Waits until `started` (the update call's answer) is Successful, judging the answer
/// itself first and then DescribeUpdate by its id. `bound` is the kind's default wait.
async fn wait_for_update(
    cx: &StepCx,
    eks: &Client,
    cluster: &str,
    started: &Update,
    of: UpdateOf<'_>,
    bound: Duration,
) -> KindResult<()> {
    let id = started
        .id()
        .ok_or_else(|| missing(UPDATE.call, "update id"))?;
    let waiter = UPDATE.with_backoff(waiting(bound));
    let mut answer = Some(started.clone());
    let look = || {
        let first = answer.take();
        async move {
            match first {
                Some(update) => Ok(Some(update)),
                None => found(describe_update(eks, cluster, id, of).await),
            }
        }
    };
    waiter.wait(cx, look, update_seen).await?;
    Ok(())
}

async fn describe_update(
    eks: &Client,
    cluster: &str,
    id: &str,
    of: UpdateOf<'_>,
) -> KindResult<Update> {
    let mut request = eks.describe_update().name(cluster).update_id(id);
    request = match of {
        UpdateOf::Cluster => request,
        UpdateOf::Nodegroup(name) => request.nodegroup_name(name),
        UpdateOf::Addon(name) => request.addon_name(name),
    };
    let described = request.send().await;
    let described = described.map_err(|e| sdk_error(UPDATE.call, e))?;
    described
        .update
        .ok_or_else(|| missing(UPDATE.call, "update"))
}

/// An update's status, with AWS's errors ("CODE: message; ...") as the reason it failed.
fn update_seen(update: &Update) -> Seen {
    let status = update
        .status()
        .map_or("in no status yet", UpdateStatus::as_str);
    let errors: Vec<String> = update.errors().iter().map(error_text).collect();
    let what = update.r#type().map_or("update", |t| t.as_str());
    let id = update.id().unwrap_or("?");
    let reason = match errors.is_empty() {
        true => format!("{what} {id} is {status}; AWS reported no errors"),
        false => format!("{what} {id}: {}", errors.join("; ")),
    };
    Seen::new(status).because(Some(reason))
}

fn error_text(error: &ErrorDetail) -> String {
    let code = error.error_code().map(|c| c.as_str());
    match (code, error.error_message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (code, message) => code.or(message).unwrap_or("unspecified error").to_string(),
    }
}

#[cfg(test)]
mod tests;
