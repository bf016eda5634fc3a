//! An in-process HTTP proxy for tests that need the transient states AWS goes through and the
//! emulator skips (a DB instance `creating`, an account creation `IN_PROGRESS`, a call refused
//! while something is busy). Each request goes to the test's hook, which answers it itself or
//! forwards it to the emulator and may rewrite the answer. One request per connection,
//! answered with `Connection: close`. (`localstack/faultproxy.py` is the proxy for random
//! faults and latencies; this one is for exact, scripted answers.)

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};

pub struct Request {
    /// The request line and headers.
    pub head: String,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.head, name)
    }

    /// The query protocol's operation (RDS, EC2, STS): the `Action=` form field.
    pub fn form_action(&self) -> String {
        let form = String::from_utf8_lossy(&self.body);
        let field = form.split('&').find_map(|f| f.strip_prefix("Action="));
        field.unwrap_or_default().to_string()
    }

    /// The JSON protocol's operation (Organizations): the end of `X-Amz-Target`.
    pub fn json_target(&self) -> String {
        let target = self.header("x-amz-target").unwrap_or_default();
        target.rsplit('.').next().unwrap_or_default().to_string()
    }
}

pub struct Response {
    /// The status line, e.g. `HTTP/1.1 200 OK`.
    pub status: String,
    pub content_type: String,
    /// REST JSON services (EKS) name the error here, in `x-amzn-ErrorType`.
    pub error_type: Option<String>,
    pub body: String,
}

impl Response {
    /// A 400 answer: how AWS refuses a call.
    pub fn client_error(content_type: &str, body: &str) -> Response {
        Response {
            status: "HTTP/1.1 400 Bad Request".into(),
            content_type: content_type.into(),
            error_type: None,
            body: body.into(),
        }
    }
}

/// Starts the proxy in front of `upstream` and answers its endpoint. `hook` gets each request
/// and a way to forward it.
pub fn start<H>(upstream: &str, hook: H) -> String
where
    H: Fn(&Request, &dyn Fn() -> Response) -> Response + Send + Sync + 'static,
{
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let hook = std::sync::Arc::new(hook);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let (upstream, hook) = (upstream.clone(), hook.clone());
            std::thread::spawn(move || serve(client, &upstream, hook.as_ref()));
        }
    });
    endpoint
}

/// Counts `counter` down; whether it was above zero (a scripted answer still due).
pub fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn serve<H>(mut client: TcpStream, upstream: &str, hook: &H)
where
    H: Fn(&Request, &dyn Fn() -> Response) -> Response,
{
    let Some(request) = read_request(&mut client) else {
        return;
    };
    let forward = || forward(upstream, &request);
    let answer = hook(&request, &forward);
    let _ = client.write_all(&respond(&answer));
}

fn read_request(client: &mut TcpStream) -> Option<Request> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = find(&data, b"\r\n\r\n") {
            break at;
        }
        let n = client.read(&mut buf).ok().filter(|n| *n > 0)?;
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let length = header(&head, "content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = client.read(&mut buf).ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&buf[..n]);
    }
    Some(Request { head, body })
}

fn find(data: &[u8], needle: &[u8]) -> Option<usize> {
    data.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

/// Sends the request on to the emulator and reads its whole answer.
fn forward(upstream: &str, request: &Request) -> Response {
    let mut server = TcpStream::connect(upstream).unwrap();
    let kept = request
        .head
        .lines()
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"));
    let head: Vec<&str> = kept.collect();
    let head = format!("{}\r\nConnection: close\r\n\r\n", head.join("\r\n"));
    server.write_all(head.as_bytes()).unwrap();
    server.write_all(&request.body).unwrap();
    let mut response = Vec::new();
    server.read_to_end(&mut response).unwrap();
    let split = find(&response, b"\r\n\r\n").expect("an HTTP response");
    let response_head = String::from_utf8_lossy(&response[..split]).to_string();
    Response {
        status: response_head.lines().next().unwrap().to_string(),
        content_type: header(&response_head, "content-type")
            .unwrap_or("text/xml")
            .to_string(),
        error_type: header(&response_head, "x-amzn-errortype").map(str::to_string),
        body: String::from_utf8_lossy(&response[split + 4..]).to_string(),
    }
}

fn respond(answer: &Response) -> Vec<u8> {
    let error_type = answer
        .error_type
        .as_ref()
        .map(|t| format!("x-amzn-ErrorType: {t}\r\n"))
        .unwrap_or_default();
    format!(
        "{}\r\nContent-Type: {}\r\n{error_type}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        answer.status,
        answer.content_type,
        answer.body.len(),
        answer.body
    )
    .into_bytes()
}
