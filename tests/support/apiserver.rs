//! A Kubernetes API server in memory, behind kube's own client, for controller
//! tests: it serves FailoverRecords (with JSON patches and server-side applied
//! status), Services, Ingresses and Events, and records every request so a
//! test can assert exactly what the controller asked of the cluster.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

/// One request the controller made.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Value,
}

impl Recorded {
    /// `PATCH /apis/.../x/status`, for compact assertions.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    requests: Vec<Recorded>,
    /// Keep no request log (benchmarks of many objects).
    quiet: bool,
    /// Path prefixes of API groups this server does not serve (a CRD not
    /// installed): answered as kube-apiserver does, with a plain-text 404.
    unserved: Vec<String>,
}

/// The API server; clones share state.
#[derive(Clone, Default)]
pub struct ApiServer {
    state: Arc<Mutex<State>>,
}

const RECORDS: &str = "/apis/dnsfailover.io/v1alpha1/namespaces";

impl ApiServer {
    /// A client talking to a new, empty API server.
    pub fn start() -> (Client, Self) {
        let server = Self::default();
        (server.client(), server)
    }

    /// Another client of this API server (for a restarted or second controller).
    pub fn client(&self) -> Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let serving = self.clone();
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let response = serving.handle(request).await;
                respond.send_response(response);
            }
        });
        Client::new(service, "default")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serve nothing under `prefix`, as a real apiserver answers for an API
    /// group whose CRDs are not installed: `404 page not found`, not a Status.
    pub fn unserve(&self, prefix: &str) {
        self.lock().unserved.push(prefix.to_string());
    }

    /// Serve `prefix` again (the CRDs were installed).
    pub fn serve(&self, prefix: &str) {
        self.lock().unserved.retain(|p| p != prefix);
    }

    /// Stop keeping the request log.
    pub fn quiet(&self) {
        self.lock().quiet = true;
    }

    pub fn record_path(namespace: &str, name: &str) -> String {
        format!("{RECORDS}/{namespace}/failoverrecords/{name}")
    }

    /// Store an object at its API path.
    pub fn put(&self, path: String, object: Value) {
        self.lock().objects.insert(path, object);
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.lock().objects.get(path).cloned()
    }

    /// Store a FailoverRecord.
    pub fn put_record(&self, record: &dnsfailover::api::FailoverRecord) {
        let namespace = record.metadata.namespace.clone().unwrap_or_default();
        let name = record.metadata.name.clone().unwrap_or_default();
        let mut value = serde_json::to_value(record).expect("serialises");
        // As the API server does for JSON patch `test` ops: an absent list is null.
        if value["metadata"].get("finalizers").is_none() {
            value["metadata"]["finalizers"] = Value::Null;
        }
        self.put(Self::record_path(&namespace, &name), value);
    }

    /// The stored FailoverRecord, as the controller would see it next.
    pub fn record(&self, namespace: &str, name: &str) -> dnsfailover::api::FailoverRecord {
        serde_json::from_value(
            self.get(&Self::record_path(namespace, name))
                .expect("record stored"),
        )
        .expect("record parses")
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Requests as `METHOD path` lines, and forget them.
    pub fn take_lines(&self) -> Vec<String> {
        let mut state = self.lock();
        let lines = state.requests.iter().map(Recorded::line).collect();
        state.requests.clear();
        lines
    }

    /// Events published so far: (type, reason).
    pub fn events(&self) -> Vec<(String, String)> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/events"))
            .map(|r| {
                (
                    r.body["type"].as_str().unwrap_or_default().to_string(),
                    r.body["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or_default().to_string();
        let content_type = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = request
            .into_body()
            .collect_bytes()
            .await
            .unwrap_or_default();
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        {
            let mut state = self.lock();
            if !state.quiet {
                state.requests.push(Recorded {
                    method: method.clone(),
                    path: path.clone(),
                    query,
                    body: body.clone(),
                });
            }
        }
        if self
            .lock()
            .unserved
            .iter()
            .any(|p| path.starts_with(p.as_str()))
        {
            return Response::builder()
                .status(StatusCode::NOT_FOUND)
                .header("content-type", "text/plain; charset=utf-8")
                .body(Body::from(b"404 page not found\n".to_vec()))
                .unwrap_or_else(|_| Response::new(Body::from(Vec::new())));
        }
        match method.as_str() {
            "GET" => match self.get(&path) {
                Some(object) => respond(StatusCode::OK, &object),
                None => not_found(&path),
            },
            "POST" if path.ends_with("/events") => respond(StatusCode::CREATED, &body),
            "PATCH" if path.ends_with("/status") => {
                let object_path = path.trim_end_matches("/status").to_string();
                let mut state = self.lock();
                let Some(object) = state.objects.get_mut(&object_path) else {
                    return not_found(&object_path);
                };
                object["status"] = body["status"].clone();
                respond(StatusCode::OK, object)
            }
            "PATCH" if content_type.contains("json-patch") => {
                let mut state = self.lock();
                let Some(object) = state.objects.get_mut(&path) else {
                    return not_found(&path);
                };
                let patch: json_patch::Patch = match serde_json::from_value(body) {
                    Ok(p) => p,
                    Err(e) => return status(StatusCode::BAD_REQUEST, &e.to_string()),
                };
                if let Err(e) = json_patch::patch(object, &patch) {
                    return status(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string());
                }
                let finalizers_left = object["metadata"]["finalizers"]
                    .as_array()
                    .is_none_or(|f| f.is_empty());
                let deleting = !object["metadata"]["deletionTimestamp"].is_null();
                let response = respond(StatusCode::OK, object);
                if deleting && finalizers_left {
                    state.objects.remove(&path);
                }
                response
            }
            _ => status(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{method} {path} is not served by the test API server"),
            ),
        }
    }
}

fn respond(code: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap_or_default()))
        .unwrap_or_else(|_| Response::new(Body::from(Vec::new())))
}

fn status(code: StatusCode, message: &str) -> Response<Body> {
    respond(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code.as_u16()}),
    )
}

fn not_found(path: &str) -> Response<Body> {
    respond(
        StatusCode::NOT_FOUND,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": format!("{path} not found"), "reason": "NotFound", "code": 404}),
    )
}
