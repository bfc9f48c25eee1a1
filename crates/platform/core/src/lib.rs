//! Sans-io primitives shared by every Portcullis function.
//!
//! # Design
//! Everything here is pure: no clock is read, no randomness drawn, no socket opened and no
//! JavaScript touched. What a computation needs from the outside world comes in as a value
//! ([`UnixTime`]) or through a small trait the runtime adapters implement ([`Clock`],
//! [`SecureRandom`], [`Env`], [`Db`]). That keeps every domain crate testable natively with
//! fixed inputs, and keeps `SystemTime::now()` (which panics on `wasm32-unknown-unknown`) out
//! of the code that runs at the edge.
//!
//! # Threat model
//! - Secrets ([`Secret`]) never print: `Debug` is redacted, there is no `Display`, equality is
//!   constant-time and the memory is zeroised on drop.
//! - Configuration errors ([`ConfigError`]) name the variable and the problem, never its value,
//!   so they are safe to log even when the variable holds a key.
//! - Decoders ([`encoding`]) are strict (canonical padding, no whitespace) and return errors,
//!   never panic, on attacker-controlled input.

mod config;
pub mod crypto;
pub mod encoding;
pub mod form;
pub mod json;
pub mod net;
pub mod outbound;
mod random;
mod secret;
pub mod sql;
mod time;

pub use config::{ConfigError, ConfigProblem, Env, MapEnv, parse_or};
pub use crypto::{Crypto, CryptoError, NoCrypto, SignatureAlg};
pub use outbound::{
    BaseUrlError, NoOutbound, Outbound, OutboundError, OutboundRequest, OutboundResponse,
    check_base_url,
};
pub use random::{RandomError, SecureRandom, random_array, uuid_v4};
pub use secret::Secret;
pub use sql::{Db, DbError, NoDb, Row, Statement};
pub use time::{Clock, FixedClock, TimeError, UnixTime};
