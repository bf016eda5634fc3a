//! The `state:` section: where this blueprint's state lives (a local file or an S3 object).

use super::expander::{key_pos, Expander};
use crate::blueprint::diagnostics::unknown;
use crate::blueprint::yaml::Node;
use crate::state::{check_bucket_name, S3Location};

impl Expander<'_> {
    /// `state: { path: FILE }` (local, the default backend) or
    /// `state: { backend: s3, bucket: B, key: K, region: R }`; `key` defaults to
    /// `<blueprint>-<env>.json`, `${env}` in it is the environment's name.
    pub(super) fn state_section(
        &mut self,
        root: &Node,
        name: &str,
        env: &str,
    ) -> (Option<std::path::PathBuf>, Option<S3Location>) {
        const KEYS: &[&str] = &["backend", "path", "bucket", "key", "region"];
        let Some(section) = root.get("state") else {
            return (None, None);
        };
        let Some(entries) = section.as_map() else {
            self.error(
                section.pos,
                "`state` must be a map: `{ path: FILE }` or `{ backend: s3, bucket: B, key: K }`",
                None,
            );
            return (None, None);
        };
        self.check_keys(entries, ("key", Some("in `state`")), KEYS);
        let backend = self.optional_string(section, "backend");
        let path = self.optional_string(section, "path");
        let bucket = self.optional_string(section, "bucket");
        let key = self.optional_string(section, "key");
        let region = self.optional_string(section, "region");
        let at = |key: &str| key_pos(section, key).unwrap_or(section.pos);
        match backend.as_deref() {
            None | Some("local") => {
                for (field, given) in [("bucket", &bucket), ("key", &key), ("region", &region)] {
                    if given.is_some() {
                        self.error(
                            at(field),
                            format!("`{field}` is for the s3 backend"),
                            Some("add `backend: s3`, or drop it".into()),
                        );
                    }
                }
                (path.map(Into::into), None)
            }
            Some("s3") => {
                if path.is_some() {
                    self.error(
                        at("path"),
                        "`path` is for the local backend; the s3 backend takes `bucket` and `key`",
                        None,
                    );
                }
                let Some(bucket) = bucket else {
                    self.error(
                        section.pos,
                        "the s3 state backend needs `bucket`",
                        Some(
                            "state: { backend: s3, bucket: my-team-state, key: network/prod.json }"
                                .into(),
                        ),
                    );
                    return (None, None);
                };
                if let Err(why) = check_bucket_name(&bucket) {
                    self.error(at("bucket"), why, None);
                }
                let key = key
                    .unwrap_or_else(|| format!("{name}-{env}.json"))
                    .replace("${env}", env);
                if key.is_empty() || key.ends_with('/') || key.contains("${") {
                    self.error(
                        at("key"),
                        format!("`{key}` is not a state object key"),
                        Some(
                            "a key such as network/prod.json; `${env}` is the only substitution"
                                .into(),
                        ),
                    );
                }
                let location = S3Location {
                    bucket,
                    key,
                    region,
                };
                (None, Some(location))
            }
            Some(other) => {
                let problem = unknown("state backend", other, None, ["local", "s3"]);
                self.report(problem.at(at("backend")));
                (None, None)
            }
        }
    }
}

#[cfg(test)]
mod state_section_tests {
    use crate::blueprint::{parse, Blueprint, LoadOptions};
    use crate::kinds::Registry;
    use crate::state::S3Location;

    pub(super) fn load(state: &str, env: Option<&str>) -> Result<Blueprint, Vec<String>> {
        let text = format!(
            "blueprint: net\nenvironments: {{ dev: {{}}, prod: {{}} }}\nstate: {state}\nresources: {{}}\n"
        );
        let options = LoadOptions {
            env: Some(env.unwrap_or("dev").into()),
            vars: Vec::new(),
        };
        parse("bp.yaml", &text, &options, &Registry::default())
            .map_err(|e| e.diagnostics.into_iter().map(|d| d.message).collect())
    }

    #[test]
    pub(super) fn the_state_section_names_a_file_or_an_s3_object() {
        let local = load("{ path: state/net.json }", None).unwrap();
        assert_eq!(local.state_path, Some("state/net.json".into()));
        assert_eq!(local.state_s3, None);

        let s3 = load(
            "{ backend: s3, bucket: team-state, key: \"net/${env}.json\", region: eu-west-1 }",
            Some("prod"),
        )
        .unwrap();
        assert_eq!(s3.state_path, None);
        assert_eq!(
            s3.state_s3,
            Some(S3Location {
                bucket: "team-state".into(),
                key: "net/prod.json".into(),
                region: Some("eu-west-1".into()),
            })
        );
        let default_key = load("{ backend: s3, bucket: team-state }", None).unwrap();
        assert_eq!(default_key.state_s3.unwrap().key, "net-dev.json");
    }

    #[test]
    pub(super) fn a_wrong_state_section_is_reported() {
        for (state, expected) in [
            ("{ backend: s3, key: a.json }", "needs `bucket`"),
            (
                "{ backend: s3, bucket: Team_State }",
                "bucket name `Team_State`",
            ),
            ("{ backend: gcs, bucket: b }", "unknown state backend `gcs`"),
            ("{ bucket: team-state }", "`bucket` is for the s3 backend"),
            (
                "{ backend: s3, bucket: team-state, path: x.json }",
                "`path` is for the local backend",
            ),
            (
                "{ backend: s3, bucket: team-state, key: \"a/${region}.json\" }",
                "is not a state object key",
            ),
            (
                "{ backend: s3, bucket: team-state, buckett: x }",
                "unknown key `buckett` in `state`",
            ),
            ("s3://team-state/a.json", "`state` must be a map"),
        ] {
            let errors = load(state, None).unwrap_err();
            assert!(
                errors.iter().any(|e| e.contains(expected)),
                "{state}: {errors:?}"
            );
        }
    }
}
