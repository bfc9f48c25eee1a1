//! Personal access tokens, sans-io (contract: `specs/tokens-and-pat.md` §3–§5).
//!
//! # Design
//! - [`token`]: the format, GitHub's scheme: `{prefix}_{30 base62 random}{6 base62 CRC32}`.
//!   The checksum lets the exchange refuse typos and random strings before any database work;
//!   the deployment's own prefix makes a leaked token name its issuer, and secret scanners
//!   match it.
//! - Only a hash is stored: SHA-256 of the whole token, or HMAC-SHA-256 under a server-side
//!   pepper when one is configured ([`token::Hasher`]). Lookups are by hash, so the database
//!   never sees a token and its index never leaks one.
//! - [`policy`]: what a deployment allows (lifetimes, counts, scopes, `aal2`, rate limits),
//!   read strictly from JSON so a misspelt rule is a start-up error.
//! - [`scope`]: scope sets and narrowing (IP allow-lists use `portcullis_core::net::Cidr`).
//! - [`exchange`]: the RFC 8693 request (form-encoded, each parameter at most once except
//!   `audience`/`resource`) and its RFC 6749 §5.2 errors.
//! - [`github`]: GitHub's secret-scanning partner report, its DER ECDSA signature and its
//!   SPKI keys.
//!
//! # Threat model
//! - Tokens are never logged or echoed; [`token::Pat`] has a redacted `Debug` and only its
//!   hint (prefix + last 4) is shown after creation.
//! - Parsers take attacker input and never panic (fuzzed: `fuzz/fuzz_targets/pat_inputs.rs`).

pub mod exchange;
/// Form bodies (shared with the sso function: `portcullis_core::form`).
pub use portcullis_core::form;
pub mod github;
pub mod policy;
pub mod scope;
pub mod token;
