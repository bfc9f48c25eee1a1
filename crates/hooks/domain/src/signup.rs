//! The before-user-created policy: who may sign up.
//!
//! Checks run in this order and the first failure decides: anonymous sign-ups, provider
//! allow-list, IP deny-list, IP allow-list, e-mail domain deny-list, disposable domains,
//! e-mail domain allow-list. Domain lists cover subdomains. E-mail rules apply to users with
//! an e-mail address; use `allow_providers` to control phone or anonymous sign-ups.
//! With an IP allow-list, a request without a parseable `metadata.ip_address` is refused
//! (fail closed).

use std::fmt;

use portcullis_core::json::{JsonError, Strict};

use portcullis_core::Env;

use crate::domains::{DISPOSABLE_ASSET, DomainList, email_domain, matches_any, normalize_domain};
use crate::net::{Cidr, parse_ip};
use crate::payload::BeforeUserCreatedInput;

const DEFAULT_MESSAGE: &str = "Sign-up is not allowed for this account.";

/// Per-reason rejection messages.
#[derive(Clone, Debug, Default)]
struct Messages {
    anonymous: Option<String>,
    provider: Option<String>,
    ip: Option<String>,
    email_domain: Option<String>,
    disposable_domain: Option<String>,
}

/// Why a sign-up was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// Anonymous sign-ups are off.
    AnonymousDisabled,
    /// The provider is not on the allow-list.
    ProviderNotAllowed,
    /// The IP address is on the deny-list.
    IpDenied,
    /// The IP address is not on the allow-list, or unknown while an allow-list is set.
    IpNotAllowed,
    /// The e-mail domain is on the deny-list.
    EmailDomainDenied,
    /// The e-mail domain is a disposable-mail service.
    DisposableEmailDomain,
    /// The e-mail domain is not on the allow-list.
    EmailDomainNotAllowed,
}

impl RejectReason {
    /// A stable machine-readable code, for logs.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::AnonymousDisabled => "anonymous_disabled",
            Self::ProviderNotAllowed => "provider_not_allowed",
            Self::IpDenied => "ip_denied",
            Self::IpNotAllowed => "ip_not_allowed",
            Self::EmailDomainDenied => "email_domain_denied",
            Self::DisposableEmailDomain => "disposable_email_domain",
            Self::EmailDomainNotAllowed => "email_domain_not_allowed",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The outcome for one sign-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignupDecision {
    /// Let the user be created.
    Allow,
    /// Refuse, with the message for the end user.
    Reject {
        /// Why.
        reason: RejectReason,
        /// What the end user sees.
        message: String,
    },
}

/// The compiled sign-up policy. The default allows everyone.
#[derive(Clone, Debug, Default)]
pub struct SignupPolicy {
    message: Option<String>,
    allow_domains: Vec<String>,
    deny_domains: Vec<String>,
    disposable: Option<DomainList>,
    allow_providers: Vec<String>,
    allow_anonymous: bool,
    allow_ips: Vec<Cidr>,
    deny_ips: Vec<Cidr>,
    messages: Messages,
}

fn message(r: &mut Strict<'_>, key: &'static str) -> Result<Option<String>, JsonError> {
    match r.str(key)? {
        Some(text) if text.trim().is_empty() => {
            Err(JsonError::new(r.path_of(key), "messages must not be empty"))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

fn list<T>(
    r: &mut Strict<'_>,
    key: &'static str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, JsonError> {
    let at = r.path_of(key);
    r.strings(key)?
        .iter()
        .enumerate()
        .map(|(i, item)| parse(item).map_err(|e| JsonError::new(format!("{at}[{i}]"), e)))
        .collect()
}

impl SignupPolicy {
    /// A policy that allows everyone.
    #[must_use]
    pub fn allow_all() -> Self {
        Self {
            allow_anonymous: true,
            ..Self::default()
        }
    }

    /// Compiles `[before_user_created]`.
    pub(crate) fn read(mut r: Strict<'_>, host: &dyn Env) -> Result<Self, JsonError> {
        let messages = match r.object("messages")? {
            None => Messages::default(),
            Some(mut m) => {
                let messages = Messages {
                    anonymous: message(&mut m, "anonymous")?,
                    provider: message(&mut m, "provider")?,
                    ip: message(&mut m, "ip")?,
                    email_domain: message(&mut m, "email_domain")?,
                    disposable_domain: message(&mut m, "disposable_domain")?,
                };
                m.finish()?;
                messages
            }
        };
        let policy = Self {
            message: message(&mut r, "message")?,
            allow_domains: list(&mut r, "allow_email_domains", normalize_domain)?,
            deny_domains: list(&mut r, "deny_email_domains", normalize_domain)?,
            disposable: if r.bool("block_disposable_domains")?.unwrap_or(false) {
                let at = r.path_of("block_disposable_domains");
                let text = host.asset(DISPOSABLE_ASSET).ok_or_else(|| {
                    JsonError::new(
                        &at,
                        "the disposable-domain list is not shipped with this build",
                    )
                })?;
                Some(
                    DomainList::from_text(text)
                        .map_err(|e| JsonError::new(&at, format!("{DISPOSABLE_ASSET}: {e}")))?,
                )
            } else {
                None
            },
            allow_providers: list(&mut r, "allow_providers", |p| {
                let p = p.trim().to_ascii_lowercase();
                if p.is_empty() {
                    Err("empty provider name".to_owned())
                } else {
                    Ok(p)
                }
            })?,
            allow_anonymous: r.bool("allow_anonymous")?.unwrap_or(true),
            allow_ips: list(&mut r, "allow_ips", str::parse::<Cidr>)?,
            deny_ips: list(&mut r, "deny_ips", str::parse::<Cidr>)?,
            messages,
        };
        r.finish()?;
        Ok(policy)
    }

    fn reject(&self, reason: RejectReason) -> SignupDecision {
        let specific = match reason {
            RejectReason::AnonymousDisabled => &self.messages.anonymous,
            RejectReason::ProviderNotAllowed => &self.messages.provider,
            RejectReason::IpDenied | RejectReason::IpNotAllowed => &self.messages.ip,
            RejectReason::EmailDomainDenied | RejectReason::EmailDomainNotAllowed => {
                &self.messages.email_domain
            }
            RejectReason::DisposableEmailDomain => &self.messages.disposable_domain,
        };
        let message = specific
            .as_ref()
            .or(self.message.as_ref())
            .map_or(DEFAULT_MESSAGE, String::as_str)
            .to_owned();
        SignupDecision::Reject { reason, message }
    }

    fn provider_allowed(&self, provider: &str) -> bool {
        let provider = provider.to_ascii_lowercase();
        self.allow_providers
            .iter()
            .any(|p| *p == provider || (p == "sso" && provider.starts_with("sso:")))
    }

    /// Decides whether the user in `input` may be created.
    #[must_use]
    pub fn evaluate(&self, input: &BeforeUserCreatedInput) -> SignupDecision {
        let user = &input.user;
        if user.is_anonymous {
            if !self.allow_anonymous {
                return self.reject(RejectReason::AnonymousDisabled);
            }
        } else if !self.allow_providers.is_empty()
            && !user.provider().is_some_and(|p| self.provider_allowed(p))
        {
            return self.reject(RejectReason::ProviderNotAllowed);
        }

        if !self.allow_ips.is_empty() || !self.deny_ips.is_empty() {
            let ip = parse_ip(&input.metadata.ip_address);
            if let Some(ip) = ip
                && self.deny_ips.iter().any(|c| c.contains(ip))
            {
                return self.reject(RejectReason::IpDenied);
            }
            if !self.allow_ips.is_empty()
                && !ip.is_some_and(|ip| self.allow_ips.iter().any(|c| c.contains(ip)))
            {
                return self.reject(RejectReason::IpNotAllowed);
            }
        }

        if let Some(domain) = email_domain(&user.email) {
            if matches_any(&domain, &self.deny_domains) {
                return self.reject(RejectReason::EmailDomainDenied);
            }
            if self
                .disposable
                .as_ref()
                .is_some_and(|list| list.covers(&domain))
            {
                return self.reject(RejectReason::DisposableEmailDomain);
            }
            if !self.allow_domains.is_empty() && !matches_any(&domain, &self.allow_domains) {
                return self.reject(RejectReason::EmailDomainNotAllowed);
            }
        } else if !user.email.trim().is_empty() && !self.allow_domains.is_empty() {
            // An address we cannot parse cannot be on the allow-list.
            return self.reject(RejectReason::EmailDomainNotAllowed);
        }
        SignupDecision::Allow
    }
}
