//! The user behind a request, for every function that takes users' Supabase JWTs (`pat`,
//! `sign`, `sso`): the bearer token verified by the token layer, and the one mapping of its
//! failures to answers (spec §1: 401 `invalid_token` for every refusal, never a 5xx; 503 while
//! no key can be loaded; 500, logged, when the host could not run a check).

use std::rc::Rc;

use portcullis_jwt::{Refusal, VerifiedClaims, Verifier, VerifyError};

use crate::{Context, Level, Log, Request, Response, Status, error_response};

/// Why there is no user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer` credentials.
    Missing,
    /// The token was refused.
    Refused(Refusal),
    /// No key to check tokens with (the JWKS endpoint is down and nothing is cached).
    KeysUnavailable,
    /// The host could not run a signature check (logged).
    Crypto(String),
}

impl From<VerifyError> for AuthError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Refused(r) => Self::Refused(r),
            VerifyError::KeysUnavailable => Self::KeysUnavailable,
            VerifyError::Crypto(c) => Self::Crypto(c.detail),
            _ => Self::Crypto("verification failed".into()),
        }
    }
}

impl AuthError {
    /// The answer.
    #[must_use]
    pub fn into_response(self, log: &dyn Log) -> Response {
        match self {
            Self::Missing => {
                let mut r = error_response(
                    Status::UNAUTHORIZED,
                    "unauthorized",
                    "send the user's access token as Authorization: Bearer",
                );
                r.headers.append_static("www-authenticate", "Bearer");
                r
            }
            Self::Refused(refusal) => {
                let mut r =
                    error_response(Status::UNAUTHORIZED, "invalid_token", refusal.description());
                r.headers
                    .append("www-authenticate", refusal.www_authenticate());
                r
            }
            Self::KeysUnavailable => {
                log.log(
                    Level::Error,
                    "jwks_unavailable",
                    "no key to verify tokens with",
                );
                let mut r = error_response(
                    Status::SERVICE_UNAVAILABLE,
                    "keys_unavailable",
                    "the project's signing keys could not be loaded; try again shortly",
                );
                r.headers.append_static("retry-after", "30");
                r
            }
            Self::Crypto(detail) => {
                log.log(Level::Error, "crypto_failed", &detail);
                error_response(
                    Status::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "the function failed to process the request",
                )
            }
        }
    }
}

/// The verified claims of the request's bearer token (a JWKS refresh problem is logged, never
/// the token).
///
/// # Errors
/// [`AuthError`].
pub async fn authenticate<D: ?Sized, H: portcullis_core::Outbound>(
    verifier: &Verifier,
    ctx: &Context<'_, D, H>,
    request: &Request,
) -> Result<Rc<VerifiedClaims>, AuthError> {
    let token = request.bearer().ok_or(AuthError::Missing)?;
    let verified = verifier
        .verify(token, ctx.clock, ctx.http, ctx.crypto)
        .await;
    if let Some(problem) = verifier.take_problem() {
        ctx.log.log(Level::Warn, "jwks_refresh_failed", &problem);
    }
    Ok(verified?)
}
