//! Pre-signed storage URLs, sans-io (contract: `specs/signed-urls.md`).
//!
//! # Design
//! - [`key`]: what an object key a client asks for must be before anything is signed for it:
//!   at most 1,024 bytes, no control characters, no `\`, no empty, `.` or `..` segment (so no
//!   leading, trailing or doubled `/`). A key that passes is signed exactly as given: S3 does
//!   not normalise, and some servers (SeaweedFS) would.
//! - [`template`]: a rule's path template over the user's verified claims
//!   (`users/{sub}/**`, `orgs/{app_metadata.org_id}/**`, `public/*`). A claim value becomes one
//!   whole segment or nothing: a value that is empty, holds `/`, `\`, `%`, a control character or
//!   a glob character, or is `.`/`..`, makes the template match nothing, so a claim can never
//!   widen what a rule grants.
//! - [`policy`]: buckets and rules, first match (the first rule whose bucket, role and path
//!   match decides, with its own limits; nothing matching is a refusal).
//! - [`post`]: presigned POST forms (key or prefix, media type, size range in the policy).
//! - [`sigv4`]: SigV4 query presigning, synchronous, on the workspace's HMAC and SHA-256 (why
//!   not a SigV4 crate: its module docs).
//!
//! # Threat model
//! - Keys and claims are attacker-influenced (a user may set their own `user_metadata`; a
//!   request names any key). Parsers never panic and refuse rather than repair: a repaired key
//!   would be signed for a different object than the one checked.

pub mod key;
pub mod policy;
pub mod post;
pub mod sigv4;
pub mod template;
