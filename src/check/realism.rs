//! Rules for values that cannot work on AWS: documentation placeholders that slipped into
//! a blueprint (an ARN in account 123456789012, a root e-mail at a reserved domain) and
//! availability zones the region does not have. Each would pass `validate` and fail (or,
//! for e-mail, lose the account's root user) on the first real apply.

use super::rules::{Context, Hit, Subject};
use super::Spot;
use crate::blueprint::template::contains_unknown;
use serde_json::Value;

/// Account ids AWS documentation and SDK examples use; no real account has them.
const PLACEHOLDER_ACCOUNTS: &[&str] = &["123456789012", "000000000000", "111111111111"];

/// Every known string in `value` with the name of the attribute or map key it sits under
/// (a list item keeps its list's key), depth first, in order.
fn strings<'v>(key: &'v str, value: &'v Value, out: &mut Vec<(&'v str, &'v str)>) {
    match value {
        Value::String(text) => out.push((key, text)),
        Value::Array(items) => items.iter().for_each(|item| strings(key, item, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| strings(k, v, out)),
        _ => {}
    }
}

/// (top-level attribute, key the string sits under, the string) of every known string of
/// the instance; a value holding a reference (unknown offline) is left out.
fn known_strings<'a>(s: &'a Subject) -> Vec<(&'a str, &'a str, &'a str)> {
    let mut found = Vec::new();
    for (name, value) in s.attrs.iter().filter(|(_, v)| !contains_unknown(v)) {
        let mut inner = Vec::new();
        strings(name, value, &mut inner);
        found.extend(
            inner
                .into_iter()
                .map(|(key, text)| (name.as_str(), key, text)),
        );
    }
    found
}

/// The placeholder account ids in `text`, as whole 12-digit runs (inside ARNs, JSON policy
/// text, `"AWS": "123456789012"`), never as part of a longer number.
pub fn placeholder_accounts(text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for run in text.split(|c: char| !c.is_ascii_digit()) {
        if let Some(id) = PLACEHOLDER_ACCOUNTS.iter().find(|id| **id == run) {
            if !found.contains(id) {
                found.push(*id);
            }
        }
    }
    found
}

pub fn placeholder_account(s: &Subject, _: &Context) -> Vec<Hit> {
    let mut hits: Vec<Hit> = Vec::new();
    // `account:` places the resource: a placeholder there is as wrong as in an ARN.
    let placed = match &s.instance.account {
        Some(crate::blueprint::Tmpl::Lit(Value::String(id))) => {
            Some(("account", "account", id.as_str()))
        }
        _ => None,
    };
    for (attr, _, text) in known_strings(s).into_iter().chain(placed) {
        for id in placeholder_accounts(text) {
            let message = format!("`{attr}` names the placeholder account {id}");
            if !hits.iter().any(|h| h.message == message) {
                hits.push(Hit {
                    message,
                    at: Spot::Named(attr.to_string()),
                });
            }
        }
    }
    hits
}

/// The reserved or documentation domain `domain` is in or under (RFC 2606, RFC 6761), if
/// any: the TLDs .example, .invalid, .test, .localhost and example.com/.net/.org.
pub fn reserved_domain(domain: &str) -> Option<String> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    const TLDS: &[&str] = &["example", "invalid", "test", "localhost"];
    const NAMES: &[&str] = &["example.com", "example.net", "example.org"];
    let under = |name: &str| domain == name || domain.ends_with(&format!(".{name}"));
    if let Some(tld) = TLDS.iter().find(|tld| under(tld)) {
        return Some(format!(".{tld}"));
    }
    NAMES.iter().find(|name| under(name)).map(|n| n.to_string())
}

/// The domain an e-mail or domain attribute's value names: after the `@` of an address,
/// else the value itself when it looks like a host name (`domain: vpc` of an elastic IP
/// does not).
fn domain_of(key: &str, text: &str) -> Option<String> {
    let key = key.to_ascii_lowercase();
    if !(key.contains("email") || key.contains("domain")) {
        return None;
    }
    match text.rsplit_once('@') {
        Some((_, domain)) => Some(domain.to_string()),
        None if text.contains('.') && !text.contains(char::is_whitespace) => Some(text.to_string()),
        None => None,
    }
}

pub fn reserved_email_domain(s: &Subject, _: &Context) -> Vec<Hit> {
    let mut hits = Vec::new();
    for (attr, key, text) in known_strings(s) {
        let Some(domain) = domain_of(key, text) else {
            continue;
        };
        if let Some(reserved) = reserved_domain(&domain) {
            hits.push(Hit {
                message: format!(
                    "`{attr}` uses `{domain}`, under the reserved domain `{reserved}`: no mail is ever delivered there"
                ),
                at: Spot::Named(attr.to_string()),
            });
        }
    }
    hits
}

/// The availability-zone letters of each region, as AWS offers them to a new account.
/// Names map to physical zones per account, but the set of names is the region's.
/// us-west-1 offers new accounts two zones (a, c); ap-northeast-1 has no `b` zone for them;
/// ca-central-1 has no `c`.
const ZONES: &[(&str, &str)] = &[
    ("us-east-1", "abcdef"),
    ("us-east-2", "abc"),
    ("us-west-1", "ac"),
    ("us-west-2", "abcd"),
    ("ca-central-1", "abd"),
    ("eu-west-1", "abc"),
    ("eu-west-2", "abc"),
    ("eu-west-3", "abc"),
    ("eu-central-1", "abc"),
    ("eu-north-1", "abc"),
    ("ap-south-1", "abc"),
    ("ap-southeast-1", "abc"),
    ("ap-southeast-2", "abc"),
    ("ap-northeast-1", "acd"),
    ("ap-northeast-2", "abcd"),
    ("sa-east-1", "abc"),
];

/// `us-east-1a` -> ("us-east-1", 'a'); anything not shaped like an AZ name (a zone id such
/// as `use1-az1`, a Local Zone) -> None.
fn split_zone(name: &str) -> Option<(&str, char)> {
    let letter = name.chars().last().filter(char::is_ascii_lowercase)?;
    let region = &name[..name.len() - 1];
    let parts: Vec<&str> = region.split('-').collect();
    let shaped = parts.len() >= 3
        && parts
            .last()
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    shaped.then_some((region, letter))
}

/// Why `zone` cannot be used in `region`, if it cannot.
pub fn zone_problem(zone: &str, region: &str) -> Option<String> {
    let (zone_region, letter) = split_zone(zone)?;
    if zone_region != region {
        return Some(format!(
            "`{zone}` is a zone of {zone_region}, not of the blueprint's region {region}"
        ));
    }
    let (_, letters) = ZONES.iter().find(|(r, _)| *r == region)?;
    if letters.contains(letter) {
        return None;
    }
    let offered: Vec<String> = letters.chars().map(|l| format!("{region}{l}")).collect();
    Some(format!(
        "{region} has no zone `{zone}` (it offers {})",
        offered.join(", ")
    ))
}

pub fn unknown_zone(s: &Subject, cx: &Context) -> Vec<Hit> {
    let Some(region) = cx.region.as_deref() else {
        return Vec::new();
    };
    known_strings(s)
        .into_iter()
        .filter(|(_, key, _)| key.starts_with("availability_zone"))
        .filter_map(|(attr, _, zone)| {
            zone_problem(zone, region).map(|message| Hit {
                message,
                at: Spot::Named(attr.to_string()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_accounts_are_found_as_whole_ids_only() {
        let policy = r#"{"Statement":[{"Principal":{"AWS":"arn:aws:iam::123456789012:root"}}]}"#;
        assert_eq!(placeholder_accounts(policy), ["123456789012"]);
        assert_eq!(
            placeholder_accounts("arn:aws:kms:us-east-1:000000000000:key/1 111111111111"),
            ["000000000000", "111111111111"]
        );
        assert!(placeholder_accounts("arn:aws:iam::210987654321:role/x").is_empty());
        assert!(
            placeholder_accounts("91234567890123").is_empty(),
            "part of a longer number"
        );
    }

    #[test]
    fn reserved_domains_and_their_subdomains() {
        for domain in [
            "innovate.example",
            "example.com",
            "mail.example.org",
            "EXAMPLE.NET.",
            "x.invalid",
            "a.b.test",
            "localhost",
        ] {
            assert!(reserved_domain(domain).is_some(), "{domain}");
        }
        for domain in [
            "innovate-inc.com",
            "example-corp.com",
            "myexample.com",
            "testing.io",
        ] {
            assert_eq!(reserved_domain(domain), None, "{domain}");
        }
    }

    #[test]
    fn only_email_and_domain_values_are_read_as_domains() {
        assert_eq!(
            domain_of("email", "aws@innovate.example").as_deref(),
            Some("innovate.example")
        );
        assert_eq!(domain_of("domain", "vpc"), None, "an elastic IP's domain");
        assert_eq!(domain_of("Name", "x@example.com"), None);
        assert_eq!(
            domain_of("domain_name", "api.test").as_deref(),
            Some("api.test")
        );
    }

    #[test]
    fn zones_must_be_the_regions_own() {
        assert_eq!(zone_problem("us-east-1f", "us-east-1"), None);
        assert_eq!(zone_problem("us-west-1c", "us-west-1"), None);
        assert_eq!(
            zone_problem("us-west-1b", "us-west-1").as_deref(),
            Some("us-west-1 has no zone `us-west-1b` (it offers us-west-1a, us-west-1c)")
        );
        assert!(zone_problem("us-east-1g", "us-east-1").is_some());
        assert!(zone_problem("ap-northeast-1b", "ap-northeast-1").is_some());
        assert_eq!(
            zone_problem("eu-west-1a", "us-east-1").as_deref(),
            Some("`eu-west-1a` is a zone of eu-west-1, not of the blueprint's region us-east-1")
        );
        assert_eq!(
            zone_problem("me-south-1z", "me-south-1"),
            None,
            "a region the table lacks"
        );
        assert_eq!(zone_problem("use1-az1", "us-east-1"), None, "a zone id");
        assert!(zone_problem("us-gov-west-1a", "us-east-1").is_some());
    }
}
