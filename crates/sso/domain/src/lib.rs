//! The SSO portal's OAuth 2.1 / OpenID Connect rules, sans-io (requirements and the security
//! checklist: `specs/sso-portal.md`; the numbers below are its items).
//!
//! # Design
//! - [`redirect`]: redirect URIs as clients register them (item 4: no fragment, wildcard,
//!   non-loopback `http` or script-capable scheme) and as an authorization request names them
//!   (item 2: byte-identical to a registered one; item 3: only loopback URIs may differ, and
//!   only in port). Also the portal's own return paths (item 9: relative, or an allow-listed
//!   origin).
//! - [`pkce`]: S256 only (items 12–15): a challenge is 43 base64url characters, a verifier 43–128
//!   unreserved characters, compared in constant time after hashing.
//! - [`authorize`]: an authorization request read from its query (items 1, 5, 6, 8, 12, 13, 24,
//!   28): duplicated parameters refused, errors split into those shown by the portal (before the
//!   client and redirect URI are known good) and those sent back to the redirect URI.
//! - [`claims`]: id_token and back-channel logout token payloads (item 45: `events`, iat +
//!   120 s, never a nonce; profile claims never replace protocol ones).
//! - [`clients`]: registered first-party apps (public or confidential with a secret's SHA-256,
//!   compared in constant time; exact redirect and post-logout URIs; CORS origins; lifetimes).
//! - [`discovery`]: the issuer (the prefix every endpoint lives under, item 43) and the
//!   metadata, listing only what is implemented (items 13, 23).
//! - [`token`]: token endpoint requests: form bodies only (item 34), each parameter once, HTTP
//!   Basic (both parts form-encoded, RFC 6749 §2.3.1) or a body secret but never both, errors in
//!   RFC 6749's JSON shape with 401 and `WWW-Authenticate` for Basic (items 37, 38).
//! - [`refresh`]: refresh tokens and their successors (items 39–42): a retry inside a bounded
//!   window gets the same successor, derived by HMAC from the parent so only hashes are stored
//!   (the rotation itself is one locked statement in the database).
//!
//! # Threat model
//! Every input here comes from a browser an attacker controls (query strings, form fields) or
//! from a client's registration. Parsers never panic and refuse rather than repair: a repaired
//! redirect URI would send a code somewhere nobody registered.

pub mod authorize;
pub mod claims;
pub mod clients;
pub mod discovery;
pub mod pkce;
pub mod redirect;
pub mod refresh;
pub mod token;
