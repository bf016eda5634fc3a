//! A fault-injecting HTTP proxy (`localstack/faultproxy.py`) in front of this test binary's
//! emulator: throttling, 5xx, connection resets, slow and lost responses at given rates, and
//! scripted answers (`--answer`) for calls the emulator lacks.
//! Each proxy is its own process on a free loopback port and exits with its `FaultProxy`.

use super::emulator;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;

pub struct FaultProxy {
    pub endpoint: String,
    child: Child,
}

impl FaultProxy {
    /// Starts a proxy with `faults`, faultproxy.py's flags (`["--throttle", "0.2"]`).
    pub fn start(faults: &[&str]) -> FaultProxy {
        let mut args = vec!["--target", emulator::endpoint()];
        args.extend_from_slice(faults);
        let (child, endpoint) = emulator::spawn_listening("faultproxy.py", &args);
        FaultProxy { endpoint, child }
    }

    /// What the proxy saw: `requests` per action, injected `faults` per "KIND ACTION".
    pub fn stats(&self) -> serde_json::Value {
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("connect to the proxy");
        write!(
            stream,
            "GET /__proxy/stats HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split("\r\n\r\n").nth(1).expect("a stats body");
        serde_json::from_str(body).expect("stats JSON")
    }

    /// How many faults of `kind` ("throttle", "lost", ...) the proxy injected.
    pub fn injected(&self, kind: &str) -> u64 {
        let stats = self.stats();
        let faults = stats["faults"].as_object().unwrap();
        faults
            .iter()
            .filter(|(name, _)| name.split(' ').next() == Some(kind))
            .map(|(_, count)| count.as_u64().unwrap())
            .sum()
    }

    /// A proxy that answers each `(action, status, body)` itself, in turn for one action,
    /// and forwards everything else: AWS's answers to calls the emulator lacks.
    pub fn answering(answers: &[(&str, u16, &serde_json::Value)]) -> FaultProxy {
        let flags: Vec<String> = answers
            .iter()
            .flat_map(|(action, status, body)| {
                ["--answer".to_string(), format!("{action}={status}:{body}")]
            })
            .collect();
        FaultProxy::start(&flags.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// How many requests of `action` reached the proxy.
    pub fn requests(&self, action: &str) -> u64 {
        self.stats()["requests"][action].as_u64().unwrap_or(0)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
