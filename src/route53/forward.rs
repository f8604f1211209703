//! One generic path through which wrappers of the port see every request.
//!
//! A wrapper (`Resilient`, the controller's lease gate) has an `inner` port
//! and a method `call(op, request)` that runs `request` (once, or again on a
//! retry) around its own work. [`forward_route53!`] implements [`Route53`]
//! for it by sending each method through that `call` with its [`Operation`],
//! so a new method of the port is added here once, and no wrapper can forget
//! to count, rate-limit or gate it.
//!
//! [`Route53`]: super::Route53
//! [`Operation`]: super::Operation

/// Implement [`Route53`](super::Route53) for `$wrapper<R>` through its `call`.
macro_rules! forward_route53 {
    ($wrapper:ident) => {
        impl<R: $crate::route53::Route53> $crate::route53::Route53 for $wrapper<R> {
            fn route(&self, route: &$crate::route53::Route) -> bool {
                self.inner.route(route)
            }

            async fn get_hosted_zone(
                &self,
                id: &str,
            ) -> $crate::route53::Result<$crate::route53::Zone> {
                self.call($crate::route53::Operation::GetHostedZone, || {
                    self.inner.get_hosted_zone(id)
                })
                .await
            }

            async fn list_hosted_zones_page(
                &self,
                marker: Option<&str>,
            ) -> $crate::route53::Result<
                $crate::route53::Page<$crate::route53::Zone, String>,
            > {
                self.call($crate::route53::Operation::ListHostedZones, || {
                    self.inner.list_hosted_zones_page(marker)
                })
                .await
            }

            async fn list_hosted_zones_by_name(
                &self,
                name: &str,
            ) -> $crate::route53::Result<Vec<$crate::route53::Zone>> {
                self.call($crate::route53::Operation::ListHostedZonesByName, || {
                    self.inner.list_hosted_zones_by_name(name)
                })
                .await
            }

            async fn list_record_sets_page(
                &self,
                zone_id: &str,
                start: Option<&$crate::route53::RecordCursor>,
            ) -> $crate::route53::Result<
                $crate::route53::Page<$crate::route53::RecordSet, $crate::route53::RecordCursor>,
            > {
                self.call($crate::route53::Operation::ListResourceRecordSets, || {
                    self.inner.list_record_sets_page(zone_id, start)
                })
                .await
            }

            async fn change_record_sets(
                &self,
                zone_id: &str,
                changes: &[$crate::route53::Change],
            ) -> $crate::route53::Result<$crate::route53::ChangeInfo> {
                self.call($crate::route53::Operation::ChangeResourceRecordSets, || {
                    self.inner.change_record_sets(zone_id, changes)
                })
                .await
            }

            async fn get_change(
                &self,
                id: &str,
            ) -> $crate::route53::Result<$crate::route53::ChangeInfo> {
                self.call($crate::route53::Operation::GetChange, || {
                    self.inner.get_change(id)
                })
                .await
            }

            async fn list_health_checks_page(
                &self,
                marker: Option<&str>,
            ) -> $crate::route53::Result<$crate::route53::Page<$crate::route53::HealthCheck, String>>
            {
                self.call($crate::route53::Operation::ListHealthChecks, || {
                    self.inner.list_health_checks_page(marker)
                })
                .await
            }

            async fn create_health_check(
                &self,
                caller_reference: &str,
                config: &$crate::route53::HealthCheckConfig,
            ) -> $crate::route53::Result<$crate::route53::HealthCheck> {
                self.call($crate::route53::Operation::CreateHealthCheck, || {
                    self.inner.create_health_check(caller_reference, config)
                })
                .await
            }

            async fn update_health_check(
                &self,
                id: &str,
                update: &$crate::route53::HealthCheckUpdate,
            ) -> $crate::route53::Result<$crate::route53::HealthCheck> {
                self.call($crate::route53::Operation::UpdateHealthCheck, || {
                    self.inner.update_health_check(id, update)
                })
                .await
            }

            async fn delete_health_check(&self, id: &str) -> $crate::route53::Result<()> {
                self.call($crate::route53::Operation::DeleteHealthCheck, || {
                    self.inner.delete_health_check(id)
                })
                .await
            }

            async fn get_health_check_status(
                &self,
                id: &str,
            ) -> $crate::route53::Result<Vec<$crate::route53::HealthObservation>> {
                self.call($crate::route53::Operation::GetHealthCheckStatus, || {
                    self.inner.get_health_check_status(id)
                })
                .await
            }

            async fn list_health_check_tags(
                &self,
                ids: &[String],
            ) -> $crate::route53::Result<
                std::collections::BTreeMap<String, $crate::route53::Tags>,
            > {
                self.call($crate::route53::Operation::ListTagsForResources, || {
                    self.inner.list_health_check_tags(ids)
                })
                .await
            }

            async fn change_health_check_tags(
                &self,
                id: &str,
                add: &$crate::route53::Tags,
                remove: &[String],
            ) -> $crate::route53::Result<()> {
                self.call($crate::route53::Operation::ChangeTagsForResource, || {
                    self.inner.change_health_check_tags(id, add, remove)
                })
                .await
            }
        }
    };
}

pub(crate) use forward_route53;
