"""The local Kubernetes control plane dnsfailover is tested and demonstrated on.

etcd, kube-apiserver (secure port on 127.0.0.1, RBAC, service-account tokens,
an admin client certificate, an audit log of service-account requests) and
kube-controller-manager (namespace deletion, garbage collection, Deployment ->
ReplicaSet -> Pods, which stay Pending: there is no kubelet), built from their
Go modules by scripts/cluster-bins.sh, plus the Route 53 emulator (moto), all
on free loopback ports. Certificates are generated here; all state lives in one
directory (default: .cluster/ in the checkout).

    python scripts/cluster.py up     [--dir DIR] [--hold]
    python scripts/cluster.py down   [--dir DIR]
    python scripts/cluster.py status [--dir DIR]
    python scripts/cluster.py controller [--dir DIR] --namespace NS --release R --pod P
                                         [--binary B] [--http-address A]
                                         (--exec | --log FILE) [-- EXTRA_ARGS...]

up      starts what is not running (idempotent), waits until the apiserver's
        /readyz answers and the controller manager has done its first work, and
        writes DIR/kubeconfig (admin), DIR/env (to `source`) and DIR/cluster.json.
        With --hold it prints cluster.json as one line on stdout once ready, then
        stays in the foreground until its stdin closes (or SIGTERM/SIGINT) and
        tears everything down: the test harness holds that pipe, so the control
        plane dies with the test process however that ends. Meanwhile it takes
        lines on stdin, `stop COMPONENT`, `kill COMPONENT` (SIGKILL) and
        `start COMPONENT` (same command line, ports and data), and answers each
        with one JSON line: the fault tests stop and restart the apiserver so.
down    stops exactly the processes `up` started (pid and start time recorded)
        and removes DIR.
status  prints what runs; exits 1 when something is not running.
controller
        runs `dnsfailover run` as the chart's Deployment in namespace NS (release
        R) would run it in pod P: the container's args and env, its fieldRefs and
        secretKeyRefs resolved as the kubelet does, and a kubeconfig holding only
        a token of the chart's ServiceAccount (TokenRequest), never the admin
        certificate. --exec replaces this process with the controller (the test
        harness, which has set up how it dies with the test); --log starts it in
        the background, records it so that `down` stops it too, and prints its pid.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Components in start order; `down` stops them in reverse.
COMPONENTS = ("moto", "etcd", "kube-apiserver", "kube-controller-manager")
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"


class ClusterError(Exception):
    """A failure to start or stop the control plane, with what to do about it."""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------


def write_pki(pki: Path) -> None:
    """A CA, the apiserver's serving certificate, client certificates for the
    admin and the controller manager, and the service-account signing key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    import ipaddress

    pki.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    until = now + datetime.timedelta(days=30)

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def save_key(name, k):
        path = pki / name
        path.write_bytes(
            k.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)

    def save_cert(name, cert):
        (pki / name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def name(cn, org=None):
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(attrs)

    ca_key = key()
    ca_name = name("dnsfailover-local-ca")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    save_key("ca.key", ca_key)
    save_cert("ca.crt", ca)

    def leaf(file, subject, usage, sans=None):
        k = key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(k.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        save_key(f"{file}.key", k)
        save_cert(f"{file}.crt", builder.sign(ca_key, hashes.SHA256()))

    dns = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           "kubernetes.default.svc.cluster.local"]
    sans = [x509.DNSName(d) for d in dns] + [
        x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", SERVICE_IP)
    ]
    leaf("apiserver", name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, sans)
    # system:masters bypasses RBAC: only for the person at the keyboard and
    # the harness's own setup, never for the controller under test.
    leaf("admin", name("admin", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH)
    # The bootstrap RBAC policy's own identity for the controller manager.
    leaf("controller-manager", name("system:kube-controller-manager"),
         ExtendedKeyUsageOID.CLIENT_AUTH)
    sa_key = key()
    save_key("sa.key", sa_key)
    (pki / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def kubeconfig(server: str, pki: Path, user: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": {
                "server": server, "certificate-authority": str(pki / "ca.crt")}}],
            "users": [{"name": user, "user": {
                "client-certificate": str(pki / f"{user}.crt"),
                "client-key": str(pki / f"{user}.key")}}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
            "current-context": "local",
        },
        indent=2,
    )


AUDIT_POLICY = """\
# Metadata of every request made with a service-account token, except the
# controller manager's own: the benchmarks count the controller's requests by
# verb from this log.
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: None
    userGroups: ["system:serviceaccounts:kube-system"]
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
"""


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: with the pid, it
    identifies the process even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after it are plain.
    return stat.rsplit(")", 1)[1].split()[19]


def alive(proc: dict) -> bool:
    return start_time(proc["pid"]) == proc["start"]


def moto_server() -> Path:
    explicit = os.environ.get("DNSFAILOVER_MOTO_SERVER")
    path = Path(explicit) if explicit else Path(sys.executable).parent / "moto_server"
    if not path.exists():
        raise ClusterError(
            f"the Route 53 emulator {path} is missing: run `make venv` (or set "
            "DNSFAILOVER_MOTO_SERVER to a moto_server binary)"
        )
    return path


def bin_dir() -> Path:
    explicit = os.environ.get("DNSFAILOVER_CLUSTER_BINS")
    if explicit:
        path = Path(explicit)
    else:
        out = subprocess.run(
            [str(ROOT / "scripts/cluster-bins.sh")], stdout=subprocess.PIPE, text=True
        )
        if out.returncode != 0:
            raise ClusterError("building the control plane's binaries failed (see above)")
        path = Path(out.stdout.strip().splitlines()[-1])
    for b in ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl"):
        if not (path / b).exists():
            raise ClusterError(f"{path / b} is missing: run `make cluster-bins`")
    return path


class Cluster:
    def __init__(self, directory: Path):
        self.dir = directory
        self.state_file = directory / "cluster.json"
        self.pki = directory / "pki"
        self.logs = directory / "logs"

    def load(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def save(self, state: dict) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

    # -- readiness ---------------------------------------------------------

    def admin_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return ctx

    def get(self, state: dict, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(
                state["apiserver"] + path, context=self.admin_context(), timeout=5
            ) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except (urllib.error.URLError, OSError):
            return 0, b""

    def ready(self, state: dict) -> bool:
        procs = state["processes"]
        if not all(c in procs and alive(procs[c]) for c in COMPONENTS):
            return False
        code, _ = self.get(state, "/readyz")
        return code == 200

    def wait(self, what: str, check, timeout: float, state: dict) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            for component, proc in state["processes"].items():
                if not alive(proc):
                    log = self.logs / f"{component}.log"
                    tail = "".join(log.read_text(errors="replace").splitlines(True)[-30:])
                    raise ClusterError(f"{component} exited while waiting for {what}; "
                                       f"the end of {log}:\n{tail}")
            time.sleep(0.2)
        raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}; logs in {self.logs}")

    # -- up ----------------------------------------------------------------

    def spawn(self, state: dict, component: str, argv: list[str], detach: bool) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{component}.log", "ab")
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Detached (`make cluster-up`): survives the shell that started it.
            # Held (tests): stays in the holder's process group, so killing
            # that group kills the control plane too.
            start_new_session=detach,
            cwd=self.dir,
        )
        log.close()
        state["processes"][component] = {
            "pid": proc.pid, "start": start_time(proc.pid), "argv": argv}
        self.save(state)

    def up(self, detach: bool) -> dict:
        state = self.load()
        if state and self.ready(state):
            return state
        if state:
            say(f"==> {self.dir}: a previous control plane is not fully running; restarting it")
            self.down(quiet=True)
        moto = moto_server()
        bins = bin_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / ".gitignore").write_text("*\n")
        write_pki(self.pki)
        ports = {k: free_port() for k in ("moto", "etcd", "etcd_peer", "apiserver")}
        server = f"https://127.0.0.1:{ports['apiserver']}"
        state = {
            "dir": str(self.dir),
            "bin_dir": str(bins),
            "apiserver": server,
            "kubeconfig": str(self.dir / "kubeconfig"),
            "ca": str(self.pki / "ca.crt"),
            "moto": f"http://127.0.0.1:{ports['moto']}",
            "audit_log": str(self.logs / "audit.log"),
            "ports": ports,
            "processes": {},
        }
        (self.dir / "kubeconfig").write_text(kubeconfig(server, self.pki, "admin"))
        (self.dir / "controller-manager.kubeconfig").write_text(
            kubeconfig(server, self.pki, "controller-manager"))
        (self.dir / "audit-policy.yaml").write_text(AUDIT_POLICY)
        self.save(state)
        started = time.monotonic()
        try:
            self.spawn(state, "moto", [str(moto), "-H", "127.0.0.1", "-p", str(ports["moto"])],
                       detach)
            etcd_url = f"http://127.0.0.1:{ports['etcd']}"
            peer_url = f"http://127.0.0.1:{ports['etcd_peer']}"
            self.spawn(state, "etcd", [
                str(bins / "etcd"),
                "--name=local",
                f"--data-dir={self.dir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=local={peer_url}",
                # A throwaway cluster: durability is not worth the fsyncs.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ], detach)
            pki = self.pki
            self.spawn(state, "kube-apiserver", [
                str(bins / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={ports['apiserver']}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer={SA_ISSUER}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=false",
                f"--audit-policy-file={self.dir / 'audit-policy.yaml'}",
                f"--audit-log-path={self.logs / 'audit.log'}",
                "--audit-log-format=json",
                "--audit-log-mode=blocking",
                f"--cert-dir={pki}",
                "--v=1",
            ], detach)
            self.spawn(state, "kube-controller-manager", [
                str(bins / "kube-controller-manager"),
                f"--kubeconfig={self.dir / 'controller-manager.kubeconfig'}",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--leader-elect=false",
                "--secure-port=0",
                # Nodes, clouds and volumes do not exist here.
                "--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,"
                "-service-lb-controller,-node-route-controller,-persistentvolume-binder,"
                "-persistentvolume-attach-detach-controller",
                "--v=1",
            ], detach)

            self.wait("the Route 53 emulator", lambda: http_ok(state["moto"] + "/moto-api/"),
                      60, state)
            self.wait("kube-apiserver /readyz", lambda: self.get(state, "/readyz")[0] == 200,
                      120, state)
            # The controller manager's service-account controller creates
            # `default` in every namespace: once it has, the manager works.
            self.wait("kube-controller-manager",
                      lambda: self.get(state, "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
                      120, state)
        except BaseException:
            self.stop(state)
            raise
        state["ready_seconds"] = round(time.monotonic() - started, 1)
        self.save(state)
        self.write_env(state)
        return state

    def write_env(self, state: dict) -> None:
        lines = [
            "# Source this file to use the local cluster: . .cluster/env",
            f"export KUBECONFIG={state['kubeconfig']}",
            f"export PATH={state['bin_dir']}:$PATH",
            f"export AWS_ENDPOINT_URL={state['moto']}",
            "export AWS_ACCESS_KEY_ID=testing",
            "export AWS_SECRET_ACCESS_KEY=testing",
            "export AWS_REGION=us-east-1",
            "export AWS_EC2_METADATA_DISABLED=true",
        ]
        (self.dir / "env").write_text("\n".join(lines) + "\n")

    # -- down --------------------------------------------------------------

    def stop_one(self, state: dict, component: str, sig: int) -> None:
        terminate(state["processes"][component], sig)

    def restart_one(self, state: dict, component: str) -> None:
        if alive(state["processes"][component]):
            raise ClusterError(f"{component} is running")
        self.spawn(state, component, state["processes"][component]["argv"], detach=False)
        if component == "kube-apiserver":
            self.wait("kube-apiserver /readyz", lambda: self.get(state, "/readyz")[0] == 200,
                      120, state)

    def stop(self, state: dict) -> list[str]:
        procs = state.get("processes", {})
        # Controllers started with `controller --log` first, then the plane.
        order = [c for c in procs if c not in COMPONENTS]
        order += [c for c in reversed(COMPONENTS) if c in procs]
        stopped = [c for c in order if alive(procs[c])]
        for component in order:
            terminate(procs[component], signal.SIGTERM)
        return stopped

    def down(self, quiet: bool = False) -> None:
        # A second Ctrl-C (or the terminal's, reaching this process too) must
        # not leave half the control plane running: finish the teardown.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        state = self.load()
        if state:
            stopped = self.stop(state)
            if not quiet:
                say(f"==> stopped {', '.join(stopped) or 'nothing (nothing was running)'}")
        if self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)
            if not quiet:
                say(f"==> removed {self.dir}")


def kubectl(state: dict, *args: str, input: str | None = None) -> str:
    out = subprocess.run(
        [str(Path(state["bin_dir"]) / "kubectl"), "--kubeconfig", state["kubeconfig"], *args],
        input=input, capture_output=True, text=True,
    )
    if out.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def controller_process(state: dict, namespace: str, release: str, pod: str,
                       http_address: str | None, extra: list[str]) -> tuple[list[str], dict]:
    """The chart Deployment's container as (args, env), with a ServiceAccount
    kubeconfig in KUBECONFIG and nothing else from this environment."""
    fullname = release if "dnsfailover" in release else f"{release}-dnsfailover"
    deployment = json.loads(kubectl(state, "-n", namespace, "get", "deployment", fullname,
                                    "-o", "json"))
    pod_spec = deployment["spec"]["template"]["spec"]
    container = pod_spec["containers"][0]
    env = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        source = var.get("valueFrom", {})
        if "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            fields = {"metadata.name": pod, "metadata.namespace": namespace}
            if path not in fields:
                raise ClusterError(f"env {var['name']}: fieldRef {path} is not resolved here")
            env[var["name"]] = fields[path]
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            secret = json.loads(kubectl(state, "-n", namespace, "get", "secret", ref["name"],
                                        "-o", "json"))
            value = secret.get("data", {}).get(ref["key"])
            if value is None:
                if ref.get("optional"):
                    continue
                raise ClusterError(f"env {var['name']}: secret {ref['name']} has no {ref['key']}")
            import base64
            env[var["name"]] = base64.b64decode(value).decode()
        else:
            raise ClusterError(f"env {var['name']}: a source this script does not resolve")
    args = list(container.get("args", []))
    if http_address:
        args = [f"--http-address={http_address}" if a.startswith("--http-address=") else a
                for a in args]
    args += extra

    account = pod_spec.get("serviceAccountName", "default")
    token = kubectl(state, "-n", namespace, "create", "token", account, "--duration=4h").strip()
    path = Path(state["dir"]) / f"sa-{namespace}-{pod}-{os.getpid()}.kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {
            "server": state["apiserver"], "certificate-authority": state["ca"]}}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {
            "cluster": "local", "user": account, "namespace": namespace}}],
        "current-context": "sa",
    }))
    path.chmod(0o600)
    env["KUBECONFIG"] = str(path)
    # No instance metadata service here: do not wait for one.
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    for passthrough in ("DNSFAILOVER_LOG", "RUST_BACKTRACE"):
        if passthrough in os.environ:
            env[passthrough] = os.environ[passthrough]
    return args, env


def terminate(proc: dict, sig: int, grace: float = 10) -> None:
    """Send `sig`, wait up to `grace` seconds, then SIGKILL; returns once the
    process is gone (reaped, when it is our child)."""
    if alive(proc):
        os.kill(proc["pid"], sig)
    for deadline in (time.monotonic() + grace, time.monotonic() + grace + 10):
        while alive(proc) and time.monotonic() < deadline:
            reap(proc["pid"])
            time.sleep(0.05)
        if not alive(proc):
            return
        os.kill(proc["pid"], signal.SIGKILL)
    raise ClusterError(f"pid {proc['pid']} did not exit after SIGKILL")


def reap(pid: int) -> None:
    """Collect our own exited child, so that it stops looking alive."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def describe(state: dict) -> str:
    procs = state["processes"]
    rows = [f"  {c:<24} pid {procs[c]['pid']}" for c in COMPONENTS if c in procs]
    return "\n".join([
        f"==> Local control plane up in {state.get('ready_seconds', '?')}s ({state['dir']})",
        *rows,
        f"  apiserver                {state['apiserver']}",
        f"  Route 53 emulator        {state['moto']}",
        f"  logs                     {state['dir']}/logs/",
        f"Use it:  . {state['dir']}/env && kubectl get namespaces",
        "Stop it: make cluster-down",
    ])


def hold(cluster: Cluster, state: dict) -> None:
    """Serve until stdin closes or a signal arrives, then tear down."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    print(json.dumps(state), flush=True)
    try:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            try:
                if len(words) != 2 or words[1] not in state["processes"]:
                    raise ClusterError(f"unknown command {line.strip()!r}")
                verb, component = words
                if verb == "stop":
                    cluster.stop_one(state, component, signal.SIGTERM)
                elif verb == "kill":
                    cluster.stop_one(state, component, signal.SIGKILL)
                elif verb == "start":
                    cluster.restart_one(state, component)
                else:
                    raise ClusterError(f"unknown command {line.strip()!r}")
                answer = {"ok": True, "pid": state["processes"][component]["pid"]}
            except ClusterError as e:
                answer = {"ok": False, "error": str(e)}
            print(json.dumps(answer), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        cluster.down(quiet=True)


def controller(cluster: Cluster, args) -> int:
    state = cluster.load()
    if not state:
        raise ClusterError(f"no control plane in {cluster.dir}: run `make cluster-up`")
    if not args.namespace or not args.release or args.exec == bool(args.log):
        raise ClusterError("controller needs --namespace, --release and one of --exec or --log")
    argv, env = controller_process(state, args.namespace, args.release, args.pod,
                                   args.http_address, args.extra)
    binary = Path(args.binary)
    if not binary.exists():
        raise ClusterError(f"{binary} does not exist: run `cargo build`")
    if args.exec:
        os.execve(binary, [str(binary), *argv], env)
    log = open(args.log, "ab")
    proc = subprocess.Popen([str(binary), *argv], env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    state["processes"][f"controller {args.pod}"] = {
        "pid": proc.pid, "start": start_time(proc.pid), "argv": [str(binary), *argv]}
    cluster.save(state)
    print(proc.pid)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status", "controller"])
    parser.add_argument("--dir", type=Path, default=ROOT / ".cluster",
                        help="state directory (default: .cluster/ in the checkout)")
    parser.add_argument("--hold", action="store_true",
                        help="stay in the foreground until stdin closes, then tear down")
    parser.add_argument("--namespace", help="controller: the release's namespace")
    parser.add_argument("--release", help="controller: the Helm release")
    parser.add_argument("--pod", default="dnsfailover-0", help="controller: the pod name")
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    parser.add_argument("--binary", default=str(ROOT / target_dir / "debug/dnsfailover"),
                        help="controller: the dnsfailover binary (under $CARGO_TARGET_DIR)")
    parser.add_argument("--http-address", help="controller: instead of the chart's")
    parser.add_argument("--exec", action="store_true", help="controller: become it")
    parser.add_argument("--log", type=Path, help="controller: run it in the background")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    args.extra = extra
    cluster = Cluster(args.dir.resolve())
    try:
        if args.command == "up":
            running = cluster.load()
            if running and cluster.ready(running) and not args.hold:
                say(f"==> Already running in {cluster.dir}")
            elif not args.hold:
                say(f"==> Starting the local control plane in {cluster.dir}")
            state = cluster.up(detach=not args.hold)
            if args.hold:
                hold(cluster, state)
            else:
                say(describe(state))
        elif args.command == "down":
            cluster.down()
        elif args.command == "controller":
            return controller(cluster, args)
        else:
            state = cluster.load()
            if not state or not cluster.ready(state):
                say(f"not running ({cluster.dir})")
                return 1
            say(describe(state))
    except ClusterError as e:
        say(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        say("interrupted; stopping what was started")
        cluster.down(quiet=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
