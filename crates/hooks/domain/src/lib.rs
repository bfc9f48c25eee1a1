//! The Supabase Auth hooks domain: what GoTrue sends, what it accepts back, and the policies
//! that decide the answers.
//!
//! # Design
//! - Sans-io: the service layer verifies the request, fetches what a policy asks for (the
//!   claims lookup statement) and passes it in. Nothing here touches a clock, a socket or
//!   JavaScript.
//! - Policies are declarative documents (JSON or TOML) compiled once at start-up into
//!   [`HooksPolicy`]; a mistake is a start-up error naming the key, not a surprise at sign-in.
//! - Parsing is tolerant exactly where GoTrue is loose (spec §2–§8) and strict where a
//!   mistake would be a security bug (configuration).
//!
//! # Threat model
//! - The payload is authenticated (Standard Webhooks) before it reaches this crate, but its
//!   `user_metadata` is user-controlled: the role mapping refuses to read it, and policies
//!   cannot write reserved claims (`sub`, `aud`, `exp`, …) nor map anyone to a role that
//!   bypasses row-level security (`service_role`, `postgres`, `supabase_*`).
//! - Whatever a policy does, the answer is checked against GoTrue's token schema, so a bad
//!   policy fails loudly in our logs instead of as an opaque 500 for the user.
//! - Sign-up checks fail closed where input is missing (an IP allow-list with no IP).

pub mod access_token;
pub mod attempts;
pub mod claims;
pub mod delivery;
mod delivery_policy;
pub mod domains;
pub mod email;
pub use portcullis_core::net;
pub mod path;
pub mod payload;
mod policy;
pub mod signup;
pub mod sms;
pub mod template;

pub use access_token::{AccessTokenError, AccessTokenPolicy, Applied};
pub use claims::{Claims, SchemaViolation, check_gotrue_schema};
pub use delivery_policy::{AfterUserCreatedPolicy, EmailPolicy, SmsPolicy};
pub use payload::{BeforeUserCreatedInput, CustomAccessTokenInput, Metadata, PayloadError, User};
pub use policy::{HooksPolicy, PolicyError};
pub use portcullis_core::json::Object;
pub use signup::{RejectReason, SignupDecision, SignupPolicy};
