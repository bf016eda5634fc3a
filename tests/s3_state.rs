//! Remote state in S3 against the emulator: apply writes the state object (and no local file),
//! a second apply on the same state is refused naming the holder, a lock left by a dead run
//! is reported as stale and removed by `force-unlock ID` (and only with the right id), a
//! write over a changed object is refused without clobbering it, and a corrupted object is
//! refused and left untouched.

mod common;

use common::cli::Workspace;
use common::emulator::sdk_config;
use innovate::aws::s3_state::S3Objects;
use innovate::aws::AwsContext;
use innovate::state::{RemoteStore, S3Location, State};
use std::net::TcpListener;
use std::sync::Arc;

async fn s3() -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&sdk_config().await)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.create_bucket().bucket(bucket).send().await.unwrap();
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(output) => Some(output.body.collect().await.unwrap().into_bytes().to_vec()),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
        Err(err) => panic!("GetObject {key}: {err:?}"),
    }
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
}

async fn state_json(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> serde_json::Value {
    let body = get(s3, bucket, key).await.expect("the state object");
    serde_json::from_slice(&body).expect("state JSON")
}

fn blueprint(name: &str, bucket: &str, cidr: &str) -> String {
    format!(
        "blueprint: {name}\nregion: us-east-1\nstate:\n  backend: s3\n  bucket: {bucket}\n  key: teams/{name}.json\nresources:\n  main: {{ kind: ec2.vpc, cidr_block: {cidr} }}\n"
    )
}

/// The id in "...; lock id ID. ..." of a refusal.
fn lock_id(message: &str) -> String {
    let rest = message
        .split("lock id ")
        .nth(1)
        .unwrap_or_else(|| panic!("no lock id in: {message}"));
    rest.split(['.', ' ', '\n']).next().unwrap().to_string()
}

#[tokio::test]
async fn apply_keeps_the_state_in_s3_and_replans_clean() {
    let s3 = s3().await;
    create_bucket(&s3, "state-apply").await;
    let ws = Workspace::new();
    let bp = ws.write_blueprint(&blueprint("remote", "state-apply", "10.61.0.0/16"));
    let bp = bp.to_str().unwrap();

    // A saved plan remembers where its state lives.
    let saved = ws.path().join("saved.plan");
    ws.run(&["plan", bp, "--out", saved.to_str().unwrap()])
        .expect(0);
    ws.run(&["apply", saved.to_str().unwrap(), "--auto-approve"])
        .expect(0);
    let state = state_json(&s3, "state-apply", "teams/remote.json").await;
    assert_eq!(state["format"], "innovate-state");
    assert_eq!(state["blueprint"], "remote");
    let serial = state["serial"].as_u64().unwrap();
    assert!(serial >= 2, "the intent, then the create: {state}");
    let lineage = state["lineage"].as_str().unwrap().to_string();
    let vpc = state["resources"]["main"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(vpc.starts_with("vpc-"), "{state}");
    assert!(!ws.path().join("state").exists(), "no local state file");
    assert_eq!(
        get(&s3, "state-apply", "teams/remote.json.lock").await,
        None,
        "the lock is released"
    );
    let backup: serde_json::Value = serde_json::from_slice(
        &get(&s3, "state-apply", "teams/remote.json.backup")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(backup["serial"].as_u64(), Some(serial - 1), "{backup}");

    // Nothing to do: plan says so, apply changes nothing.
    ws.run(&["plan", bp, "--detailed-exitcode"]).expect(0);
    let again = ws.run(&["apply", bp, "--auto-approve"]).expect(0);
    assert!(again.stdout().contains("No changes"), "{}", again.stdout());
    let state = state_json(&s3, "state-apply", "teams/remote.json").await;
    assert_eq!(state["serial"].as_u64(), Some(serial));
    assert_eq!(state["lineage"], lineage.as_str());

    // The same state through the flag, from a blueprint that names no state.
    let plain = ws.path().join("plain.yaml");
    std::fs::write(
        &plain,
        "blueprint: remote\nregion: us-east-1\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.61.0.0/16 }\n",
    )
    .unwrap();
    let listed = ws
        .run(&[
            "state",
            "list",
            plain.to_str().unwrap(),
            "--state",
            "s3://state-apply/teams/remote.json?region=us-east-1",
        ])
        .expect(0);
    assert_eq!(listed.stdout(), "main\n");

    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
    let state = state_json(&s3, "state-apply", "teams/remote.json").await;
    assert_eq!(state["resources"], serde_json::json!({}));
    assert_eq!(state["lineage"], lineage.as_str());
    assert!(!ws.path().join("state").exists());
}

#[tokio::test]
async fn a_second_apply_is_refused_and_a_dead_runs_lock_is_forced_away_by_id() {
    let s3 = s3().await;
    create_bucket(&s3, "state-locks").await;
    let ws = Workspace::new();
    let bp = ws.write_blueprint(&blueprint("locked", "state-locks", "10.62.0.0/16"));
    let bp = bp.to_str().unwrap();
    let key = "teams/locked.json";

    // EC2 alone goes to an endpoint that accepts and never answers: the first apply takes
    // the lock in S3 (the real emulator) and stays inside CreateVpc (--refresh=false: no
    // reads while planning, so CreateVpc is its first EC2 call).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut first = ws.command(&["apply", bp, "--auto-approve", "--refresh=false"]);
    first
        .env(
            "AWS_ENDPOINT_URL_EC2",
            format!("http://{}", silent.local_addr().unwrap()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut first = first.spawn().unwrap();
    let (_connection, _) = silent
        .accept()
        .expect("the first apply calls EC2, holding the lock");
    let held: serde_json::Value = serde_json::from_slice(
        &get(&s3, "state-locks", &format!("{key}.lock"))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(held["pid"].as_u64(), Some(u64::from(first.id())));
    assert_eq!(held["operation"], "apply");
    let before = get(&s3, "state-locks", key)
        .await
        .expect("the intent was saved");

    let second = ws.run(&["apply", bp, "--auto-approve"]).expect(1);
    let err = second.stderr();
    assert!(
        err.contains("state s3://state-locks/teams/locked.json is locked by"),
        "{err}"
    );
    assert!(
        err.contains(&format!("pid {}", first.id())),
        "names the holder: {err}"
    );
    assert!(err.contains("since"), "{err}");
    assert!(err.contains("Wait for it to finish"), "{err}");
    let id = lock_id(&err);
    assert_eq!(held["id"], id.as_str());
    assert!(
        err.contains(&format!("innovate force-unlock {bp} {id}")),
        "{err}"
    );
    assert_eq!(
        get(&s3, "state-locks", key).await.as_deref(),
        Some(&before[..]),
        "the refused run wrote nothing"
    );

    // The holder dies without releasing: its lock stays, and is called stale.
    first.kill().unwrap();
    first.wait().unwrap();
    let third = ws.run(&["apply", bp, "--auto-approve"]).expect(1);
    let err = third.stderr();
    assert!(
        err.contains(&format!(
            "Its process (pid {}) is no longer running on this host: the lock is stale",
            first.id()
        )),
        "{err}"
    );
    assert_eq!(lock_id(&err), id);

    let wrong = ws.run(&["force-unlock", bp, "not-the-id"]).expect(1);
    assert!(
        wrong
            .stderr()
            .contains(&format!("has id {id}, not not-the-id")),
        "{}",
        wrong.stderr()
    );
    assert!(get(&s3, "state-locks", &format!("{key}.lock"))
        .await
        .is_some());

    let forced = ws.run(&["force-unlock", bp, &id]).expect(0);
    assert!(
        forced.stdout().contains(&format!("Removed lock {id}")),
        "{}",
        forced.stdout()
    );
    assert_eq!(get(&s3, "state-locks", &format!("{key}.lock")).await, None);
    let again = ws.run(&["force-unlock", bp, &id]).expect(1);
    assert!(
        again.stderr().contains("is not locked"),
        "{}",
        again.stderr()
    );

    // The state the dead run left is intact and the next apply finishes the job.
    let state: State = serde_json::from_slice(&get(&s3, "state-locks", key).await.unwrap())
        .expect("a valid state");
    assert!(state.resources.is_empty());
    ws.run(&["apply", bp, "--auto-approve"]).expect(0);
    let state = state_json(&s3, "state-locks", key).await;
    assert!(state["resources"]["main"]["id"].is_string(), "{state}");
    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
}

#[tokio::test]
async fn a_save_over_a_changed_object_is_refused_and_clobbers_nothing() {
    let s3 = s3().await;
    create_bucket(&s3, "state-etags").await;
    let aws = AwsContext::with_config(sdk_config().await);
    let location = S3Location::parse_url("s3://state-etags/net.json")
        .unwrap()
        .unwrap();
    let objects = Arc::new(S3Objects::new(aws, "state-etags"));
    let store = RemoteStore::new(objects.clone(), location.clone());

    assert_eq!(store.load().await.unwrap(), None);
    let mut mine = State::new("net", "default");
    store.save(&mine).await.unwrap();
    mine.serial = 1;
    store.save(&mine).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(mine.clone()));

    // Someone else writes behind this store's back.
    let mut theirs = mine.clone();
    theirs.serial = 9;
    let theirs = serde_json::to_vec_pretty(&theirs).unwrap();
    put(&s3, "state-etags", "net.json", &theirs).await;

    mine.serial = 2;
    let err = store.save(&mine).await.unwrap_err().to_string();
    assert!(
        err.contains("state s3://state-etags/net.json was changed since this run read it"),
        "{err}"
    );
    assert!(err.contains("did not overwrite"), "{err}");
    assert_eq!(get(&s3, "state-etags", "net.json").await.unwrap(), theirs);

    // A run that found no state may only create it, never replace one made meanwhile.
    let late = RemoteStore::new(objects, location);
    let err = late.save(&mine).await.unwrap_err().to_string();
    assert!(err.contains("created since this run found none"), "{err}");
    assert_eq!(get(&s3, "state-etags", "net.json").await.unwrap(), theirs);
}

#[tokio::test]
async fn corrupted_or_newer_state_objects_are_refused_and_left_untouched() {
    let s3 = s3().await;
    create_bucket(&s3, "state-refused").await;
    let ws = Workspace::new();
    let bp = ws.write_blueprint(&blueprint("refused", "state-refused", "10.63.0.0/16"));
    let bp = bp.to_str().unwrap();
    let key = "teams/refused.json";
    for (body, expected) in [
        (
            &b"{\"format\": \"innovate-state\", \"vers"[..],
            "state object s3://state-refused/teams/refused.json is corrupted",
        ),
        (
            b"{\"format\": \"innovate-state\", \"version\": 99}",
            "has schema version 99, newer than this innovate understands",
        ),
    ] {
        put(&s3, "state-refused", key, body).await;
        let plan = ws.run(&["plan", bp]).expect(1);
        let apply = ws.run(&["apply", bp, "--auto-approve"]).expect(1);
        for run in [plan, apply] {
            assert!(run.stderr().contains(expected), "{}", run.stderr());
        }
        assert_eq!(get(&s3, "state-refused", key).await.as_deref(), Some(body));
        assert_eq!(
            get(&s3, "state-refused", &format!("{key}.backup")).await,
            None
        );
        assert_eq!(
            get(&s3, "state-refused", &format!("{key}.lock")).await,
            None,
            "the refused apply released its lock"
        );
    }
}
