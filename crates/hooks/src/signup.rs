//! The before-user-created policy: who may sign up.
//!
//! Checks run in this order and the first failure decides: anonymous sign-ups, provider
//! allow-list, IP deny-list, IP allow-list, e-mail domain deny-list, disposable domains,
//! e-mail domain allow-list. Domain lists cover subdomains. E-mail rules apply to users with
//! an e-mail address; use `allow_providers` to control phone or anonymous sign-ups.
//! With an IP allow-list, a request without a parseable `metadata.ip_address` is refused
//! (fail closed).

use std::fmt;

use serde::Deserialize;

use crate::domains::{email_domain, is_disposable, matches_any, normalize_domain};
use crate::net::{Cidr, parse_ip};
use crate::payload::BeforeUserCreatedInput;
use crate::policy::PolicyError;

const DEFAULT_MESSAGE: &str = "Sign-up is not allowed for this account.";

/// `[before_user_created]` as written by the user.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct SignupDoc {
    message: Option<String>,
    allow_email_domains: Vec<String>,
    deny_email_domains: Vec<String>,
    block_disposable_domains: bool,
    allow_providers: Vec<String>,
    allow_anonymous: Option<bool>,
    allow_ips: Vec<String>,
    deny_ips: Vec<String>,
    messages: MessagesDoc,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct MessagesDoc {
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
    block_disposable: bool,
    allow_providers: Vec<String>,
    allow_anonymous: bool,
    allow_ips: Vec<Cidr>,
    deny_ips: Vec<Cidr>,
    messages: MessagesDoc,
}

fn domains(list: &[String], at: &str) -> Result<Vec<String>, PolicyError> {
    list.iter()
        .enumerate()
        .map(|(i, d)| normalize_domain(d).map_err(|e| PolicyError::new(&format!("{at}[{i}]"), e)))
        .collect()
}

fn cidrs(list: &[String], at: &str) -> Result<Vec<Cidr>, PolicyError> {
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            c.parse()
                .map_err(|e| PolicyError::new(&format!("{at}[{i}]"), e))
        })
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

    pub(crate) fn compile(doc: SignupDoc) -> Result<Self, PolicyError> {
        const AT: &str = "before_user_created";
        let non_empty = |m: &Option<String>, at: &str| match m {
            Some(text) if text.trim().is_empty() => Err(PolicyError::new(
                &format!("{AT}.{at}"),
                "messages must not be empty",
            )),
            _ => Ok(()),
        };
        non_empty(&doc.message, "message")?;
        for (m, at) in [
            (&doc.messages.anonymous, "messages.anonymous"),
            (&doc.messages.provider, "messages.provider"),
            (&doc.messages.ip, "messages.ip"),
            (&doc.messages.email_domain, "messages.email_domain"),
            (
                &doc.messages.disposable_domain,
                "messages.disposable_domain",
            ),
        ] {
            non_empty(m, at)?;
        }
        let allow_providers = doc
            .allow_providers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let p = p.trim().to_ascii_lowercase();
                if p.is_empty() {
                    Err(PolicyError::new(
                        &format!("{AT}.allow_providers[{i}]"),
                        "empty provider name",
                    ))
                } else {
                    Ok(p)
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            allow_domains: domains(
                &doc.allow_email_domains,
                &format!("{AT}.allow_email_domains"),
            )?,
            deny_domains: domains(&doc.deny_email_domains, &format!("{AT}.deny_email_domains"))?,
            block_disposable: doc.block_disposable_domains,
            allow_providers,
            allow_anonymous: doc.allow_anonymous.unwrap_or(true),
            allow_ips: cidrs(&doc.allow_ips, &format!("{AT}.allow_ips"))?,
            deny_ips: cidrs(&doc.deny_ips, &format!("{AT}.deny_ips"))?,
            message: doc.message,
            messages: doc.messages,
        })
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
            if self.block_disposable && is_disposable(&domain) {
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
