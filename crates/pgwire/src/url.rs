//! `postgres://user:password@host:port/database?sslmode=…` connection URLs.

use std::fmt;

use portcullis_core::Secret;

use crate::ConnectConfig;

/// A parsed connection URL.
#[derive(Clone, Debug)]
pub struct ConnectUrl {
    /// Host name or address (brackets removed from IPv6).
    pub host: String,
    /// TCP port (default 5432).
    pub port: u16,
    /// Login.
    pub config: ConnectConfig,
    /// The `sslmode` query parameter, if any.
    pub sslmode: Option<String>,
}

/// The URL is malformed. The message never quotes the URL (it may hold a password).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UrlError(pub &'static str);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid postgres URL: {}", self.0)
    }
}

impl std::error::Error for UrlError {}

fn percent_decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(UrlError("bad percent-escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError("escape is not UTF-8"))
}

impl ConnectUrl {
    /// Parses a `postgres://` or `postgresql://` URL.
    ///
    /// # Errors
    /// [`UrlError`] describing the problem without the URL's text.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or(UrlError("must start with postgres:// or postgresql://"))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = authority
            .rsplit_once('@')
            .ok_or(UrlError("no user (expected user[:password]@host)"))?;
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (percent_decode(u)?, Some(percent_decode(p)?)),
            None => (percent_decode(userinfo)?, None),
        };
        if user.is_empty() {
            return Err(UrlError("empty user"));
        }
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or(UrlError("unclosed [ in host"))?;
            (h.to_owned(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (hostport.to_owned(), None),
            }
        };
        if host.is_empty() {
            return Err(UrlError("empty host"));
        }
        let port = match port {
            None | Some("") => 5432,
            Some(p) => p.parse().map_err(|_| UrlError("port is not a number"))?,
        };
        let database = match percent_decode(path)? {
            d if d.is_empty() => user.clone(),
            d => d,
        };
        let sslmode = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("sslmode="))
            .map(str::to_owned);
        Ok(Self {
            host,
            port,
            config: ConnectConfig {
                user,
                password: password.map(Secret::new),
                database,
                application_name: "portcullis".into(),
            },
            sslmode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_urls() {
        let u = ConnectUrl::parse(
            "postgresql://portcullis_fn:p%40ss%3Aword@127.0.0.1:54321/app?sslmode=disable",
        )
        .unwrap();
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, 54321);
        assert_eq!(u.config.user, "portcullis_fn");
        assert_eq!(u.config.password.as_ref().unwrap().expose(), "p@ss:word");
        assert_eq!(u.config.database, "app");
        assert_eq!(u.sslmode.as_deref(), Some("disable"));
    }

    #[test]
    fn defaults_and_ipv6() {
        let u = ConnectUrl::parse("postgres://me@[::1]").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.config.database.as_str()),
            ("::1", 5432, "me")
        );
        assert!(u.config.password.is_none());
    }

    #[test]
    fn errors_never_quote_the_url() {
        for bad in [
            "mysql://a:secretpw@h/d",
            "postgres://secretpw@/d",
            "postgres://:secretpw@h/d",
            "postgres://u:secretpw@h:port/d",
            "postgres://u:%zz@h/d",
            "postgres://h/d",
        ] {
            let e = ConnectUrl::parse(bad).unwrap_err();
            assert!(!e.to_string().contains("secretpw"), "{e}");
        }
    }
}
