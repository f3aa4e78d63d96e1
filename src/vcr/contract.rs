//! What the client takes as given about the real vCR API, each with its public source.
//!
//! The calls themselves (paths, methods, body and query field names) are built in
//! [`super::request`] from the vCR API reference, an OpenAPI page:
//! <https://docs.api.vngcloud.vn/service-docs/vcr.html> (its request samples show every
//! path, query parameter and body field used here; the GreenNode CLI,
//! <https://github.com/vngcloud/greennode-cli>, mirrors the same contract).
//! `docs/development/vcr-api.md` is the project's reading of it. Where the public material is
//! silent or contradicts itself, the choice is **assumed** and kept here, so that when
//! the real service says otherwise, one file changes. `docs/guides/differences.md`
//! lists the same points for users, with what `vcr-local` does about each.
//!
//! Sources named below:
//! - *reference*: the vCR API reference above.
//! - *IAM reference*: the IAM accounts API, <https://docs.api.vngcloud.vn/service-docs/accounts-api.html>,
//!   and the "Authorization" part of <https://docs.api.vngcloud.vn>.
//! - *user guide*: the vCR user guide on <https://docs.vngcloud.vn> (vContainer Registry).
//! - *Go SDK*: VNG Cloud's official SDK, <https://github.com/vngcloud/vngcloud-go-sdk>
//!   (its IAM client and the errors of the IAM gateway in front of every service).
//! - *community clients*: clients of the same API published on GitHub (for example
//!   <https://github.com/dannyota/greennode-community-sdk>), whose recorded answers show
//!   shapes the reference does not.

// ---- hosts ------------------------------------------------------------------------

/// IAM token endpoint (client-credentials grant, `Authorization: Basic
/// base64(id:secret)`, body `grant_type=client_credentials`). Source: IAM reference.
pub const DEFAULT_TOKEN_URL: &str = "https://iamapis.vngcloud.vn/accounts-api/v2/auth/token";

/// HCM management API. Source: the request samples of the reference
/// (`https://vcr.api.vngcloud.vn/v1/...`).
pub const HCM_API_BASE: &str = "https://vcr.api.vngcloud.vn";
/// HAN management API. **Assumed**: no public source names it. The console lives under
/// `han-1.console.vngcloud.vn/vcr`; we assume the API follows the same pattern under
/// `han-1.api.vngcloud.vn/vcr-api`.
pub const HAN_API_BASE: &str = "https://han-1.api.vngcloud.vn/vcr-api";

/// Docker registry host, HCM. Source: user guide ("docker login vcr.vngcloud.vn").
pub const HCM_REGISTRY_HOST: &str = "vcr.vngcloud.vn";
/// Docker registry host, HAN. Source: user guide (HAN region).
pub const HAN_REGISTRY_HOST: &str = "vcr-han.vngcloud.vn";

// ---- redirects --------------------------------------------------------------------

/// The client never follows a redirect to another host: HTTP clients drop
/// `Authorization` when a redirect crosses hosts, which would turn into a puzzling
/// 401. Source: the legacy `*.vngcloud.vn` consoles now answer 301 to
/// `*.greennode.ai` (user guide); whether the API hosts will is unknown. A redirect on
/// the same host (scheme, host and port) is followed for GET (any method with 307 and
/// 308, which keep the method), at most this many times in a row. **Assumed**: no
/// source shows a same-host redirect on the API; following it is harmless.
pub const MAX_SAME_HOST_REDIRECTS: usize = 5;

// ---- the IAM token ----------------------------------------------------------------

/// The token answer: `{"token_type":"Bearer","access_token":"<JWT>","expires_in":1800,
/// "refresh_expires_in":0}`. Sources disagree on the details, so the client reads
/// `access_token` and `expires_in` (a number, or a number in a string), compares
/// `token_type` without regard to case (`Bearer` in the IAM reference, `bearer` in the
/// Go SDK's recorded answers), accepts any lifetime (1800, 3600 and 7200 are all seen)
/// and ignores every other field (`scope`, `refresh_expires_in`...). This is the type
/// it must be, in any case.
pub const TOKEN_TYPE: &str = "Bearer";

/// **Assumed**: how long a token lives when the answer does not say (`expires_in`
/// missing or not a positive number): short, so that a wrong guess costs a new token,
/// not a failed call.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 300;

/// **Assumed**: the account id (the prefix of every `backendName`) is carried by the
/// IAM access token, a JWT, in this claim. The IAM reference's `userinfo` answer names
/// the field `accountId`; that the token carries it is not documented.
pub const ACCOUNT_ID_CLAIM: &str = "accountId";

// ---- error answers ----------------------------------------------------------------

/// The error bodies the client reads (see `super::error_body`). The reference
/// documents only 401 and 500, without a body schema; these shapes are seen in public
/// clients:
/// 1. `{"message":"..."}` (community clients);
/// 2. `{"message","code":<int>,"errorCode","success":false}` (community clients, GreenNode CLI);
/// 3. `{"errors":[{"code","message"}]}` (the distribution spec's shape, used by vCR's
///    Harbor-based registry and seen from the API);
/// 4. `[{"code","message"}]`, a bare JSON array, from the IAM gateway in front of every
///    call (Go SDK), e.g. 403 [`IAM_PERMISSION_DENIED`].
///
/// Any other body (an HTML page from a proxy, an empty body) is reported as the status
/// and a short excerpt.
pub const ERROR_BODY_SHAPES: [&str; 4] = [
    r#"{"message"}"#,
    r#"{"message","code","errorCode","success"}"#,
    r#"{"errors":[{"code","message"}]}"#,
    r#"[{"code","message"}]"#,
];

/// The IAM gateway's code for a service account that lacks the vCR policy. Source: Go
/// SDK (the gateway's 403 array) and community clients.
pub const IAM_PERMISSION_DENIED: &str = "IAM_PERMISSION_DENIED";

/// The IAM managed policy a service account needs to use vCR, attached in the IAM
/// console at [`IAM_SERVICE_ACCOUNTS_CONSOLE`] (a service account's "Permission" tab,
/// "Attach Policies"). Source: VNG's guides for service accounts that push to vCR,
/// <https://github.com/vngcloud/greennode-agentbase-skills>.
pub const VCR_IAM_POLICY: &str = "vcrFullAccess";

/// Where service accounts and their policies are managed. Source: as for
/// [`VCR_IAM_POLICY`].
pub const IAM_SERVICE_ACCOUNTS_CONSOLE: &str = "https://iam.console.vngcloud.vn/service-accounts";

// ---- paging -----------------------------------------------------------------------

/// Paging is 1-based; `page=0` is refused by the server. Source: observed (a 400
/// "Page or size invalid"), not in the reference.
pub const FIRST_PAGE: u32 = 1;

/// Page size used when the client walks every page of a list. **Assumed**: the
/// service accepts at least this many items per page.
pub const WALK_PAGE_SIZE: u32 = 50;

/// **Assumed**: a safety bound on how many pages the client walks before it gives up
/// (a server whose paging never ends must not hang the caller). A walk that gathers
/// a whole list fails past it, naming the call, as it does past
/// [`super::DEFAULT_MAX_WALK_ITEMS`] items or [`super::DEFAULT_MAX_WALK_BYTES`] of
/// answers.
pub const MAX_WALK_PAGES: u32 = 10_000;

// ---- requests ---------------------------------------------------------------------

/// `GET /v1/repository/{id}/images` fails with 500 on the real service without a
/// `name` query parameter, though the reference marks it optional: it is always sent,
/// empty when there is no filter. Image names may hold `/` (`tools/helm`): they travel
/// in the query, percent-encoded. Source: community clients (see `docs/development/vcr-api.md`,
/// "Images and artifacts").
pub const IMAGE_LIST_NEEDS_NAME: bool = true;

/// **Assumed**, Harbor-like: the reference publishes no fields for ImageDto and
/// ArtifactDto. ImageDto is taken as `{"name","artifactCount","pullCount","updateTime"}`
/// and ArtifactDto as `{"digest","tags","size","pushTime","mediaType"}` (`size` in
/// bytes). The names are decoded in one place, [`super::Image`] and
/// [`super::Artifact`]; these lists say them for readers and are checked against the
/// decoders by a test.
pub const IMAGE_FIELDS: [&str; 4] = ["name", "artifactCount", "pullCount", "updateTime"];
/// See [`IMAGE_FIELDS`].
pub const ARTIFACT_FIELDS: [&str; 5] = ["digest", "tags", "size", "pushTime", "mediaType"];

/// **Assumed**: the `name` filter of the image list lets through at least every image
/// whose name contains the text (vcr-local and Harbor match a part of the name), so a
/// caller may send a prefix and apply its own rule to what comes back. What the
/// artifact list's `name` filter matches (a tag? a digest? a part of either?) is not
/// documented: an artifact is looked up in the unfiltered list.
pub const IMAGE_NAME_FILTER_MATCHES_PART: bool = true;

/// `description` is not in the reference's request schemas of `POST /v1/user` and `PUT
/// /v1/user/{id}`, though the console sets one: it is sent only when the user set one.
/// **Assumed**: the service accepts and keeps it.
pub const USER_DESCRIPTION_ONLY_WHEN_SET: bool = true;

// ---- answers of secrets -----------------------------------------------------------

/// `GET /v1/user/{id}/refresh` is documented as a string with content type `*/*`; its
/// answer is read as a JSON string, as plain text, or as `{"secretKey": ...}` (the shape
/// of the create answer). Source: reference (the type), community clients (the shapes).
pub const SECRET_FIELD: &str = "secretKey";

// ---- permissions ------------------------------------------------------------------

/// The policies are looked up at run time (`GET /v1/user/permissions`), never by
/// hard-coded uuid, and recognised by their text: the reference names the field
/// `action`, one community client `name`; the words differ too ("Pull Images", "Pull
/// repository", "pull"). These are the fields read, in order.
pub const POLICY_TEXT_FIELDS: [&str; 2] = ["action", "name"];

/// The service lists a third policy, "All", reported broken by users of the API: it is
/// never attached. Push and pull is always the pull policy plus the push policy (what
/// the portal's "Push&Pull" does). Source: community clients, user guide.
pub const ALL_POLICY_TEXT: &str = "all";
