//! Targets from the cluster: a `serviceRef`, `ingressRef` or `gatewayRef`
//! becomes the addresses or alias its load balancer (or Gateway) stands for.
//!
//! An AWS load balancer host name becomes an alias record with the load
//! balancer's canonical hosted zone id; an IP becomes an address; a host name
//! that is not an AWS load balancer can only be a CNAME target.

use k8s_openapi::api::core::v1::{LoadBalancerIngress, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressLoadBalancerIngress};

use kube::ResourceExt;
use kube::api::Api;

mod gateway;

pub use gateway::{Gateway, GatewayAddress, GatewayStatus, gateway_endpoint};

use super::context::Context;
use crate::api::{
    AliasTarget, FailoverRecord, FailoverRecordSpec, InvalidSpec, RecordType, Target,
};
use crate::engine::ReconcileError;
use crate::route53::Route53;

/// Canonical hosted zone ids of AWS load balancers, by the end of their DNS
/// name (<https://docs.aws.amazon.com/general/latest/gr/elb.html>):
/// Application and Classic Load Balancers end in `<region>.elb.amazonaws.com`,
/// Network Load Balancers in `elb.<region>.amazonaws.com`.
const LOAD_BALANCER_ZONES: &[(&str, &str)] = &[
    ("us-east-1.elb.amazonaws.com", "Z35SXDOTRQ7X7K"),
    ("us-east-2.elb.amazonaws.com", "Z3AADJGX6KTTL2"),
    ("us-west-1.elb.amazonaws.com", "Z368ELLRRE2KJ0"),
    ("us-west-2.elb.amazonaws.com", "Z1H1FL5HABSF5"),
    ("ca-central-1.elb.amazonaws.com", "ZQSVJUPU6J1EY"),
    ("ap-east-1.elb.amazonaws.com", "Z3DQVH9N71FHZ0"),
    ("ap-south-1.elb.amazonaws.com", "ZP97RAFLXTNZK"),
    ("ap-south-2.elb.amazonaws.com", "Z0173938T07WNTVAEPZN"),
    ("ap-northeast-1.elb.amazonaws.com", "Z14GRHDCWA56QT"),
    ("ap-northeast-2.elb.amazonaws.com", "ZWKZPGTI48KDX"),
    ("ap-northeast-3.elb.amazonaws.com", "Z5LXEXXYW11ES"),
    ("ap-southeast-1.elb.amazonaws.com", "Z1LMS91P8CMLE5"),
    ("ap-southeast-2.elb.amazonaws.com", "Z1GM3OXH4ZPM65"),
    ("ap-southeast-3.elb.amazonaws.com", "Z08888821HLRG5A9ZRTER"),
    ("ap-southeast-4.elb.amazonaws.com", "Z09517862IB2WZLPXG76F"),
    ("eu-central-1.elb.amazonaws.com", "Z215JYRZR1TBD5"),
    ("eu-central-2.elb.amazonaws.com", "Z06391101F2ZOEP8P5EB3"),
    ("eu-west-1.elb.amazonaws.com", "Z32O12XQLNTSW2"),
    ("eu-west-2.elb.amazonaws.com", "ZHURV8PSTC4K8"),
    ("eu-west-3.elb.amazonaws.com", "Z3Q77PNBQS71R4"),
    ("eu-north-1.elb.amazonaws.com", "Z23TAZ6LKFMNIO"),
    ("eu-south-1.elb.amazonaws.com", "Z3ULH7SSC9OV64"),
    ("eu-south-2.elb.amazonaws.com", "Z0956581394HF5D5LXGAP"),
    ("me-central-1.elb.amazonaws.com", "Z08230872XQRWHG2XF6I"),
    ("me-south-1.elb.amazonaws.com", "ZS929ML54UICD"),
    ("af-south-1.elb.amazonaws.com", "Z268VQBMOI5EKX"),
    ("sa-east-1.elb.amazonaws.com", "Z2P70J7HTTTPLU"),
    ("us-gov-west-1.elb.amazonaws.com", "Z33AYJ8TM3BH4J"),
    ("us-gov-east-1.elb.amazonaws.com", "Z166TLBEWOO7G0"),
    ("cn-north-1.elb.amazonaws.com.cn", "Z1GDH35T77C1KE"),
    ("cn-northwest-1.elb.amazonaws.com.cn", "ZM7IZAIOVVDZF"),
    ("elb.us-east-1.amazonaws.com", "Z26RNL4JYFTOTI"),
    ("elb.us-east-2.amazonaws.com", "ZLMOA37VPKANP"),
    ("elb.us-west-1.amazonaws.com", "Z24FKFUX50B4VW"),
    ("elb.us-west-2.amazonaws.com", "Z18D5FSROUN65G"),
    ("elb.ca-central-1.amazonaws.com", "Z2EPGBW3API2WT"),
    ("elb.ap-east-1.amazonaws.com", "Z12Y7K3UBGUAD1"),
    ("elb.ap-south-1.amazonaws.com", "ZVDDRBQ08TROA"),
    ("elb.ap-south-2.amazonaws.com", "Z0711778386UTO08407HT"),
    ("elb.ap-northeast-1.amazonaws.com", "Z31USIVHYNEOWT"),
    ("elb.ap-northeast-2.amazonaws.com", "ZIBE1TIR4HY56"),
    ("elb.ap-northeast-3.amazonaws.com", "Z1GWIQ4HH19I5X"),
    ("elb.ap-southeast-1.amazonaws.com", "ZKVM4W9LS7TM"),
    ("elb.ap-southeast-2.amazonaws.com", "ZCT6FZBF4DROD"),
    ("elb.ap-southeast-3.amazonaws.com", "Z01971771FYVNCOVWJU1G"),
    ("elb.ap-southeast-4.amazonaws.com", "Z01156963G8MIIL7X90IV"),
    ("elb.eu-central-1.amazonaws.com", "Z3F0SRJ5LGBH90"),
    ("elb.eu-central-2.amazonaws.com", "Z02239872DOALSIDCX66S"),
    ("elb.eu-west-1.amazonaws.com", "Z2IFOLAFXWLO4F"),
    ("elb.eu-west-2.amazonaws.com", "ZD4D7Y8KGAS4G"),
    ("elb.eu-west-3.amazonaws.com", "Z1CMS0P5QUZ6D5"),
    ("elb.eu-north-1.amazonaws.com", "Z1UDT6IFJ4EJM"),
    ("elb.eu-south-1.amazonaws.com", "Z23146JA1KNAFP"),
    ("elb.eu-south-2.amazonaws.com", "Z1011216NVTVYADP1SSV"),
    ("elb.me-central-1.amazonaws.com", "Z00282643NTTLPANJJG2P"),
    ("elb.me-south-1.amazonaws.com", "Z3QSRYVP46NYYV"),
    ("elb.af-south-1.amazonaws.com", "Z203XCE67M25HM"),
    ("elb.sa-east-1.amazonaws.com", "ZTK26PT1VY4CU"),
    ("elb.us-gov-west-1.amazonaws.com", "ZMG1MZ2THAWF1"),
    ("elb.us-gov-east-1.amazonaws.com", "Z1ZSMQQ6Q24QQ8"),
    ("elb.cn-north-1.amazonaws.com.cn", "Z3QFB96KMJ7ED6"),
    ("elb.cn-northwest-1.amazonaws.com.cn", "ZQEIKTCZ8352D"),
];

/// The canonical hosted zone id of an AWS load balancer's DNS name.
pub fn load_balancer_zone(host: &str) -> Option<&'static str> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    LOAD_BALANCER_ZONES
        .iter()
        .find(|(suffix, _)| host.ends_with(&format!(".{suffix}")))
        .map(|(_, zone)| *zone)
}

/// What a Service or Ingress load balancer currently points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Host(String),
    Ips(Vec<String>),
}

/// Why a reference cannot be used (yet).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The load balancer has no address yet; it usually gets one soon.
    #[error("{0}")]
    Pending(String),
    /// The reference can never work as written.
    #[error("{0}")]
    Invalid(String),
}

fn from_ingress_points<'a>(
    points: impl Iterator<Item = (Option<&'a String>, Option<&'a String>)>,
) -> Option<Endpoint> {
    let mut ips = Vec::new();
    for (hostname, ip) in points {
        if let Some(host) = hostname.filter(|h| !h.is_empty()) {
            return Some(Endpoint::Host(host.clone()));
        }
        if let Some(ip) = ip.filter(|i| !i.is_empty()) {
            ips.push(ip.clone());
        }
    }
    (!ips.is_empty()).then_some(Endpoint::Ips(ips))
}

/// The endpoint of a Service of type LoadBalancer.
pub fn service_endpoint(service: &Service) -> Result<Endpoint, TargetError> {
    let name = service.metadata.name.as_deref().unwrap_or_default();
    let kind = service
        .spec
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("ClusterIP");
    if kind != "LoadBalancer" {
        return Err(TargetError::Invalid(format!(
            "Service {name} is of type {kind}; serviceRef needs a Service of type LoadBalancer"
        )));
    }
    let points: &[LoadBalancerIngress] = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or_default();
    endpoint_of(
        "Service",
        name,
        points.iter().map(|p| (p.hostname.as_ref(), p.ip.as_ref())),
    )
}

/// The endpoint of an Ingress.
pub fn ingress_endpoint(ingress: &Ingress) -> Result<Endpoint, TargetError> {
    let name = ingress.metadata.name.as_deref().unwrap_or_default();
    let points: &[IngressLoadBalancerIngress] = ingress
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or_default();
    endpoint_of(
        "Ingress",
        name,
        points.iter().map(|p| (p.hostname.as_ref(), p.ip.as_ref())),
    )
}

/// The first load balancer host name, else all IPs, else "not yet".
fn endpoint_of<'a>(
    kind: &str,
    name: &str,
    points: impl Iterator<Item = (Option<&'a String>, Option<&'a String>)>,
) -> Result<Endpoint, TargetError> {
    from_ingress_points(points).ok_or_else(|| {
        TargetError::Pending(format!(
            "waiting for {kind} {name} to get a load balancer address"
        ))
    })
}

/// The target with its reference replaced by what the endpoint stands for.
pub fn resolve(
    target: &Target,
    record_type: RecordType,
    endpoint: Endpoint,
    what: &str,
) -> Result<Target, TargetError> {
    let mut resolved = Target {
        service_ref: None,
        ingress_ref: None,
        gateway_ref: None,
        ..target.clone()
    };
    match endpoint {
        Endpoint::Host(host) => match (record_type, load_balancer_zone(&host)) {
            (RecordType::CNAME, _) => resolved.addresses = Some(vec![host.clone()]),
            (_, Some(zone)) => {
                resolved.alias = Some(AliasTarget {
                    dns_name: host.clone(),
                    hosted_zone_id: zone.to_string(),
                    evaluate_target_health: true,
                })
            }
            (_, None) => {
                return Err(TargetError::Invalid(format!(
                    "{what} has the host name {host}, which is not an AWS load balancer: an {record_type:?} record cannot alias it; use type CNAME"
                )));
            }
        },
        Endpoint::Ips(ips) => {
            let wanted: Vec<String> = ips
                .iter()
                .filter(|ip| {
                    matches!(
                        (record_type, ip.parse::<std::net::IpAddr>()),
                        (RecordType::A, Ok(std::net::IpAddr::V4(_)))
                            | (RecordType::AAAA, Ok(std::net::IpAddr::V6(_)))
                    )
                })
                .cloned()
                .collect();
            if wanted.is_empty() {
                // Say what there is, so that the fix (another type, or
                // another address on the load balancer) is plain.
                let has = ips.join(", ");
                return Err(TargetError::Invalid(match record_type {
                    RecordType::CNAME => format!(
                        "{what} has only IP addresses ({has}): a CNAME record needs a host name; use type A or AAAA"
                    ),
                    RecordType::A => format!(
                        "{what} has no IPv4 address for a record of type A (it has {has}); use type AAAA"
                    ),
                    RecordType::AAAA => format!(
                        "{what} has no IPv6 address for a record of type AAAA (it has {has}); use type A"
                    ),
                }));
            }
            resolved.addresses = Some(wanted);
        }
    }
    // A health check without an endpoint checks the load balancer's name.
    if let (Some(check), Some(alias)) = (resolved.health_check.as_mut(), resolved.alias.as_ref())
        && check.ip_address.is_none()
        && check.fqdn.is_none()
    {
        check.fqdn = Some(alias.dns_name.clone());
    }
    Ok(resolved)
}

/// Replace `serviceRef` / `ingressRef` / `gatewayRef` by what their load
/// balancers or Gateways stand for.
pub(super) async fn spec_with_targets<R: Route53>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
) -> Result<FailoverRecordSpec, ReconcileError> {
    let mut spec = obj.spec.clone();
    let namespace = obj.namespace().unwrap_or_default();
    for (side, target) in spec.targets_mut() {
        let (field, what, endpoint) = match (
            &target.service_ref,
            &target.ingress_ref,
            &target.gateway_ref,
        ) {
            (None, None, None) => continue,
            (None, None, Some(gateway)) => {
                if !ctx.settings.gateway_api {
                    return Err(InvalidSpec::single(
                        format!("spec.{side}.gatewayRef"),
                        "gatewayRef is disabled in this installation: install the Gateway API CRDs, then start the controller with --gateway-api (Helm chart: gatewayAPI.enabled=true), which also grants it read access to Gateways",
                    )
                    .into());
                }
                let what = format!("Gateway {namespace}/{}", gateway.name);
                let endpoint = match read::<Gateway>(ctx, &namespace, &gateway.name, &what).await? {
                    Some(gw) => gateway_endpoint(&gw),
                    None => Err(TargetError::Pending(gateway_missing(ctx, &what).await)),
                };
                ("gatewayRef", what, endpoint)
            }
            _ if !ctx.settings.cluster_targets => {
                return Err(InvalidSpec::single(format!("spec.{side}"), "serviceRef and ingressRef are disabled in this installation (--cluster-targets=false)").into());
            }
            (Some(service), _, _) => {
                let what = format!("Service {namespace}/{}", service.name);
                let endpoint = match read::<Service>(ctx, &namespace, &service.name, &what).await? {
                    Some(svc) => service_endpoint(&svc),
                    None => Err(TargetError::Pending(format!("{what} does not exist"))),
                };
                ("serviceRef", what, endpoint)
            }
            (None, Some(ingress), _) => {
                let what = format!("Ingress {namespace}/{}", ingress.name);
                let endpoint = match read::<Ingress>(ctx, &namespace, &ingress.name, &what).await? {
                    Some(ing) => ingress_endpoint(&ing),
                    None => Err(TargetError::Pending(format!("{what} does not exist"))),
                };
                ("ingressRef", what, endpoint)
            }
        };
        let resolved: Result<Target, TargetError> =
            endpoint.and_then(|e| resolve(target, obj.spec.record_type, e, &what));
        *target = match resolved {
            Ok(t) => t,
            Err(TargetError::Pending(m)) => return Err(ReconcileError::TargetNotReady(m)),
            Err(TargetError::Invalid(m)) => {
                return Err(InvalidSpec::single(format!("spec.{side}.{field}"), m).into());
            }
        };
    }
    Ok(spec)
}

/// Why a Gateway reads as missing. A GET answers 404 both for a Gateway
/// that does not exist and for a cluster that serves no Gateways at all
/// (the Gateway API's CRDs are not installed); only discovery tells them
/// apart, and only the second needs someone to install something.
async fn gateway_missing(ctx: &Context<impl Route53>, what: &str) -> String {
    let api_version = format!("{}/{}", gateway::GROUP, gateway::VERSION);
    match ctx.client.list_api_group_resources(&api_version).await {
        Ok(list) if list.resources.iter().any(|r| r.name == "gateways") => {
            format!("{what} does not exist")
        }
        Ok(_) => not_served(what, &api_version),
        Err(kube::Error::Api(status)) if status.code == 404 => not_served(what, &api_version),
        // Discovery itself failed: say what is known for sure.
        Err(_) => format!("{what} does not exist"),
    }
}

fn not_served(what: &str, api_version: &str) -> String {
    format!(
        "{what} cannot be read: this cluster does not serve {api_version} Gateways; install the Gateway API CRDs (standard channel), or turn gatewayRef off (--gateway-api=false, Helm chart: gatewayAPI.enabled=false)"
    )
}

/// The referenced object, if it exists; a failed read is retried as "not
/// ready" (the API server may be briefly away, or RBAC not yet granted).
async fn read<K>(
    ctx: &Context<impl Route53>,
    namespace: &str,
    name: &str,
    what: &str,
) -> Result<Option<K>, ReconcileError>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), namespace);
    match api.get_opt(name).await {
        Ok(found) => Ok(found),
        // A resource the apiserver does not serve at all (a CRD not
        // installed) is a plain-text 404 that kube cannot parse as a
        // Status: it is missing too, and the caller says why.
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(e) => Err(ReconcileError::TargetNotReady(format!(
            "cannot read {what}: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_balancer_zones_by_kind_and_region() {
        assert_eq!(
            load_balancer_zone("web-123.us-east-1.elb.amazonaws.com"),
            Some("Z35SXDOTRQ7X7K")
        );
        assert_eq!(
            load_balancer_zone("k8s-web-abc.elb.eu-west-1.amazonaws.com."),
            Some("Z2IFOLAFXWLO4F")
        );
        assert_eq!(
            load_balancer_zone("dualstack.web-1.eu-west-1.elb.amazonaws.com"),
            Some("Z32O12XQLNTSW2")
        );
        assert_eq!(load_balancer_zone("web.example.com"), None);
        assert_eq!(load_balancer_zone("elb.amazonaws.com.evil.example"), None);
    }

    fn target() -> Target {
        serde_yaml::from_str("serviceRef: {name: web}\nhealthCheck: {protocol: HTTPS}")
            .expect("target")
    }

    #[test]
    fn a_load_balancer_host_becomes_an_alias_that_evaluates_target_health() {
        let resolved = resolve(
            &target(),
            RecordType::A,
            Endpoint::Host("web-1.us-west-2.elb.amazonaws.com".into()),
            "Service web",
        )
        .expect("resolves");
        let alias = resolved.alias.expect("alias");
        assert_eq!(alias.hosted_zone_id, "Z1H1FL5HABSF5");
        assert!(alias.evaluate_target_health);
        assert!(resolved.service_ref.is_none() && resolved.addresses.is_none());
        assert_eq!(
            resolved.health_check.and_then(|c| c.fqdn).as_deref(),
            Some("web-1.us-west-2.elb.amazonaws.com")
        );
    }

    #[test]
    fn other_hosts_need_cname_and_ips_are_filtered_by_family() {
        let err = resolve(
            &target(),
            RecordType::A,
            Endpoint::Host("lb.example.net".into()),
            "Service web",
        )
        .expect_err("not AWS");
        assert!(matches!(err, TargetError::Invalid(m) if m.contains("use type CNAME")));
        let cname = resolve(
            &target(),
            RecordType::CNAME,
            Endpoint::Host("lb.example.net".into()),
            "Service web",
        )
        .expect("cname");
        assert_eq!(cname.addresses, Some(vec!["lb.example.net".to_string()]));
        let ips = Endpoint::Ips(vec!["203.0.113.1".into(), "2600:1f18::1".into()]);
        let a = resolve(&target(), RecordType::A, ips.clone(), "Service web").expect("a");
        assert_eq!(a.addresses, Some(vec!["203.0.113.1".to_string()]));
        let aaaa = resolve(&target(), RecordType::AAAA, ips, "Service web").expect("aaaa");
        assert_eq!(aaaa.addresses, Some(vec!["2600:1f18::1".to_string()]));
    }

    #[test]
    fn a_service_without_an_address_is_pending_and_a_cluster_ip_is_invalid() {
        let pending: Service = serde_json::from_value(
            serde_json::json!({"metadata": {"name": "web"}, "spec": {"type": "LoadBalancer"}}),
        )
        .expect("svc");
        assert!(matches!(
            service_endpoint(&pending),
            Err(TargetError::Pending(_))
        ));
        let cluster_ip: Service = serde_json::from_value(
            serde_json::json!({"metadata": {"name": "web"}, "spec": {"type": "ClusterIP"}}),
        )
        .expect("svc");
        assert!(matches!(
            service_endpoint(&cluster_ip),
            Err(TargetError::Invalid(_))
        ));
        let ready: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web"}, "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {"ingress": [{"hostname": "web-1.us-east-1.elb.amazonaws.com"}]}}
        }))
        .expect("svc");
        assert_eq!(
            service_endpoint(&ready),
            Ok(Endpoint::Host("web-1.us-east-1.elb.amazonaws.com".into()))
        );
    }
}
