//! Every choice the public vCR material leaves open, in one place.
//!
//! `shared/vcr-api.md` marks some parts of the contract **assumed**: the
//! reference is silent or contradicts itself there. They are collected here so
//! that when the real service says otherwise, one file changes.

/// IAM token endpoint (client-credentials grant). Documented, not assumed.
pub const DEFAULT_TOKEN_URL: &str = "https://iamapis.vngcloud.vn/accounts-api/v2/auth/token";

/// HCM management API. Documented.
pub const HCM_API_BASE: &str = "https://vcr.api.vngcloud.vn";
/// HAN management API. **Assumed**: the reference shows the HAN console under
/// `han-1.console.vngcloud.vn/vcr`, and we assume the API follows the same
/// pattern under `han-1.api.vngcloud.vn/vcr-api`.
pub const HAN_API_BASE: &str = "https://han-1.api.vngcloud.vn/vcr-api";

/// Docker registry host, HCM. Documented.
pub const HCM_REGISTRY_HOST: &str = "vcr.vngcloud.vn";
/// Docker registry host, HAN. Documented.
pub const HAN_REGISTRY_HOST: &str = "vcr-han.vngcloud.vn";

/// **Assumed** error body: `{"message":"...","errorCode":"..."}`. The client
/// reads these two fields when present and falls back to the raw text of the
/// body (shortened) when the body has another shape.
pub const ERROR_MESSAGE_FIELD: &str = "message";
/// See [`ERROR_MESSAGE_FIELD`].
pub const ERROR_CODE_FIELD: &str = "errorCode";

/// **Assumed**: the account id (the prefix of every `backendName`) is carried
/// by the IAM access token, a JWT, in this claim.
pub const ACCOUNT_ID_CLAIM: &str = "accountId";

/// Paging is 1-based; `page=0` is refused by the server.
pub const FIRST_PAGE: u32 = 1;

/// Page size used when the client walks every page of a list. **Assumed**: the
/// service accepts at least this many items per page.
pub const WALK_PAGE_SIZE: u32 = 50;

/// **Assumed**: a safety bound on how many pages the client walks before it
/// gives up (a server whose paging never ends must not hang the caller).
pub const MAX_WALK_PAGES: u32 = 10_000;
