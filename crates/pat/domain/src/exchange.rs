//! The RFC 8693 token-exchange request and the RFC 6749 §5.2 errors the token endpoint
//! answers with.

use crate::form::{Form, FormError};
use crate::scope::Scopes;

/// `grant_type` of a token exchange.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Our private subject token type for PATs (RFC 8693 §3 allows one).
pub const PAT_TOKEN_TYPE: &str = "urn:portcullis:params:oauth:token-type:pat";
/// The generic type, accepted as well: a PAT is an opaque access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// What may be requested: an access token, which is a JWT.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// An error of the token endpoint: an RFC 6749 §5.2 code and a fixed description (printable
/// ASCII without `"` or `\`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_scope`, `invalid_target`, `unsupported_grant_type`, ….
    pub code: &'static str,
    /// Why.
    pub description: &'static str,
}

impl OAuthError {
    /// `invalid_request` (a bad or unknown subject token is one too, RFC 8693 §2.2.2).
    #[must_use]
    pub const fn invalid_request(description: &'static str) -> Self {
        Self {
            code: "invalid_request",
            description,
        }
    }
}

/// A parsed exchange request. The subject token is not checked yet.
#[derive(Debug)]
pub struct ExchangeRequest<'a> {
    /// The PAT.
    pub subject_token: &'a str,
    /// The scope asked for (`None`: the PAT's own).
    pub scope: Option<Scopes>,
    /// `audience` values.
    pub audiences: Vec<&'a str>,
    /// `resource` values.
    pub resources: Vec<&'a str>,
    /// Whether a JWT type was asked for explicitly (the answer names the type asked for).
    pub issued_type: &'static str,
}

impl<'a> ExchangeRequest<'a> {
    /// Reads the form.
    ///
    /// # Errors
    /// The [`OAuthError`] to answer.
    pub fn parse(form: &'a Form<'a>) -> Result<Self, OAuthError> {
        match form.get("grant_type") {
            Some(GRANT_TYPE) => {}
            Some(_) => {
                return Err(OAuthError {
                    code: "unsupported_grant_type",
                    description: "only urn:ietf:params:oauth:grant-type:token-exchange is supported",
                });
            }
            None => return Err(OAuthError::invalid_request("grant_type is required")),
        }
        let subject_token = form
            .get("subject_token")
            .ok_or(OAuthError::invalid_request("subject_token is required"))?;
        match form.get("subject_token_type") {
            Some(PAT_TOKEN_TYPE | ACCESS_TOKEN_TYPE) => {}
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "subject_token_type must be urn:portcullis:params:oauth:token-type:pat",
                ));
            }
            None => {
                return Err(OAuthError::invalid_request(
                    "subject_token_type is required",
                ));
            }
        }
        if form.get("actor_token").is_some() || form.get("actor_token_type").is_some() {
            return Err(OAuthError::invalid_request(
                "delegation (actor_token) is not supported",
            ));
        }
        let issued_type = match form.get("requested_token_type") {
            None | Some(ACCESS_TOKEN_TYPE) => ACCESS_TOKEN_TYPE,
            Some(JWT_TOKEN_TYPE) => JWT_TOKEN_TYPE,
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "requested_token_type must be an access token or a JWT",
                ));
            }
        };
        let scope = form
            .get("scope")
            .map(Scopes::parse)
            .transpose()
            .map_err(|_| OAuthError {
                code: "invalid_scope",
                description: "scope names are [a-z0-9:._-], at most 64 characters",
            })?;
        Ok(Self {
            subject_token,
            scope,
            audiences: form.all("audience"),
            resources: form.all("resource"),
            issued_type,
        })
    }
}

/// The form of a token-endpoint body.
///
/// # Errors
/// `invalid_request` for bad encoding or a repeated parameter.
pub fn form(body: &str) -> Result<Form<'_>, OAuthError> {
    Form::parse(body, &["audience", "resource"]).map_err(|e| match e {
        FormError::Encoding => OAuthError::invalid_request("the body is not valid form encoding"),
        FormError::Repeated(_) => {
            OAuthError::invalid_request("a parameter is repeated (RFC 6749 section 3.2)")
        }
        FormError::TooMany => OAuthError::invalid_request("too many parameters"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<(), &'static str> {
        let f = form(body).map_err(|e| e.code)?;
        ExchangeRequest::parse(&f).map(|_| ()).map_err(|e| e.code)
    }

    #[test]
    fn requests() {
        let ok =
            format!("grant_type={GRANT_TYPE}&subject_token=x&subject_token_type={PAT_TOKEN_TYPE}");
        assert_eq!(parse(&ok), Ok(()));
        assert_eq!(
            parse(&format!("{ok}&scope=data:read&audience=a&audience=b")),
            Ok(())
        );
        assert_eq!(
            parse(&format!("{ok}&scope=data:read&scope=x")),
            Err("invalid_request")
        );
        assert_eq!(parse(&format!("{ok}&scope=BAD")), Err("invalid_scope"));
        assert_eq!(
            parse(&ok.replace("token-exchange", "password")),
            Err("unsupported_grant_type")
        );
        assert_eq!(
            parse(&ok.replace("subject_token=x&", "")),
            Err("invalid_request")
        );
        assert_eq!(
            parse(&ok.replace(PAT_TOKEN_TYPE, "urn:x")),
            Err("invalid_request")
        );
        assert_eq!(
            parse(&format!("{ok}&actor_token=y")),
            Err("invalid_request")
        );
        assert_eq!(
            parse(&format!(
                "{ok}&requested_token_type=urn:ietf:params:oauth:token-type:saml2"
            )),
            Err("invalid_request")
        );
        assert_eq!(parse("grant_type=%zz"), Err("invalid_request"));
        let body = format!("{ok}&requested_token_type={JWT_TOKEN_TYPE}");
        let f = form(&body).unwrap();
        assert_eq!(
            ExchangeRequest::parse(&f).unwrap().issued_type,
            JWT_TOKEN_TYPE
        );
    }

    #[test]
    fn descriptions_are_printable_ascii_without_quotes() {
        for d in [
            "only urn:ietf:params:oauth:grant-type:token-exchange is supported",
            "a parameter is repeated (RFC 6749 section 3.2)",
        ] {
            assert!(
                d.bytes()
                    .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
            );
        }
    }
}
