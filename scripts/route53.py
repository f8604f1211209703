"""The demos' window into the Route 53 emulator (boto3, from `make venv`).

    .venv/bin/python scripts/route53.py create-zone example.com
    .venv/bin/python scripts/route53.py show example.com

The endpoint comes from DNSFAILOVER_ROUTE53_ENDPOINT, else AWS_ENDPOINT_URL_ROUTE_53,
else AWS_ENDPOINT_URL; credentials from the usual AWS variables.
"""

import ast
import os
import sys
import time

import boto3


def client():
    endpoint = next(
        (os.environ[k] for k in ("DNSFAILOVER_ROUTE53_ENDPOINT", "AWS_ENDPOINT_URL_ROUTE_53",
                                 "AWS_ENDPOINT_URL") if os.environ.get(k)),
        None,
    )
    if endpoint is None:
        sys.exit("route53.py: set DNSFAILOVER_ROUTE53_ENDPOINT or AWS_ENDPOINT_URL to the emulator")
    return boto3.client("route53", endpoint_url=endpoint, region_name="us-east-1")


def plain(value):
    # moto returns the zone's default SOA value as the text "{'Value': '...'}"; unwrap it.
    if value.startswith("{'Value': "):
        return ast.literal_eval(value)["Value"]
    return value


def create_zone(r53, zone):
    created = r53.create_hosted_zone(Name=zone, CallerReference=f"dnsfailover-demo-{time.time_ns()}")
    print(f"hosted zone {created['HostedZone']['Name']} -> {created['HostedZone']['Id']}")


def show(r53, zone):
    zone_id = next(z["Id"] for z in r53.list_hosted_zones()["HostedZones"]
                   if z["Name"].rstrip(".") == zone)
    print(f"Record sets in {zone}. ({zone_id}):")
    for page in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
        for rr in page["ResourceRecordSets"]:
            if rr["Type"] in ("SOA", "NS"):
                continue
            if "AliasTarget" in rr:
                target = rr["AliasTarget"]
                values = (f"ALIAS {target['DNSName']} (zone {target['HostedZoneId']}, "
                          f"evaluate target health {target['EvaluateTargetHealth']})")
            else:
                values = ", ".join(plain(v["Value"]) for v in rr.get("ResourceRecords", []))
            line = f"  {rr['Name']:<40} {rr['Type']:<5} {rr.get('Failover', ''):<9} "
            line += f"ttl {rr.get('TTL', '-'):<4} {values}"
            if "HealthCheckId" in rr:
                line += f"  (health check {rr['HealthCheckId']})"
            print(line)
    checks = [hc for page in r53.get_paginator("list_health_checks").paginate()
              for hc in page["HealthChecks"]]
    print(f"Health checks ({len(checks)}):")
    for hc in checks:
        cfg = hc["HealthCheckConfig"]
        target = cfg.get("IPAddress") or cfg.get("FullyQualifiedDomainName", "?")
        path = cfg.get("ResourcePath", "")
        flags = ", inverted" if cfg.get("Inverted") else ""
        print(f"  {hc['Id']}  {cfg['Type']} {target}:{cfg.get('Port', '-')}{path}  every "
              f"{cfg.get('RequestInterval', '-')} s, threshold {cfg.get('FailureThreshold', '-')}"
              f"{flags}")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("create-zone", "show"):
        sys.exit(__doc__)
    r53 = client()
    (create_zone if sys.argv[1] == "create-zone" else show)(r53, sys.argv[2])


if __name__ == "__main__":
    main()
