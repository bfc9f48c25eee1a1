//! The client's address, from the one header the platform sets and the operator names
//! (`PORTCULLIS_CLIENT_IP_HEADER`): no header is trusted by default, since any client can send
//! any of them. Shared by pat (IP allow-lists) and sso (login throttling).

use std::net::IpAddr;

use portcullis_core::{ConfigError, Env};

use crate::Request;

/// The request header the platform sets to the client's address (`cf-connecting-ip` on
/// Cloudflare; `x-forwarded-for`, rightmost entry, behind a proxy that appends it). Unset: no
/// header is trusted.
pub const ENV_CLIENT_IP_HEADER: &str = "PORTCULLIS_CLIENT_IP_HEADER";

/// The headers a client address may come from.
pub const CLIENT_IP_HEADERS: [&str; 3] = ["cf-connecting-ip", "x-forwarded-for", "x-real-ip"];

/// Reads which header to trust (one of [`CLIENT_IP_HEADERS`]; `None`: none).
///
/// # Errors
/// [`ConfigError`] for any other value.
pub fn header_from_env(env: &dyn Env) -> Result<Option<&'static str>, ConfigError> {
    match env.var(ENV_CLIENT_IP_HEADER) {
        None => Ok(None),
        Some(h) => CLIENT_IP_HEADERS
            .into_iter()
            .find(|c| c.eq_ignore_ascii_case(h.trim()))
            .map(Some)
            .ok_or_else(|| {
                ConfigError::invalid(
                    ENV_CLIENT_IP_HEADER,
                    "one of cf-connecting-ip, x-forwarded-for, x-real-ip",
                )
            }),
    }
}

/// The client's address from `header`. For `x-forwarded-for` the rightmost entry counts: the
/// one the nearest proxy added (the leftmost is whatever the client sent). An IPv4 client seen
/// through IPv6 (`::ffff:a.b.c.d`) is its IPv4 address.
#[must_use]
pub fn client_ip(header: Option<&'static str>, request: &Request) -> Option<IpAddr> {
    let header = header?;
    let value = request.headers.get(header)?;
    let entry = if header == "x-forwarded-for" {
        value.rsplit(',').next()?
    } else {
        value
    };
    entry
        .trim()
        .parse::<IpAddr>()
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;
    use portcullis_core::MapEnv;

    #[test]
    fn only_the_named_header_counts_and_its_rightmost_entry() {
        let env = MapEnv::from_pairs([(ENV_CLIENT_IP_HEADER, "X-Forwarded-For")]);
        let header = header_from_env(&env).unwrap_or_default();
        assert_eq!(header, Some("x-forwarded-for"));
        let r = Request::new(Method::Get, "/")
            .with_header("x-forwarded-for", "1.2.3.4, 10.0.0.1")
            .with_header("x-real-ip", "9.9.9.9");
        assert_eq!(client_ip(header, &r), "10.0.0.1".parse().ok());
        assert_eq!(client_ip(None, &r), None);
        let mapped = Request::new(Method::Get, "/").with_header("x-real-ip", "::ffff:1.2.3.4");
        assert_eq!(
            client_ip(Some("x-real-ip"), &mapped),
            "1.2.3.4".parse().ok()
        );
        let bad = MapEnv::from_pairs([(ENV_CLIENT_IP_HEADER, "forwarded")]);
        assert!(header_from_env(&bad).is_err());
    }
}
