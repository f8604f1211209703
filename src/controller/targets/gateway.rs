//! A Gateway API `Gateway` as a target: what its `status.addresses` stand for.
//!
//! Only the few fields read here are typed, so the controller needs neither
//! the gateway-api crate (hundreds of generated types) nor the Gateway API's
//! CRDs at build time; everything else in the object is ignored when it is
//! read. The Gateway API gives `status.addresses` to the whole Gateway, not
//! to a listener.

use std::borrow::Cow;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::{Endpoint, TargetError};

/// API group of the Gateway API.
pub const GROUP: &str = "gateway.networking.k8s.io";
/// The version read: the first one with a stable Gateway (Gateway API v1.0).
pub const VERSION: &str = "v1";

/// A `gateway.networking.k8s.io/v1` Gateway, as far as a target needs it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Gateway {
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<GatewayStatus>,
}

/// `status` of a Gateway: what its controller says it can be reached at.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GatewayStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<GatewayAddress>>,
}

/// One entry of `status.addresses`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GatewayAddress {
    /// `IPAddress` (the Gateway API's default when omitted), `Hostname`,
    /// `NamedAddress`, or an implementation's own domain-prefixed type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default)]
    pub value: String,
}

impl kube::Resource for Gateway {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("Gateway")
    }

    fn group(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(GROUP)
    }

    fn version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(VERSION)
    }

    fn plural(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("gateways")
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// The endpoint of a Gateway: its first `Hostname` address, else all its
/// `IPAddress` addresses (the way an Ingress's load balancer status is read),
/// else "not yet" when it has none. Addresses of other types (`NamedAddress`,
/// implementation-specific ones) name something only that implementation can
/// resolve: they are skipped, and are an error only when nothing else is there.
pub fn gateway_endpoint(gateway: &Gateway) -> Result<Endpoint, TargetError> {
    let name = gateway.metadata.name.as_deref().unwrap_or_default();
    let addresses: &[GatewayAddress] = gateway
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_deref())
        .unwrap_or_default();
    let mut ips = Vec::new();
    let mut others = Vec::new();
    for address in addresses.iter().filter(|a| !a.value.is_empty()) {
        match address.type_.as_deref().unwrap_or("IPAddress") {
            "Hostname" => return Ok(Endpoint::Host(address.value.clone())),
            "IPAddress" => match address.value.parse::<std::net::IpAddr>() {
                Ok(ip) => ips.push(ip.to_string()),
                Err(_) => {
                    return Err(TargetError::Invalid(format!(
                        "Gateway {name} has the address {:?} of type IPAddress in status.addresses, which is not an IP address; its Gateway controller must publish a valid IPv4 or IPv6 address",
                        address.value
                    )));
                }
            },
            other => others.push(format!("{other} {}", address.value)),
        }
    }
    if !ips.is_empty() {
        return Ok(Endpoint::Ips(ips));
    }
    if !others.is_empty() {
        return Err(TargetError::Invalid(format!(
            "Gateway {name} has only addresses that DNS cannot point at in status.addresses ({}): gatewayRef needs an address of type IPAddress or Hostname; configure the Gateway's implementation to publish one, or set addresses or alias instead",
            others.join(", ")
        )));
    }
    Err(TargetError::Pending(format!(
        "waiting for Gateway {name} to get an address in status.addresses"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{RecordType, Target};
    use crate::controller::targets::resolve;

    fn gateway(addresses: serde_json::Value) -> Gateway {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "public", "namespace": "web"},
            "spec": {"gatewayClassName": "aws", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
            "status": {"addresses": addresses}
        }))
        .expect("gateway")
    }

    fn target() -> Target {
        serde_yaml::from_str("gatewayRef: {name: public}\nhealthCheck: {protocol: HTTP, port: 80}")
            .expect("target")
    }

    fn resolved(
        addresses: serde_json::Value,
        record_type: RecordType,
    ) -> Result<Target, TargetError> {
        gateway_endpoint(&gateway(addresses))
            .and_then(|e| resolve(&target(), record_type, e, "Gateway web/public"))
    }

    #[test]
    fn ip_addresses_become_the_values_of_their_family() {
        let addresses = serde_json::json!([
            {"type": "IPAddress", "value": "203.0.113.7"},
            {"value": "203.0.113.8"},
            {"type": "IPAddress", "value": "2001:db8::7"}
        ]);
        let a = resolved(addresses.clone(), RecordType::A).expect("A");
        assert_eq!(
            a.addresses,
            Some(vec!["203.0.113.7".to_string(), "203.0.113.8".to_string()]),
            "an address without a type is an IPAddress"
        );
        assert!(a.gateway_ref.is_none() && a.alias.is_none());
        let aaaa = resolved(addresses, RecordType::AAAA).expect("AAAA");
        assert_eq!(aaaa.addresses, Some(vec!["2001:db8::7".to_string()]));
    }

    #[test]
    fn a_host_name_is_read_as_an_ingress_load_balancer_host_name() {
        let addresses = serde_json::json!([
            {"type": "IPAddress", "value": "203.0.113.7"},
            {"type": "Hostname", "value": "k8s-web-public-0123.elb.us-east-1.amazonaws.com"}
        ]);
        assert_eq!(
            gateway_endpoint(&gateway(addresses.clone())),
            Ok(Endpoint::Host(
                "k8s-web-public-0123.elb.us-east-1.amazonaws.com".into()
            ))
        );
        let alias = resolved(addresses, RecordType::A)
            .expect("alias")
            .alias
            .expect("an alias");
        assert_eq!(alias.hosted_zone_id, "Z26RNL4JYFTOTI");
        assert!(alias.evaluate_target_health);

        let other = serde_json::json!([{"type": "Hostname", "value": "gw.example.net"}]);
        let err = resolved(other.clone(), RecordType::A).expect_err("not AWS");
        assert!(
            matches!(&err, TargetError::Invalid(m) if m.contains("gw.example.net") && m.contains("use type CNAME")),
            "{err:?}"
        );
        let cname = resolved(other, RecordType::CNAME).expect("CNAME");
        assert_eq!(cname.addresses, Some(vec!["gw.example.net".to_string()]));
    }

    #[test]
    fn the_wrong_family_says_what_the_gateway_has() {
        let err = resolved(
            serde_json::json!([{"type": "IPAddress", "value": "2001:db8::7"}]),
            RecordType::A,
        )
        .expect_err("no IPv4");
        assert!(
            matches!(&err, TargetError::Invalid(m) if m.contains("no IPv4 address") && m.contains("2001:db8::7")),
            "{err:?}"
        );
        let err = resolved(
            serde_json::json!([{"type": "IPAddress", "value": "203.0.113.7"}]),
            RecordType::CNAME,
        );
        assert!(
            matches!(&err, Err(TargetError::Invalid(m)) if m.contains("CNAME")),
            "{err:?}"
        );
    }

    #[test]
    fn named_and_unknown_types_are_an_error_that_says_what_is_needed() {
        let err = gateway_endpoint(&gateway(serde_json::json!([
            {"type": "NamedAddress", "value": "shared-lb"},
            {"type": "example.com/PoolRef", "value": "pool-a"}
        ])))
        .expect_err("nothing usable");
        let TargetError::Invalid(message) = err else {
            panic!("not invalid: {err:?}")
        };
        assert!(message.contains("NamedAddress shared-lb"), "{message}");
        assert!(message.contains("example.com/PoolRef pool-a"), "{message}");
        assert!(
            message.contains("needs an address of type IPAddress or Hostname"),
            "{message}"
        );
        // Beside a usable address, they are skipped.
        assert_eq!(
            gateway_endpoint(&gateway(serde_json::json!([
                {"type": "NamedAddress", "value": "shared-lb"},
                {"type": "IPAddress", "value": "203.0.113.7"}
            ]))),
            Ok(Endpoint::Ips(vec!["203.0.113.7".into()]))
        );
        let bad = gateway_endpoint(&gateway(
            serde_json::json!([{"type": "IPAddress", "value": "not-an-ip"}]),
        ));
        assert!(
            matches!(&bad, Err(TargetError::Invalid(m)) if m.contains("not-an-ip")),
            "{bad:?}"
        );
    }

    #[test]
    fn no_addresses_yet_is_pending() {
        let mut none = gateway(serde_json::json!([]));
        assert!(matches!(
            gateway_endpoint(&none),
            Err(TargetError::Pending(m)) if m == "waiting for Gateway public to get an address in status.addresses"
        ));
        none.status = None;
        assert!(matches!(
            gateway_endpoint(&none),
            Err(TargetError::Pending(_))
        ));
    }
}
