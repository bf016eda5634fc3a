//! Where a remote state lives, as the user writes it (`s3://bucket/key?region=...`) and as
//! saved plans store it.

use serde::{Deserialize, Serialize};

/// Where a remote state lives: `s3://bucket/key`, in `region` (default: the blueprint's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl S3Location {
    /// Reads `s3://BUCKET/KEY` or `s3://BUCKET/KEY?region=REGION`; `Ok(None)` for text that
    /// does not start with `s3://` (a local path).
    pub fn parse_url(text: &str) -> Result<Option<S3Location>, String> {
        let Some(rest) = text.strip_prefix("s3://") else {
            return Ok(None);
        };
        let usage = || {
            format!(
                "`{text}` is not an S3 state location: write s3://BUCKET/KEY (optionally \
                 ?region=REGION), e.g. s3://my-team-state/network/prod.json"
            )
        };
        let (path, region) = match rest.rsplit_once("?region=") {
            Some((_, "")) => return Err(usage()),
            Some((path, region)) => (path, Some(region.to_string())),
            None => (rest, None),
        };
        let (bucket, key) = path.split_once('/').ok_or_else(usage)?;
        if key.is_empty() || key.ends_with('/') {
            return Err(usage());
        }
        check_bucket_name(bucket).map_err(|why| format!("{}: {why}", usage()))?;
        Ok(Some(S3Location {
            bucket: bucket.into(),
            key: key.into(),
            region,
        }))
    }

    /// The location as [`S3Location::parse_url`] reads it back, region included (saved plans).
    pub fn to_url(&self) -> String {
        match &self.region {
            Some(region) => format!("{self}?region={region}"),
            None => self.to_string(),
        }
    }

    pub fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    pub fn backup_key(&self) -> String {
        format!("{}.backup", self.key)
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// S3's rules for bucket names: 3-63 characters, lower-case letters, digits, dots and
/// hyphens, starting and ending with a letter or digit.
pub fn check_bucket_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&name.len()) {
        return Err(format!(
            "bucket name `{name}` must be 3 to 63 characters long"
        ));
    }
    if !name.chars().all(allowed) || !edge(name.chars().next()) || !edge(name.chars().last()) {
        return Err(format!("bucket name `{name}` may hold only lower-case letters, digits, dots and hyphens, and must start and end with a letter or digit"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::memory::location;
    use super::*;

    #[test]
    fn locations_parse_from_urls_and_back() {
        let parsed = S3Location::parse_url("s3://team-state/net/dev.json")
            .unwrap()
            .unwrap();
        assert_eq!(parsed, location());
        assert_eq!(parsed.to_url(), "s3://team-state/net/dev.json");
        let with_region = S3Location::parse_url("s3://team-state/a.json?region=eu-west-1")
            .unwrap()
            .unwrap();
        assert_eq!(with_region.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            S3Location::parse_url(&with_region.to_url()).unwrap(),
            Some(with_region)
        );
        assert_eq!(S3Location::parse_url("state/net-dev.json").unwrap(), None);
        for bad in [
            "s3://",
            "s3://bucket",
            "s3://bucket/",
            "s3://bucket/dir/",
            "s3://Bad_Bucket/k.json",
            "s3://ab/k.json",
            "s3://b-ucket/k.json?region=",
        ] {
            let err = S3Location::parse_url(bad).unwrap_err();
            assert!(err.contains("s3://BUCKET/KEY"), "{bad}: {err}");
        }
        assert!(check_bucket_name("my.team-state-1").is_ok());
        assert!(check_bucket_name("-team").is_err());
    }
}
