//! [`Error`]'s equality, which ignores the [`Cause`](super::Cause) (see [the module
//! docs](super#sources)).

use super::Error;

/// Equality of what an error says: every field but the [`Cause`](super::Cause) (see
/// [the module docs](super#sources)), so `Error::storage("x")` equals the same error
/// with an IO error as its source.
impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        match (self, other) {
            (
                Error::InvalidArgument {
                    name: a_name,
                    reason: a_reason,
                },
                Error::InvalidArgument {
                    name: b_name,
                    reason: b_reason,
                },
            ) => a_name == b_name && a_reason == b_reason,
            (
                Error::InvalidConfig {
                    reason: a_reason, ..
                },
                Error::InvalidConfig {
                    reason: b_reason, ..
                },
            ) => a_reason == b_reason,
            (Error::InvalidKey(a), Error::InvalidKey(b)) => a == b,
            (Error::InvalidJwt(a), Error::InvalidJwt(b)) => a == b,
            (
                Error::Rejected {
                    status: a_status,
                    detail: a_detail,
                },
                Error::Rejected {
                    status: b_status,
                    detail: b_detail,
                },
            ) => a_status == b_status && a_detail == b_detail,
            (Error::Misuse(a), Error::Misuse(b)) => a == b,
            (Error::NotAuthenticated, Error::NotAuthenticated) => true,
            (
                Error::Unauthorized { detail: a_detail },
                Error::Unauthorized { detail: b_detail },
            ) => a_detail == b_detail,
            (Error::SessionExpired, Error::SessionExpired) => true,
            (Error::StateMismatch, Error::StateMismatch) => true,
            (Error::NonceMismatch, Error::NonceMismatch) => true,
            (
                Error::IssuerMismatch {
                    expected: a_expected,
                    found: a_found,
                },
                Error::IssuerMismatch {
                    expected: b_expected,
                    found: b_found,
                },
            ) => a_expected == b_expected && a_found == b_found,
            (
                Error::AccessDenied {
                    description: a_description,
                },
                Error::AccessDenied {
                    description: b_description,
                },
            ) => a_description == b_description,
            (
                Error::AuthorizationFailed {
                    error: a_error,
                    description: a_description,
                },
                Error::AuthorizationFailed {
                    error: b_error,
                    description: b_description,
                },
            ) => a_error == b_error && a_description == b_description,
            (
                Error::ProfileServerMismatch {
                    profile: a_profile,
                    stored: a_stored,
                    configured: a_configured,
                },
                Error::ProfileServerMismatch {
                    profile: b_profile,
                    stored: b_stored,
                    configured: b_configured,
                },
            ) => a_profile == b_profile && a_stored == b_stored && a_configured == b_configured,
            (
                Error::InsufficientPermissions {
                    required_scope: a_required_scope,
                },
                Error::InsufficientPermissions {
                    required_scope: b_required_scope,
                },
            ) => a_required_scope == b_required_scope,
            (
                Error::RateLimited {
                    policy: a_policy,
                    limit: a_limit,
                    retry_after: a_retry_after,
                },
                Error::RateLimited {
                    policy: b_policy,
                    limit: b_limit,
                    retry_after: b_retry_after,
                },
            ) => a_policy == b_policy && a_limit == b_limit && a_retry_after == b_retry_after,
            (Error::Server { status: a_status }, Error::Server { status: b_status }) => {
                a_status == b_status
            }
            (
                Error::Network {
                    reason: a_reason, ..
                },
                Error::Network {
                    reason: b_reason, ..
                },
            ) => a_reason == b_reason,
            (
                Error::LoopbackUnavailable {
                    address: a_address,
                    reason: a_reason,
                    ..
                },
                Error::LoopbackUnavailable {
                    address: b_address,
                    reason: b_reason,
                    ..
                },
            ) => a_address == b_address && a_reason == b_reason,
            (
                Error::Protocol {
                    reason: a_reason,
                    body: a_body,
                },
                Error::Protocol {
                    reason: b_reason,
                    body: b_body,
                },
            ) => a_reason == b_reason && a_body == b_body,
            (Error::NotFound { what: a_what }, Error::NotFound { what: b_what }) => {
                a_what == b_what
            }
            (Error::ProfileNotFound { name: a_name }, Error::ProfileNotFound { name: b_name }) => {
                a_name == b_name
            }
            (
                Error::CorruptCredentials {
                    reason: a_reason,
                    moved_to: a_moved_to,
                },
                Error::CorruptCredentials {
                    reason: b_reason,
                    moved_to: b_moved_to,
                },
            ) => a_reason == b_reason && a_moved_to == b_moved_to,
            (
                Error::UnsupportedVersion {
                    found: a_found,
                    supported: a_supported,
                },
                Error::UnsupportedVersion {
                    found: b_found,
                    supported: b_supported,
                },
            ) => a_found == b_found && a_supported == b_supported,
            (
                Error::Storage {
                    reason: a_reason, ..
                },
                Error::Storage {
                    reason: b_reason, ..
                },
            ) => a_reason == b_reason,
            (
                Error::UnsafeStorage {
                    path: a_path,
                    problem: a_problem,
                    fix: a_fix,
                },
                Error::UnsafeStorage {
                    path: b_path,
                    problem: b_problem,
                    fix: b_fix,
                },
            ) => a_path == b_path && a_problem == b_problem && a_fix == b_fix,
            (
                Error::UnsupportedProfile {
                    name: a_name,
                    what: a_what,
                },
                Error::UnsupportedProfile {
                    name: b_name,
                    what: b_what,
                },
            ) => a_name == b_name && a_what == b_what,
            (
                Error::LoginTimedOut { waited: a_waited },
                Error::LoginTimedOut { waited: b_waited },
            ) => a_waited == b_waited,
            (Error::DeviceCodeExpired, Error::DeviceCodeExpired) => true,
            (Error::AuthorizationExpired, Error::AuthorizationExpired) => true,
            (Error::Cancelled, Error::Cancelled) => true,
            (Error::LoginIntercepted, Error::LoginIntercepted) => true,
            _ => {
                // Different variants. This match names every variant (no wildcard), so
                // a new one fails to compile here until it is compared above too.
                match self {
                    Error::InvalidArgument { .. }
                    | Error::InvalidConfig { .. }
                    | Error::InvalidKey { .. }
                    | Error::InvalidJwt { .. }
                    | Error::Rejected { .. }
                    | Error::Misuse { .. }
                    | Error::NotAuthenticated
                    | Error::Unauthorized { .. }
                    | Error::SessionExpired
                    | Error::StateMismatch
                    | Error::NonceMismatch
                    | Error::IssuerMismatch { .. }
                    | Error::AccessDenied { .. }
                    | Error::AuthorizationFailed { .. }
                    | Error::ProfileServerMismatch { .. }
                    | Error::InsufficientPermissions { .. }
                    | Error::RateLimited { .. }
                    | Error::Server { .. }
                    | Error::Network { .. }
                    | Error::LoopbackUnavailable { .. }
                    | Error::Protocol { .. }
                    | Error::NotFound { .. }
                    | Error::ProfileNotFound { .. }
                    | Error::CorruptCredentials { .. }
                    | Error::UnsupportedVersion { .. }
                    | Error::Storage { .. }
                    | Error::UnsafeStorage { .. }
                    | Error::UnsupportedProfile { .. }
                    | Error::LoginTimedOut { .. }
                    | Error::DeviceCodeExpired
                    | Error::AuthorizationExpired
                    | Error::Cancelled
                    | Error::LoginIntercepted => false,
                }
            }
        }
    }
}

impl Eq for Error {}
