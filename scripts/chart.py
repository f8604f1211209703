"""Lint, render, schema-check and install a Helm chart with Helm's own Go SDK.

helm-python-sdk (`make venv`) binds Helm 4's SDK, so no helm binary is
needed. Every command prints JSON on stdout; tests/chart.rs and the
real-cluster tests (tests/cluster.rs) drive it, and scripts/demo.sh installs
the chart with it.

    .venv/bin/python scripts/chart.py lint CHART [VALUES_FILE]
    .venv/bin/python scripts/chart.py render CHART [VALUES_FILE] [--namespace NS] [--set-json JSON]...
    .venv/bin/python scripts/chart.py validate CHART VALUES_JSON

lint     prints the report {"messages": [{"severity", "path", "error"}], "errors": [...]}
         (severity 3 = error, 2 = warning), linting strictly for Kubernetes v1.33.0.
render   prints {"manifests": {template: text}}; on a render or values error
         it prints the message on stderr and exits 1.
validate exits 0 if the values pass values.schema.json, else prints the
         message on stderr and exits 1.

    .venv/bin/python scripts/chart.py install   CHART RELEASE --kubeconfig K --namespace NS [--set-json JSON]...
    .venv/bin/python scripts/chart.py upgrade   CHART RELEASE --kubeconfig K --namespace NS [--set-json JSON]...
    .venv/bin/python scripts/chart.py uninstall RELEASE --kubeconfig K --namespace NS

install/upgrade/uninstall act on a real cluster as `helm install|upgrade|
         uninstall` do (no waiting for pods) and print the release summary
         {"name", "namespace", "version", "status", "manifest", ...}; a
         failure prints Helm's message on stderr and exits 1.

--set-json takes a JSON object merged over the values (like helm's --set-json,
but a whole object: '{"leaderElection": {"enabled": false}}'); repeatable.
"""

import argparse
import json
import sys
from pathlib import Path

import helm_python as helm

KUBE_VERSION = "v1.33.0"  # the chart's kubeVersion floor


def load_values(path):
    """A values file parsed as Helm parses `-f`; no file means {}."""
    return helm.values_from_yaml(Path(path).read_text()) if path else {}


def deep_merge(base, override):
    """`override` over `base`, recursing into objects (as Helm merges values)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def release_action(args):
    """helm install / upgrade / uninstall against the cluster of a kubeconfig."""
    with helm.Config(kubeconfig_path=args.kubeconfig, namespace=args.namespace) as cfg:
        if args.command == "uninstall":
            return cfg.uninstall(args.release)
        values = {}
        for override in args.set_json:
            values = deep_merge(values, override)
        action = cfg.install if args.command == "install" else cfg.upgrade
        # No `wait`: the local control plane has no kubelet, so pods stay Pending.
        return action(args.chart, args.release, values, namespace=args.namespace)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    lint = commands.add_parser("lint", help="helm lint --strict")
    lint.add_argument("chart")
    lint.add_argument("values", nargs="?")
    render = commands.add_parser("render", help="helm template")
    render.add_argument("chart")
    render.add_argument("values", nargs="?")
    render.add_argument("--namespace", default="default")
    render.add_argument("--set-json", action="append", default=[], type=json.loads)
    validate = commands.add_parser("validate", help="check values against values.schema.json")
    validate.add_argument("chart")
    validate.add_argument("values_json", type=json.loads)
    for verb in ("install", "upgrade"):
        release = commands.add_parser(verb, help=f"helm {verb} on a cluster")
        release.add_argument("chart")
        release.add_argument("release")
        release.add_argument("--kubeconfig", required=True)
        release.add_argument("--namespace", required=True)
        release.add_argument("--set-json", action="append", default=[], type=json.loads)
    uninstall = commands.add_parser("uninstall", help="helm uninstall on a cluster")
    uninstall.add_argument("release")
    uninstall.add_argument("--kubeconfig", required=True)
    uninstall.add_argument("--namespace", required=True)
    args = parser.parse_args()

    try:
        if args.command == "lint":
            report = helm.lint(
                args.chart,
                load_values(args.values),
                strict=True,
                namespace="dnsfailover",
                kube_version=KUBE_VERSION,
            )
            print(json.dumps(report, indent=2))
        elif args.command == "render":
            values = load_values(args.values)
            for override in args.set_json:
                values = deep_merge(values, override)
            with helm.Chart.load(args.chart) as chart:
                manifests = chart.render(
                    values, name="dnsfailover", namespace=args.namespace, is_install=True
                )
            print(json.dumps({"manifests": manifests}, indent=2))
        elif args.command in ("install", "upgrade", "uninstall"):
            print(json.dumps(release_action(args), indent=2))
        else:
            with helm.Chart.load(args.chart) as chart:
                # As an install does: the defaults coalesced with the given values.
                chart.validate_schema(chart.merge_values(args.values_json))
            print(json.dumps({"valid": True}))
    except helm.HelmError as e:
        # Render failures (a template's `fail`, schema errors) and invalid values.
        print(e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
