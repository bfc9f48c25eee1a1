//! Provider credentials, read from secrets only for the channels the policy uses.
//!
//! | variable | for |
//! |---|---|
//! | `PORTCULLIS_RESEND_API_KEY` | Resend |
//! | `PORTCULLIS_POSTMARK_SERVER_TOKEN` | Postmark |
//! | `PORTCULLIS_TWILIO_ACCOUNT_SID`, `PORTCULLIS_TWILIO_AUTH_TOKEN`, `PORTCULLIS_TWILIO_FROM` (number, sender id or `MG…` service), optional `PORTCULLIS_TWILIO_API_KEY_SID` (then the token is the key's secret) | Twilio |
//! | `PORTCULLIS_VONAGE_API_KEY`, `PORTCULLIS_VONAGE_API_SECRET`, `PORTCULLIS_VONAGE_FROM` | Vonage |
//! | `PORTCULLIS_<PROVIDER>_URL` | another API base (tests, regional endpoints): `https://`, or `http://` on loopback only |

use portcullis_core::{ConfigError, ConfigProblem, Env, Secret, check_base_url};
use portcullis_hooks::HooksPolicy;
use portcullis_hooks::delivery::{
    Channel, EmailProvider, Postmark, Resend, SmsProvider, Twilio, Vonage,
};

/// Configured providers.
#[derive(Debug, Default)]
pub struct Providers {
    email: Vec<EmailProvider>,
    sms: Vec<SmsProvider>,
}

fn required(env: &dyn Env, name: &str) -> Result<String, ConfigError> {
    env.var(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConfigError::new(name, ConfigProblem::Missing))
}

fn secret(env: &dyn Env, name: &str) -> Result<Secret<String>, ConfigError> {
    let value = required(env, name)?;
    if value.chars().any(char::is_control) {
        return Err(ConfigError::invalid(name, "contains control characters"));
    }
    Ok(Secret::new(value))
}

/// The API base for `provider`: the default, or an override that cannot leak a key in clear
/// text to anything but this machine ([`check_base_url`]).
fn base_url(env: &dyn Env, provider: &str, default: &str) -> Result<String, ConfigError> {
    let name = format!("PORTCULLIS_{provider}_URL");
    match env.var(&name) {
        None => Ok(default.to_owned()),
        Some(url) => check_base_url(&url).map_err(|e| ConfigError::invalid(&name, e.to_string())),
    }
}

impl Providers {
    /// Reads the credentials of every provider `policy` uses.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first missing or invalid variable.
    pub fn from_env(env: &dyn Env, policy: &HooksPolicy) -> Result<Self, ConfigError> {
        let mut out = Self::default();
        for channel in policy.send_email.all_channels() {
            match channel {
                Channel::Resend => out.email.push(EmailProvider::Resend(Resend {
                    base_url: base_url(env, "RESEND", Resend::DEFAULT_URL)?,
                    api_key: secret(env, "PORTCULLIS_RESEND_API_KEY")?,
                })),
                Channel::Postmark => out.email.push(EmailProvider::Postmark(Postmark {
                    base_url: base_url(env, "POSTMARK", Postmark::DEFAULT_URL)?,
                    server_token: secret(env, "PORTCULLIS_POSTMARK_SERVER_TOKEN")?,
                    message_stream: policy.send_email.postmark_message_stream.clone(),
                })),
                _ => {}
            }
        }
        for channel in policy.send_sms.all_channels() {
            match channel {
                Channel::Twilio => {
                    let account_sid = required(env, "PORTCULLIS_TWILIO_ACCOUNT_SID")?;
                    if !account_sid.starts_with("AC")
                        || !account_sid.bytes().all(|b| b.is_ascii_alphanumeric())
                    {
                        return Err(ConfigError::invalid(
                            "PORTCULLIS_TWILIO_ACCOUNT_SID",
                            "expected AC followed by letters and digits",
                        ));
                    }
                    let username = env
                        .var("PORTCULLIS_TWILIO_API_KEY_SID")
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| account_sid.clone());
                    out.sms.push(SmsProvider::Twilio(Twilio {
                        base_url: base_url(env, "TWILIO", Twilio::DEFAULT_URL)?,
                        account_sid,
                        username,
                        password: secret(env, "PORTCULLIS_TWILIO_AUTH_TOKEN")?,
                        from: required(env, "PORTCULLIS_TWILIO_FROM")?,
                    }));
                }
                Channel::Vonage => out.sms.push(SmsProvider::Vonage(Vonage {
                    base_url: base_url(env, "VONAGE", Vonage::DEFAULT_URL)?,
                    api_key: required(env, "PORTCULLIS_VONAGE_API_KEY")?,
                    api_secret: secret(env, "PORTCULLIS_VONAGE_API_SECRET")?,
                    from: required(env, "PORTCULLIS_VONAGE_FROM")?,
                })),
                _ => {}
            }
        }
        Ok(out)
    }

    /// The e-mail provider for `channel`.
    #[must_use]
    pub fn email(&self, channel: Channel) -> Option<&EmailProvider> {
        self.email.iter().find(|p| p.channel() == channel)
    }

    /// The SMS provider for `channel`.
    #[must_use]
    pub fn sms(&self, channel: Channel) -> Option<&SmsProvider> {
        self.sms.iter().find(|p| p.channel() == channel)
    }
}
