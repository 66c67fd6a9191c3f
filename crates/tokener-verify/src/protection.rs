//! What the actix middleware and the axum layer share, free of either framework: the verifier
//! and the requirements a route is guarded with, how they are built up, and the decision on a
//! request's `Authorization` header. Each framework module only adapts it.

use crate::{rfc6750, RemoteVerifier, Requirements, VerifiedClaims};
use std::fmt;
use std::sync::Arc;

/// A verifier and the requirements of the routes it guards. Cheap to clone (the requirements
/// are shared), so it is cloned into every service and every request.
#[derive(Clone)]
pub(crate) struct Protection {
    verifier: RemoteVerifier,
    requirements: Arc<Requirements>,
}

impl Protection {
    pub(crate) fn new(verifier: RemoteVerifier, requirements: Requirements) -> Self {
        Self {
            verifier,
            requirements: Arc::new(requirements),
        }
    }

    pub(crate) fn scope(self, scope: impl Into<String>) -> Self {
        let requirements = Arc::unwrap_or_clone(self.requirements).scope(scope);
        Self::new(self.verifier, requirements)
    }

    pub(crate) fn audience(self, audience: impl Into<String>) -> Self {
        let requirements = Arc::unwrap_or_clone(self.requirements).audience(audience);
        Self::new(self.verifier, requirements)
    }

    /// The bearer token of `authorization` judged against the requirements.
    pub(crate) async fn authorize(
        &self,
        authorization: Option<&[u8]>,
    ) -> Result<VerifiedClaims, rfc6750::Rejection> {
        rfc6750::authorize(&self.verifier, authorization, &self.requirements).await
    }

    /// Adds the `verifier` and `requirements` fields to the `Debug` output of a type holding
    /// this, so that output reads as if the type held them itself.
    pub(crate) fn debug_fields<'d, 'a, 'b>(
        &self,
        debug: &'d mut fmt::DebugStruct<'a, 'b>,
    ) -> &'d mut fmt::DebugStruct<'a, 'b> {
        debug
            .field("verifier", &self.verifier)
            .field("requirements", &self.requirements)
    }
}

/// Defines a framework module's `TokenerAuth` over a [`Protection`]: the builder both
/// frameworks offer (`new`, `with_requirements`, `scope`, `audience`) and the `Debug` output
/// of a struct holding the verifier and the requirements. The module then only implements its
/// framework's trait (`Transform`, `Layer`) for it.
macro_rules! tokener_auth {
    ($(#[$attr:meta])*) => {
        $(#[$attr])*
        #[derive(Clone)]
        pub struct TokenerAuth($crate::protection::Protection);

        impl TokenerAuth {
            pub fn new(verifier: $crate::RemoteVerifier) -> Self {
                Self::with_requirements(verifier, $crate::Requirements::new())
            }

            pub fn with_requirements(
                verifier: $crate::RemoteVerifier,
                requirements: $crate::Requirements,
            ) -> Self {
                Self($crate::protection::Protection::new(verifier, requirements))
            }

            pub fn scope(self, scope: impl Into<String>) -> Self {
                Self(self.0.scope(scope))
            }

            pub fn audience(self, audience: impl Into<String>) -> Self {
                Self(self.0.audience(audience))
            }
        }

        impl ::std::fmt::Debug for TokenerAuth {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.debug_fields(&mut f.debug_struct("TokenerAuth")).finish()
            }
        }
    };
}
pub(crate) use tokener_auth;
