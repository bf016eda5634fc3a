//! What every service's kinds share: turning blueprint attributes into a kind's spec
//! struct, and small helpers around AWS errors and outputs.

pub use crate::kinds::{
    carries_all, changed, in_order, parse_spec, tag_changes, user_tags, value_or_default,
    TagChanges, TAGS,
};
use crate::kinds::{Attrs, KindError, KindResult, Tags};
use serde_json::Value;
use std::cmp::Ordering;

pub fn has_code(err: &KindError, codes: &[&str]) -> bool {
    err.has_code_in(codes)
}

/// A deletion that finds the resource already gone has done its job.
pub fn ignore_gone(result: KindResult<()>, not_found: &[&str]) -> KindResult<()> {
    match result {
        Err(err) if has_code(&err, not_found) => Ok(()),
        other => other,
    }
}

/// A read's answer, `None` when AWS does not know the resource (`not_found`): it went
/// between two calls of one read.
pub fn unless_gone<T>(answer: KindResult<T>, not_found: &[&str]) -> KindResult<Option<T>> {
    match answer {
        Ok(found) => Ok(Some(found)),
        Err(err) if has_code(&err, not_found) => Ok(None),
        Err(err) => Err(err),
    }
}

/// A mutating call whose effect is already there: its own earlier attempt, whose answer was
/// lost and which the SDK sent again (a duplicate rule, an existing association). AWS says
/// so with `already_codes`; the call has done its job.
pub fn ignore_already_done(result: KindResult<()>, already_codes: &[&str]) -> KindResult<()> {
    match result {
        Err(err) if has_code(&err, already_codes) => {
            tracing::debug!(call = %err.call, code = ?err.code, "already done");
            Ok(())
        }
        other => other,
    }
}

/// A service's tag list for a Create* or Tag* call, each tag made by `build` (IAM's and
/// Organizations' tag builders refuse a missing key or value); `None` when there is
/// nothing to tag, so the call carries no empty list.
pub fn sdk_tags<T, E: std::fmt::Display>(
    call: &str,
    tags: &Tags,
    build: impl Fn(&str, &str) -> Result<T, E>,
) -> KindResult<Option<Vec<T>>> {
    if tags.is_empty() {
        return Ok(None);
    }
    let built = tags.iter().map(|(key, value)| {
        build(key, value).map_err(|e| KindError::local(call, format!("tag {key}: {e}")))
    });
    built.collect::<KindResult<_>>().map(Some)
}

/// Sends an SDK request and awaits it, naming `call` ("s3:PutBucketPolicy") in its error.
#[macro_export]
macro_rules! send {
    ($call:expr, $request:expr) => {
        $request
            .send()
            .await
            .map_err(|e| $crate::aws::sdk_error($call, e))
    };
}

/// An answer, `None` where AWS answers `absent`: a configuration the resource does not
/// have (S3's NoSuchBucketPolicy, ECR's LifecyclePolicyNotFoundException) or a resource
/// that is gone.
pub fn unless_absent<T>(absent: &str, answer: KindResult<T>) -> KindResult<Option<T>> {
    match answer {
        Ok(found) => Ok(Some(found)),
        Err(err) if err.has_code_in(&[absent]) => Ok(None),
        Err(err) => Err(err),
    }
}

/// A delete AWS refuses while the resource still holds something (a bucket's objects, a
/// repository's images): AWS's answer, naming the address and `opt_in`, the attribute that
/// lets innovate delete what it holds first.
pub fn still_holding(address: &str, err: KindError, what: &str, opt_in: &str) -> KindError {
    let message = format!(
        "{address}: {what} ({}); set `{opt_in}: true` to let innovate delete them first",
        err.message
    );
    KindError { message, ..err }
}

/// A policy document as AWS holds it (a bucket's, a repository's), as an attribute value:
/// parsed (drift compares it by meaning), text that is not JSON as it is, `null` for none.
pub fn held_document(text: Option<&str>) -> Value {
    text.map_or(Value::Null, |text| {
        crate::aws::iam::policy::from_aws(text).unwrap_or_else(|_| Value::String(text.into()))
    })
}

/// An identifier AWS should have returned but did not.
pub fn missing(call: &str, field: &str) -> KindError {
    KindError::local(call, format!("the response has no {field}"))
}

/// Outputs from `(name, value)` pairs, leaving out values AWS did not report.
pub fn outputs<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<String>)>) -> Attrs {
    pairs
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_string(), Value::String(value?))))
        .collect()
}

/// Observed blueprint attributes ([`Live::attrs`]) from `(name, value)` pairs. A `null`
/// value says AWS reports nothing for the attribute: drift when the blueprint set it.
pub fn observed<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Attrs {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// An optional string as an attribute value: `null` when AWS reports none (or "").
pub fn string_or_null(value: Option<&str>) -> Value {
    value
        .filter(|text| !text.is_empty())
        .map_or(Value::Null, |text| Value::String(text.to_string()))
}

/// IPv4 CIDR blocks in address order ("10.2.0.0/16" before "10.10.0.0/16"), then by prefix
/// length; anything unparsable after them, as text. The order observed lists of CIDRs and
/// routes are reported in.
pub fn cidr_order(a: &str, b: &str) -> Ordering {
    fn key(cidr: &str) -> Option<(u32, u8)> {
        let (address, prefix) = cidr.split_once('/')?;
        let address: std::net::Ipv4Addr = address.parse().ok()?;
        Some((u32::from(address), prefix.parse().ok()?))
    }
    match (key(a), key(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{Price, Schema, Tier};
    use serde_json::json;

    #[test]
    fn cidrs_order_by_address_then_prefix() {
        let mut cidrs = vec![
            "10.10.0.0/16",
            "odd",
            "10.2.0.0/16",
            "0.0.0.0/0",
            "10.2.0.0/24",
        ];
        cidrs.sort_by(|a, b| cidr_order(a, b));
        assert_eq!(
            cidrs,
            vec![
                "0.0.0.0/0",
                "10.2.0.0/16",
                "10.2.0.0/24",
                "10.10.0.0/16",
                "odd"
            ]
        );
        assert_eq!(string_or_null(Some("")), Value::Null);
        assert_eq!(string_or_null(Some("x")), json!("x"));
    }

    #[test]
    fn changed_counts_an_absent_attribute_as_its_default() {
        use crate::kinds::{Attr, AttrType};
        static SCHEMA: Schema = Schema {
            name: "test.kind",
            attrs: &[
                Attr::optional("enable", AttrType::Bool).default("true"),
                TAGS,
            ],
            outputs: &[],
            taggable: true,
            tier: Tier::Network,
            price: Price::Free,
        };
        let absent = json!({});
        let off = json!({"enable": false});
        let on = json!({"enable": true});
        let attrs = |v: &Value| v.as_object().unwrap().clone();
        assert!(changed(&SCHEMA, &attrs(&absent), &attrs(&off), "enable"));
        assert!(!changed(&SCHEMA, &attrs(&absent), &attrs(&on), "enable"));
    }
}
