//! A role's policies: managed policies attached by ARN, inline policies put by name, both
//! reconciled against what IAM holds; documents compared by meaning ([`policy::same`]).

use super::super::policy;
use super::super::NOT_FOUND;
use crate::aws::common::ignore_gone;
use crate::aws::{aws_call, retry_while, sdk_error, Backoff};
use crate::kinds::{KindError, KindResult};
use aws_sdk_iam::Client;
use serde_json::Value;
use std::collections::BTreeMap;

/// What to add to `current` and what to take away to get `desired`.
fn set_diff(current: &[String], desired: &[String]) -> (Vec<String>, Vec<String>) {
    let added = desired.iter().filter(|d| !current.contains(d));
    let removed = current.iter().filter(|c| !desired.contains(c));
    (added.cloned().collect(), removed.cloned().collect())
}

/// Inline policies to put (new or granting something else) and names to delete.
fn inline_diff<'a>(
    current: &BTreeMap<String, Value>,
    desired: &'a BTreeMap<String, Value>,
) -> (Vec<(&'a str, &'a Value)>, Vec<String>) {
    let put = desired
        .iter()
        .filter(|(name, doc)| !current.get(*name).is_some_and(|c| policy::same(c, doc)))
        .map(|(name, doc)| (name.as_str(), doc));
    let deleted = current.keys().filter(|name| !desired.contains_key(*name));
    (put.collect(), deleted.cloned().collect())
}

pub(super) async fn attached_policies(iam: &Client, name: &str) -> KindResult<Vec<String>> {
    let attached: Vec<_> = iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("iam:ListAttachedRolePolicies", e))?;
    Ok(attached
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

/// What IAM answers while another request changes the same role.
const CONCURRENT: &str = "ConcurrentModification";

pub(super) async fn sync_managed(
    iam: &Client,
    name: &str,
    current: &[String],
    desired: &[String],
) -> KindResult<()> {
    let (attach, detach) = set_diff(current, desired);
    // IAM refuses a change to a role that another request is changing
    // (ConcurrentModification) for a moment: sent again, as terraform-provider-aws does.
    for arn in attach {
        let arn = arn.as_str();
        retry_while(&[CONCURRENT], Backoff::CONSISTENCY, || async move {
            let request = iam.attach_role_policy().role_name(name).policy_arn(arn);
            let sent = request.send().await.map(drop);
            sent.map_err(|e| sdk_error("iam:AttachRolePolicy", e))
        })
        .await?;
    }
    // A policy someone detached meanwhile answers NoSuchEntity: nothing left to detach.
    for arn in detach {
        let arn = arn.as_str();
        let detached = retry_while(&[CONCURRENT], Backoff::CONSISTENCY, || async move {
            let request = iam.detach_role_policy().role_name(name).policy_arn(arn);
            let sent = request.send().await.map(drop);
            sent.map_err(|e| sdk_error("iam:DetachRolePolicy", e))
        })
        .await;
        ignore_gone(detached, &[NOT_FOUND])?;
    }
    Ok(())
}

async fn inline_policy_names(iam: &Client, name: &str) -> KindResult<Vec<String>> {
    iam.list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("iam:ListRolePolicies", e))
}

/// Name -> document of every inline policy IAM holds for the role.
pub(super) async fn inline_policies(
    iam: &Client,
    name: &str,
) -> KindResult<BTreeMap<String, Value>> {
    let mut policies = BTreeMap::new();
    for policy_name in inline_policy_names(iam, name).await? {
        let request = iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy_name);
        let answer = aws_call("iam:GetRolePolicy", request.send()).await?;
        let doc = policy::from_aws(answer.policy_document())
            .map_err(|message| KindError::local("iam:GetRolePolicy", message))?;
        policies.insert(policy_name, doc);
    }
    Ok(policies)
}

pub(super) async fn sync_inline(
    iam: &Client,
    name: &str,
    current: &BTreeMap<String, Value>,
    desired: &BTreeMap<String, Value>,
) -> KindResult<()> {
    let (put, deleted) = inline_diff(current, desired);
    for (policy_name, doc) in put {
        let request = iam
            .put_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .policy_document(policy::render(doc));
        aws_call("iam:PutRolePolicy", request.send()).await?;
    }
    for policy_name in deleted {
        delete_inline(iam, name, &policy_name).await?;
    }
    Ok(())
}

async fn delete_inline(iam: &Client, name: &str, policy_name: &str) -> KindResult<()> {
    let request = iam.delete_role_policy().role_name(name);
    let sent = request.policy_name(policy_name).send().await.map(drop);
    ignore_gone(
        sent.map_err(|e| sdk_error("iam:DeleteRolePolicy", e)),
        &[NOT_FOUND],
    )
}

/// Detaches every managed policy and deletes every inline one: IAM refuses to delete a role
/// that still has any.
pub(super) async fn remove_all(iam: &Client, name: &str) -> KindResult<()> {
    let attached = attached_policies(iam, name).await?;
    sync_managed(iam, name, &attached, &[]).await?;
    for policy_name in inline_policy_names(iam, name).await? {
        delete_inline(iam, name, &policy_name).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn managed_policies_attach_missing_and_detach_extra() {
        let arns = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (attach, detach) = set_diff(&arns(&["a", "b"]), &arns(&["b", "c"]));
        assert_eq!((attach, detach), (arns(&["c"]), arns(&["a"])));
        let (attach, detach) = set_diff(&arns(&["a"]), &arns(&["a"]));
        assert!(attach.is_empty() && detach.is_empty());
    }

    #[test]
    fn inline_policies_put_changed_ones_and_delete_dropped_ones() {
        let doc = |action: &str| json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]});
        let current: BTreeMap<String, Value> = [
            ("same".to_string(), doc("s3:GetObject")),
            ("changed".to_string(), doc("s3:GetObject")),
            ("dropped".to_string(), doc("s3:GetObject")),
        ]
        .into();
        let mut same_as_list = doc("s3:GetObject");
        same_as_list["Statement"][0]["Action"] = json!(["s3:GetObject"]);
        let desired: BTreeMap<String, Value> = [
            ("same".to_string(), same_as_list),
            ("changed".to_string(), doc("s3:PutObject")),
            ("new".to_string(), doc("s3:ListBucket")),
        ]
        .into();
        let (put, deleted) = inline_diff(&current, &desired);
        let put_names: Vec<&str> = put.iter().map(|(name, _)| *name).collect();
        assert_eq!(put_names, vec!["changed", "new"]);
        assert_eq!(deleted, vec!["dropped".to_string()]);
    }
}
