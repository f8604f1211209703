//! The real Kubernetes control plane for the cluster tests: etcd,
//! kube-apiserver and kube-controller-manager built from their Go modules
//! (`make cluster-bins`), started by `scripts/cluster.py up --hold` once per
//! test binary, and torn down when the test process exits however it exits
//! (the script holds our stdin pipe and stops everything when it closes).
//!
//! Each test gets its own namespace, its own Route 53 emulator and, when it
//! needs one, the chart installed with Helm's own SDK and the controller run
//! as its real binary with only the chart ServiceAccount's token
//! ([`Release::controller`]).
//!
//! Nothing here skips: a missing binary or emulator fails the test with what
//! to run.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Moto;

/// What `scripts/cluster.py up` reports once the control plane is ready.
#[derive(Clone, Debug, Deserialize)]
pub struct State {
    pub dir: PathBuf,
    pub bin_dir: PathBuf,
    pub apiserver: String,
    pub kubeconfig: PathBuf,
    pub ca: PathBuf,
    pub moto: String,
    pub audit_log: PathBuf,
}

pub struct ControlPlane {
    pub state: State,
    holder: Mutex<Holder>,
    /// Set once the Gateway API's CRDs are installed.
    gateway_api: OnceLock<()>,
}

struct Holder {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

static PLANE: OnceLock<ControlPlane> = OnceLock::new();

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn python() -> PathBuf {
    let python = std::env::var_os("DNSFAILOVER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "{} does not exist: run `make venv`, or set DNSFAILOVER_PYTHON",
        python.display()
    );
    python
}

/// The control plane of this test binary, started on first use.
pub fn control_plane() -> &'static ControlPlane {
    PLANE.get_or_init(ControlPlane::start)
}

impl ControlPlane {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "dnsfailover-cluster-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let log_path =
            std::env::temp_dir().join(format!("dnsfailover-cluster-{}.log", std::process::id()));
        let log = std::fs::File::create(&log_path).expect("the control plane's log file");
        let mut command = Command::new(python());
        command
            .arg(root().join("scripts/cluster.py"))
            .args(["up", "--hold", "--dir"])
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            // Its own process group: a test killed by a timeout can take the
            // whole control plane down with one `kill -- -PGID`.
            .process_group(0);
        if let Some(bins) = std::env::var_os("DNSFAILOVER_CLUSTER_BINS") {
            command.env("DNSFAILOVER_CLUSTER_BINS", bins);
        } else {
            // Fail here rather than build for 15 minutes inside a test.
            let out = Command::new(root().join("scripts/cluster-bins.sh"))
                .arg("--path")
                .output()
                .expect("run scripts/cluster-bins.sh");
            assert!(
                out.status.success(),
                "the control plane's binaries are not built: run `make cluster-bins` (or `make test`, which builds them)"
            );
            command.env(
                "DNSFAILOVER_CLUSTER_BINS",
                String::from_utf8_lossy(&out.stdout).trim(),
            );
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run scripts/cluster.py: {e}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let state: State = match read {
            Ok(n) if n > 0 => serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("scripts/cluster.py printed {line:?}: {e}")),
            _ => {
                let _ = child.wait();
                panic!(
                    "the local control plane did not start; scripts/cluster.py said:\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
        };
        let plane = Self {
            state,
            holder: Mutex::new(Holder {
                child,
                stdin,
                stdout,
            }),
            gateway_api: OnceLock::new(),
        };
        plane.install_crd();
        plane
    }

    /// `stop`, `kill` or `start` one component (`kube-apiserver`, `etcd`,
    /// `kube-controller-manager`, `moto`); returns once done.
    pub fn component(&self, verb: &str, component: &str) {
        let mut holder = self.holder.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(holder.stdin, "{verb} {component}").expect("write to scripts/cluster.py");
        holder.stdin.flush().expect("flush to scripts/cluster.py");
        let mut line = String::new();
        holder
            .stdout
            .read_line(&mut line)
            .expect("answer from scripts/cluster.py");
        let answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("scripts/cluster.py answered {line:?}: {e}"));
        assert_eq!(answer["ok"], true, "{verb} {component}: {answer}");
        let _ = holder.child.try_wait();
    }

    /// The CRD from the chart, as `helm install` would put it (applied here
    /// once so that tests without a release can use FailoverRecords).
    fn install_crd(&self) {
        self.kubectl_ok(&[
            "apply",
            "--server-side",
            "-f",
            &root()
                .join("charts/dnsfailover/crds/failoverrecords.dnsfailover.io.yaml")
                .display()
                .to_string(),
        ]);
        self.kubectl_ok(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/failoverrecords.dnsfailover.io",
        ]);
    }

    /// The Gateway API's published CRDs for GatewayClass and Gateway (the
    /// version pinned in `scripts/cluster-versions.sh`), installed once for
    /// the tests that need them. `scripts/gateway-api-crds.sh` fetches them
    /// through the Go module proxy into the cache on first use; when it
    /// cannot, the test fails with its reason.
    pub fn install_gateway_api(&self) {
        self.gateway_api.get_or_init(|| {
            let out = Command::new(root().join("scripts/gateway-api-crds.sh"))
                .output()
                .unwrap_or_else(|e| panic!("cannot run scripts/gateway-api-crds.sh: {e}"));
            assert!(
                out.status.success(),
                "the Gateway API CRDs could not be fetched (scripts/gateway-api-crds.sh):\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            let dir = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
            let file = |kind: &str| {
                dir.join(format!("gateway.networking.k8s.io_{kind}.yaml"))
                    .display()
                    .to_string()
            };
            self.kubectl_ok(&[
                "apply",
                "--server-side",
                "-f",
                &file("gatewayclasses"),
                "-f",
                &file("gateways"),
            ]);
            self.kubectl_ok(&[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/gatewayclasses.gateway.networking.k8s.io",
                "crd/gateways.gateway.networking.k8s.io",
            ]);
        });
    }

    pub fn kubectl_path(&self) -> PathBuf {
        self.state.bin_dir.join("kubectl")
    }

    /// `kubectl ARGS` as the cluster admin.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with(args, None)
    }

    /// `kubectl ARGS` as the admin, with `input` on stdin.
    pub fn kubectl_with(&self, args: &[&str], input: Option<&str>) -> Output {
        let mut child = Command::new(self.kubectl_path())
            .env("KUBECONFIG", &self.state.kubeconfig)
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"));
        if let Some(input) = input {
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(input.as_bytes())
                .expect("kubectl's stdin");
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"))
    }

    /// `kubectl ARGS`, which must succeed; its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A kube client with the admin certificate (for the tests' own reads
    /// and setup; the controller never gets it).
    pub async fn admin(&self) -> kube::Client {
        let kubeconfig = Kubeconfig::read_from(&self.state.kubeconfig).expect("admin kubeconfig");
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .expect("admin client config");
        kube::Client::try_from(config).expect("admin client")
    }

    /// A fresh namespace for one test, with these labels.
    pub fn namespace(&self, prefix: &str, labels: &[(&str, &str)]) -> String {
        let name = format!("{prefix}-{:06x}", fastrand::u32(..0xff_ffff));
        self.kubectl_ok(&["create", "namespace", &name]);
        for (key, value) in labels {
            self.kubectl_ok(&[
                "label",
                "namespace",
                &name,
                &format!("{key}={value}"),
                "--overwrite",
            ]);
        }
        name
    }
}

// ---------------------------------------------------------------------------
// Helm releases and the controller process
// ---------------------------------------------------------------------------

/// Runs `scripts/chart.py ARGS` (Helm's SDK).
pub fn chart_py(args: &[&str]) -> Output {
    Command::new(python())
        .arg(root().join("scripts/chart.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("scripts/chart.py {args:?}: {e}"))
}

/// The chart installed in one namespace with Helm's SDK.
pub struct Release {
    pub name: String,
    pub namespace: String,
    /// The release summary Helm returned (with `manifest`).
    pub summary: Value,
}

/// The values every test release needs: the emulator as Route 53, with
/// credentials from a Secret the way a cluster without IRSA would.
pub fn test_values(moto: &Moto, secret: &str) -> Value {
    json!({
        "aws": {
            "route53Endpoint": moto.endpoint,
            "region": "us-east-1",
            "credentialsSecret": {"name": secret},
        },
        // The emulator's zones name AWS's real name servers; tests send no
        // traffic off this machine, so the DNS answer watch is on only where
        // a test serves DNS itself (tests/cluster/dnswatch.rs).
        "dnsWatch": {"enabled": false},
    })
}

impl Release {
    /// `helm install NAME charts/dnsfailover -n NAMESPACE` with these values;
    /// also creates the AWS credentials Secret the values name (if any).
    pub fn install(plane: &ControlPlane, namespace: &str, name: &str, values: &Value) -> Self {
        if let Some(secret) = values["aws"]["credentialsSecret"]["name"].as_str() {
            plane.kubectl_ok(&[
                "-n",
                namespace,
                "create",
                "secret",
                "generic",
                secret,
                "--from-literal=AWS_ACCESS_KEY_ID=testing",
                "--from-literal=AWS_SECRET_ACCESS_KEY=testing",
            ]);
        }
        let summary = helm(plane, "install", namespace, name, values);
        Self {
            name: name.into(),
            namespace: namespace.into(),
            summary,
        }
    }

    pub fn upgrade(&mut self, plane: &ControlPlane, values: &Value) {
        self.summary = helm(plane, "upgrade", &self.namespace, &self.name, values);
    }

    pub fn uninstall(&self, plane: &ControlPlane) -> Value {
        let out = chart_py(&[
            "uninstall",
            &self.name,
            "--kubeconfig",
            &plane.state.kubeconfig.display().to_string(),
            "--namespace",
            &self.namespace,
        ]);
        assert!(
            out.status.success(),
            "helm uninstall {}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("helm uninstall prints JSON")
    }

    /// The chart's fullname for this release (objects' names).
    pub fn fullname(&self) -> String {
        if self.name.contains("dnsfailover") {
            self.name.clone()
        } else {
            format!("{}-dnsfailover", self.name)
        }
    }

    /// Starts the controller as the chart's Deployment would run it in pod
    /// `pod` (`scripts/cluster.py controller`: the container's args and env,
    /// with only a token of the chart's ServiceAccount); its HTTP server on a
    /// free loopback port.
    pub async fn controller(&self, plane: &ControlPlane, pod: &str) -> ControllerProcess {
        self.controller_with(plane, pod, &[]).await
    }

    /// [`Self::controller`] with `extra` appended to the container's args.
    pub async fn controller_with(
        &self,
        plane: &ControlPlane,
        pod: &str,
        extra: &[String],
    ) -> ControllerProcess {
        let mut args = vec![
            root().join("scripts/cluster.py").display().to_string(),
            "controller".into(),
            "--exec".into(),
            "--dir".into(),
            plane.state.dir.display().to_string(),
            "--namespace".into(),
            self.namespace.clone(),
            "--release".into(),
            self.name.clone(),
            "--pod".into(),
            pod.into(),
            "--binary".into(),
            // A wrapper (a heap profiler, say) may stand in for the binary.
            std::env::var("DNSFAILOVER_CONTROLLER_BINARY")
                .unwrap_or_else(|_| env!("CARGO_BIN_EXE_dnsfailover").into()),
            "--http-address".into(),
            free_addr().to_string(),
            "--".into(),
        ];
        args.extend(extra.iter().cloned());
        let mut controller = ControllerProcess::spawn(pod, args, &plane.state.dir);
        controller.wait_serving().await;
        controller
    }
}

fn helm(plane: &ControlPlane, verb: &str, namespace: &str, name: &str, values: &Value) -> Value {
    let chart = root().join("charts/dnsfailover");
    let out = chart_py(&[
        verb,
        &chart.display().to_string(),
        name,
        "--kubeconfig",
        &plane.state.kubeconfig.display().to_string(),
        "--namespace",
        namespace,
        "--set-json",
        &values.to_string(),
    ]);
    assert!(
        out.status.success(),
        "helm {verb} {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("helm prints the release as JSON")
}

pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// `dnsfailover run` as a separate process.
pub struct ControllerProcess {
    pub pod: String,
    child: Child,
    pub http: SocketAddr,
    pub log: PathBuf,
    args: Vec<String>,
}

impl ControllerProcess {
    fn spawn(pod: &str, args: Vec<String>, dir: &Path) -> Self {
        let http = args
            .iter()
            .position(|a| a == "--http-address")
            .and_then(|i| args.get(i + 1))
            .and_then(|a| a.parse().ok())
            .expect("an --http-address");
        let log = dir.join(format!("controller-{pod}-{:x}.log", fastrand::u32(..)));
        let out = std::fs::File::create(&log).expect("controller log");
        let err = out.try_clone().expect("controller log");
        let mut command = Command::new(python());
        command
            .args(&args)
            .env(
                "DNSFAILOVER_LOG",
                std::env::var("DNSFAILOVER_LOG")
                    .unwrap_or_else(|_| "info,dnsfailover=debug".into()),
            )
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: prctl is async-signal-safe. The kernel kills the process
        // (the controller, once the script has exec'd it: the setting
        // survives exec) when the test thread that started it ends, so a
        // failed or aborted test never leaves one running.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the controller: {e}"));
        Self {
            pod: pod.into(),
            child,
            http,
            log,
            args,
        }
    }

    /// The same controller started again (after [`Self::kill`]), as a
    /// restarted pod would be: a fresh token, the same name and port.
    pub async fn restart(&mut self) {
        let dir = self.log.parent().expect("log dir").to_path_buf();
        let fresh = Self::spawn(&self.pod, self.args.clone(), &dir);
        let old = std::mem::replace(self, fresh);
        drop(old);
        self.wait_serving().await;
    }

    /// Waits until `/healthz` answers; panics with the log if the process
    /// exits first (a bad argument, no access to the cluster, ...).
    pub async fn wait_serving(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if !self.running() {
                panic!(
                    "the controller {} exited at start; its log:\n{}",
                    self.pod,
                    self.log_text()
                );
            }
            if self
                .http_get("/healthz")
                .is_some_and(|(status, _)| status == 200)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the controller {} did not serve /healthz within 30 s; its log:\n{}",
            self.pod,
            self.log_text()
        );
    }

    /// SIGKILL, as a node failure or OOM kill would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and wait until it exits.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: sending a signal to our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        self.child.wait().expect("wait for the controller")
    }

    /// The controller's pid (the script exec'd into it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET `path` on the controller's HTTP server; (status, body).
    pub fn http_get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect_timeout(&self.http, Duration::from_secs(2)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.http
        )
        .ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
        Some((status, body))
    }

    /// The value of one Prometheus sample (`name{labels}` exactly as
    /// exported), 0 when absent.
    pub fn metric(&self, sample: &str) -> f64 {
        let Some((_, body)) = self.http_get("/metrics") else {
            return 0.0;
        };
        body.lines()
            .filter_map(|line| line.rsplit_once(' '))
            .find(|(name, _)| *name == sample)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0.0)
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- controller {} log ({}) ----\n{}",
                self.pod,
                self.log.display(),
                tail(&self.log_text(), 80)
            );
        }
    }
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Polls `check` every 250 ms until it returns `Some`, or panics after
/// `timeout` saying what was awaited and what `check` last saw.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().await {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
