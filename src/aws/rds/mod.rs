//! RDS resource kinds: DB subnet groups, DB parameter groups and DB instances (a folder of
//! its own: creating, changing, deleting and waiting are each a file). What they share
//! lives here and in [`tags`].

mod db_instance;
mod db_parameter_group;
mod db_subnet_group;
mod tags;

use crate::aws::common::has_code;
use crate::aws::{retry_while, AwsContext, Backoff};
use crate::kinds::{KindResult, Registry};
use std::future::Future;
use std::sync::Arc;

/// Registers the RDS kinds, sharing `aws`'s one RDS client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.add(db_subnet_group::DbSubnetGroupKind, aws);
    registry.add(db_parameter_group::DbParameterGroupKind, aws);
    registry.add(db_instance::DbInstanceKind, aws);
}

/// RDS stores names and identifiers in lower case and matches them case-insensitively.
fn lower(ids: &[String]) -> Vec<String> {
    ids.iter().map(|id| id.to_lowercase()).collect()
}

/// The id RDS will give a resource the blueprint names: the name in lower case, as RDS
/// reports it (and as a read by that id finds it).
fn natural_id(name: &str) -> Option<String> {
    Some(name.to_lowercase())
}

/// Deletes a group with `delete`, retrying while AWS answers `in_use`: a group stays in use
/// while the DB instances placed in it are being deleted.
async fn delete_group<F, Fut>(in_use: &str, delete: F) -> KindResult<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = KindResult<()>>,
{
    retry_while(&[in_use], Backoff::DEPENDENCIES, delete).await
}

/// Describes named groups (subnet or parameter groups), whose Describe* call takes one name
/// or none and has no working filter: one name is asked for directly (a missing one is no
/// error), several are picked from one paged listing instead of one call each.
async fn describe_named<T, F, Fut>(
    names: &[String],
    not_found: &str,
    describe: F,
) -> KindResult<Vec<T>>
where
    F: FnOnce(Option<String>) -> Fut,
    Fut: Future<Output = KindResult<Vec<T>>>,
{
    match names {
        [] => Ok(Vec::new()),
        [name] => match describe(Some(name.clone())).await {
            Err(err) if has_code(&err, &[not_found]) => Ok(Vec::new()),
            result => result,
        },
        _ => describe(None).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::KindError;

    #[tokio::test]
    async fn describe_named_asks_for_one_name_and_lists_for_several() {
        let one = describe_named(&["a".to_string()], "NotFound", |name| async move {
            Ok(vec![name])
        })
        .await
        .unwrap();
        assert_eq!(one, vec![Some("a".to_string())]);
        let several = describe_named(&["a".into(), "b".into()], "NotFound", |name| async move {
            Ok(vec![name])
        })
        .await
        .unwrap();
        assert_eq!(several, vec![None]);
        let none: Vec<()> = describe_named(&[], "NotFound", |_| async { panic!("no call") })
            .await
            .unwrap();
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn describe_named_treats_a_missing_name_as_absent() {
        let gone: Vec<()> = describe_named(&["a".to_string()], "NotFound", |_| async {
            Err(KindError::new(
                "rds:DescribeX",
                Some("NotFound".into()),
                "a not found",
            ))
        })
        .await
        .unwrap();
        assert!(gone.is_empty());
        let other: KindResult<Vec<()>> =
            describe_named(&["a".to_string()], "NotFound", |_| async {
                Err(KindError::new(
                    "rds:DescribeX",
                    Some("Throttling".into()),
                    "slow down",
                ))
            })
            .await;
        assert!(other.is_err());
    }

    #[test]
    fn names_are_matched_in_lower_case() {
        assert_eq!(lower(&["MyDb".to_string()]), vec!["mydb".to_string()]);
        assert_eq!(natural_id("Data-Subnets").as_deref(), Some("data-subnets"));
    }
}
