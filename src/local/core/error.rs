//! What can go wrong in vcr-local's domain, whichever door the request came
//! through. Each adapter (the management API, the registry) maps these to its
//! own wire shape in one place.

use std::net::SocketAddr;

use crate::local::store::StoreError;

/// A refusal or failure of a domain operation. The message names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A rule of the contract was broken by the input.
    #[error("{0}")]
    Invalid(String),
    /// The object does not exist (in this region).
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with what exists (a taken name, images left).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The credentials are wrong, disabled or expired, or none were given.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Denied(String),
    /// The change would take a repository over its quota.
    #[error("{0}")]
    QuotaExceeded(String),
    /// Too many of something at once (upload sessions).
    #[error("{0}")]
    TooMany(String),
    /// A registry-level refusal with its distribution-spec code.
    #[error("{message}")]
    Registry {
        kind: RegistryErrorKind,
        message: String,
    },
    /// vcr-local itself failed (the disk, the database).
    #[error("vcr-local cannot use its storage: {0}")]
    Storage(String),
}

/// The error codes of the OCI distribution spec that the domain can raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryErrorKind {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    TagInvalid,
    Unsupported,
    RangeInvalid,
    /// A delete refused because images use what it would remove (answered
    /// `UNSUPPORTED`, 405, as a registry that does not delete blobs does).
    InUse,
}

impl RegistryErrorKind {
    /// The code as the distribution spec spells it.
    pub fn code(self) -> &'static str {
        use RegistryErrorKind::*;
        match self {
            BlobUnknown => "BLOB_UNKNOWN",
            BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            DigestInvalid => "DIGEST_INVALID",
            ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ManifestInvalid => "MANIFEST_INVALID",
            ManifestUnknown => "MANIFEST_UNKNOWN",
            NameInvalid => "NAME_INVALID",
            NameUnknown => "NAME_UNKNOWN",
            SizeInvalid => "SIZE_INVALID",
            TagInvalid => "TAG_INVALID",
            Unsupported | InUse => "UNSUPPORTED",
            RangeInvalid => "RANGE_INVALID",
        }
    }
}

impl DomainError {
    /// A registry refusal of the given kind.
    pub fn registry(kind: RegistryErrorKind, message: impl Into<String>) -> Self {
        DomainError::Registry {
            kind,
            message: message.into(),
        }
    }

    /// 409-style conflict with a machine-readable code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Conflict {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage error");
        DomainError::Storage(e.to_string())
    }
}

impl From<std::io::Error> for DomainError {
    fn from(e: std::io::Error) -> Self {
        tracing::error!(error = %e, "storage error");
        DomainError::Storage(e.to_string())
    }
}

/// The result of a domain operation.
pub type DomainResult<T> = Result<T, DomainError>;

/// Why vcr-local could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A listen address could not be bound.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        addr: SocketAddr,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The data directory is not usable.
    #[error("{0}")]
    Data(String),
    /// The configuration is not usable.
    #[error("invalid configuration: {0}")]
    Config(String),
}
