//! `postgres://` URLs with libpq's meaning of the TLS parameters.

use std::fmt;
use std::path::PathBuf;

use portcullis_core::Secret;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plain text.
    Disable,
    /// Plain text, TLS if the server insists.
    Allow,
    /// TLS if the server offers it, without checking the certificate.
    Prefer,
    /// TLS; the certificate is checked only when `sslrootcert` is given (then as `verify-ca`).
    Require,
    /// TLS with a certificate signed by a trusted root; any host name.
    VerifyCa,
    /// TLS with a certificate signed by a trusted root, for this host name.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    /// The libpq name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// Which roots sign the server's certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCert {
    /// The PEM file named by `sslrootcert=PATH`.
    File(PathBuf),
    /// `sslrootcert=system`: the public web roots (Mozilla's list).
    System,
}

/// A parsed connection URL.
#[derive(Clone, Debug)]
pub struct ConnectUrl {
    /// Host name or address (brackets removed).
    pub host: String,
    /// Port (5432 by default).
    pub port: u16,
    /// Role.
    pub user: String,
    /// Password, if the URL has one.
    pub password: Option<Secret<String>>,
    /// Database (the user name by default).
    pub database: String,
    /// The TLS mode: the URL's, else `require` off loopback and `prefer` on it.
    pub sslmode: SslMode,
    /// Whether the URL named the mode (libpq's default would be `prefer`).
    pub sslmode_given: bool,
    /// `sslrootcert`.
    pub root_cert: Option<RootCert>,
    /// `application_name` (default `portcullis`).
    pub application_name: String,
}

/// Why a URL was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlError(pub String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid postgres URL: {}", self.0)
    }
}

impl std::error::Error for UrlError {}

fn err<T>(what: impl Into<String>) -> Result<T, UrlError> {
    Err(UrlError(what.into()))
}

fn percent_decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let Some(hex) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            else {
                return err("bad percent-escape");
            };
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError("escape is not UTF-8".into()))
}

/// Loopback hosts: TLS is not required there.
#[must_use]
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl ConnectUrl {
    /// Parses `postgres[ql]://user[:password]@host[:port][/db][?param=value&…]`. Known
    /// parameters: `sslmode`, `sslrootcert`, `application_name`; any other is an error (a
    /// misspelt `sslmode` must not silently fall back to another mode).
    ///
    /// # Errors
    /// [`UrlError`] naming the problem (never the password).
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let Some(rest) = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
        else {
            return err("must start with postgres:// or postgresql://");
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let Some((userinfo, hostport)) = authority.rsplit_once('@') else {
            return err("no user (expected user[:password]@host)");
        };
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (percent_decode(u)?, Some(percent_decode(p)?)),
            None => (percent_decode(userinfo)?, None),
        };
        if user.is_empty() {
            return err("empty user");
        }
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let Some((h, after)) = v6.split_once(']') else {
                return err("unclosed [ in host");
            };
            (h.to_owned(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (hostport.to_owned(), None),
            }
        };
        if host.is_empty() {
            return err("empty host");
        }
        let port = match port {
            None | Some("") => 5432,
            Some(p) => p
                .parse()
                .map_err(|_| UrlError("port is not a number".into()))?,
        };
        let database = match percent_decode(path)? {
            d if d.is_empty() => user.clone(),
            d => d,
        };
        let mut sslmode = None;
        let mut root_cert = None;
        let mut application_name = "portcullis".to_owned();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value)?;
            if matches!(key, "sslmode" | "sslrootcert" | "application_name")
                && query
                    .split('&')
                    .filter(|p| p.split_once('=').map_or(*p, |(k, _)| k) == key)
                    .count()
                    > 1
            {
                // libpq takes the last, other clients the first: refuse rather than guess.
                return err(format!("`{key}` is given more than once"));
            }
            match key {
                "sslmode" => {
                    sslmode = Some(SslMode::parse(&value).ok_or_else(|| {
                        UrlError(format!(
                            "sslmode={value} (expected disable, allow, prefer, require, verify-ca or verify-full)"
                        ))
                    })?);
                }
                "sslrootcert" => {
                    root_cert = Some(if value == "system" {
                        RootCert::System
                    } else {
                        RootCert::File(PathBuf::from(value))
                    });
                }
                "application_name" => application_name = value,
                other => return err(format!("unknown parameter `{other}`")),
            }
        }
        let default = if is_loopback(&host) {
            SslMode::Prefer
        } else {
            SslMode::Require
        };
        // As libpq: checking the chain but not the name is only worth something against a CA
        // of one's own (any public CA signs certificates for anyone's names).
        match (sslmode, &root_cert) {
            (Some(SslMode::VerifyCa), None) => {
                return err(
                    "sslmode=verify-ca needs sslrootcert=<the CA file that signed the server's certificate> (or use verify-full)",
                );
            }
            (Some(m), Some(RootCert::System)) if m != SslMode::VerifyFull => {
                return err(format!(
                    "sslmode={} may not be used with sslrootcert=system (public CAs sign anyone's names: use verify-full)",
                    m.as_str()
                ));
            }
            _ => {}
        }
        Ok(Self {
            sslmode_given: sslmode.is_some(),
            // libpq: sslrootcert=system implies verify-full unless a mode is given.
            sslmode: sslmode.unwrap_or(if root_cert == Some(RootCert::System) {
                SslMode::VerifyFull
            } else {
                default
            }),
            host,
            port,
            user,
            password: password.map(Secret::new),
            database,
            root_cert,
            application_name,
        })
    }

    /// The URL for `user` with `password` on the same server and database, TLS parameters
    /// kept and the mode spelt out (what the CLI prints for the functions).
    #[must_use]
    pub fn with_credentials(&self, user: &str, password: &str) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let enc = portcullis_core::outbound::percent_encode;
        let mut url = format!(
            "postgres://{}:{}@{host}:{}/{}?sslmode={}",
            enc(user),
            enc(password),
            self.port,
            enc(&self.database),
            self.sslmode.as_str()
        );
        match &self.root_cert {
            Some(RootCert::System) => url.push_str("&sslrootcert=system"),
            Some(RootCert::File(p)) => {
                url.push_str("&sslrootcert=");
                url.push_str(&enc(&p.to_string_lossy()));
            }
            None => {}
        }
        url
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
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 54321));
        assert_eq!(u.user, "portcullis_fn");
        assert_eq!(u.password.as_ref().unwrap().expose(), "p@ss:word");
        assert_eq!(u.database, "app");
        assert_eq!(u.sslmode, SslMode::Disable);
        let u = ConnectUrl::parse("postgres://u@[::1]/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.database.as_str()),
            ("::1", 5432, "u")
        );
    }

    #[test]
    fn tls_defaults_to_require_off_loopback() {
        let mode = |url: &str| ConnectUrl::parse(url).unwrap().sslmode;
        assert_eq!(mode("postgres://u@db.example.com/x"), SslMode::Require);
        assert_eq!(mode("postgres://u@localhost/x"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@127.0.0.2/x"), SslMode::Prefer);
        assert_eq!(
            mode("postgres://u@db.example.com/x?sslmode=verify-ca&sslrootcert=/ca.pem"),
            SslMode::VerifyCa
        );
        assert_eq!(
            mode("postgres://u@db.example.com/x?sslrootcert=system"),
            SslMode::VerifyFull
        );
        let u = ConnectUrl::parse("postgres://u@h/x?sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!(u.root_cert, Some(RootCert::File("/etc/ca.pem".into())));
    }

    #[test]
    fn weak_checks_and_ambiguous_modes_are_refused() {
        for (url, want) in [
            (
                "postgres://u:pw@db.example.com/x?sslmode=verify-ca",
                "needs sslrootcert",
            ),
            (
                "postgres://u:pw@db.example.com/x?sslmode=require&sslrootcert=system",
                "verify-full",
            ),
            (
                "postgres://u:pw@db.example.com/x?sslmode=verify-ca&sslrootcert=system",
                "verify-full",
            ),
            (
                "postgres://u:pw@db.example.com/x?sslmode=disable&sslmode=verify-full",
                "more than once",
            ),
            (
                "postgres://u:pw@db.example.com/x?sslrootcert=/a.pem&sslrootcert=/b.pem",
                "more than once",
            ),
        ] {
            let e = ConnectUrl::parse(url).unwrap_err().0;
            assert!(e.contains(want), "{url}: {e}");
            assert!(!e.contains("pw@"), "{e}");
        }
        let ok = ConnectUrl::parse("postgres://u@db.example.com/x?sslrootcert=system").unwrap();
        assert_eq!(ok.sslmode, SslMode::VerifyFull);
    }

    #[test]
    fn bad_urls_are_named_without_the_password() {
        for (url, want) in [
            ("mysql://u@h", "must start with"),
            ("postgres://h/db", "no user"),
            ("postgres://u:secret@h:x/db", "port"),
            (
                "postgres://u:secret@h/db?sslmode=verify_full",
                "sslmode=verify_full",
            ),
            (
                "postgres://u:secret@h/db?sslmdoe=require",
                "unknown parameter `sslmdoe`",
            ),
        ] {
            let e = ConnectUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(want) && !e.contains("secret"), "{url}: {e}");
        }
    }

    #[test]
    fn printed_urls_spell_out_the_mode() {
        let u = ConnectUrl::parse(
            "postgres://postgres:x@db.example.com:6543/postgres?sslrootcert=/ca.pem",
        )
        .unwrap();
        assert_eq!(
            u.with_credentials("portcullis_fn", "p@ss"),
            "postgres://portcullis_fn:p%40ss@db.example.com:6543/postgres?sslmode=require&sslrootcert=%2Fca.pem"
        );
    }
}
