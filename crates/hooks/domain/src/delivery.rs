//! Delivery providers, sans-io: the exact HTTP request each provider's API documents, and how
//! to read its answer. The service layer sends the requests, keeps the deadline and retries.
//!
//! | provider | request |
//! |---|---|
//! | Resend | `POST {base}/emails`, `Authorization: Bearer <key>`, `Idempotency-Key`, JSON |
//! | Postmark | `POST {base}/email`, `X-Postmark-Server-Token`, JSON (`From`, `To`, …, `MessageStream`) |
//! | Twilio | `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, Basic auth, form (`To`, `From` or `MessagingServiceSid`, `Body`) |
//! | Vonage | `POST {base}/sms/json`, form (`api_key`, `api_secret`, `from`, `to` without `+`, `text`) |
//!
//! Answers are classified into [`Outcome`]: sent, worth retrying (5xx, 429, throttling),
//! rejected because of the message (a bad address: the user should see it), or rejected
//! because of our configuration (bad key: try the next provider, alert the operator).

use std::fmt;

use portcullis_core::Secret;
use portcullis_core::encoding::base64_encode;
use portcullis_core::json::{Value, text};
use portcullis_core::outbound::{OutboundRequest, OutboundResponse, form_encode};

/// Where a message goes: the outbox for a consumer, or a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Channel {
    /// A row with status `queued` in the outbox, for a workflow to deliver.
    Outbox,
    /// Resend (e-mail).
    Resend,
    /// Postmark (e-mail).
    Postmark,
    /// Twilio Programmable Messaging (SMS).
    Twilio,
    /// Vonage SMS API (SMS).
    Vonage,
}

impl Channel {
    /// The name used in configuration and in the outbox's `delivery` column.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Outbox => "outbox",
            Self::Resend => "resend",
            Self::Postmark => "postmark",
            Self::Twilio => "twilio",
            Self::Vonage => "vonage",
        }
    }

    /// The channel named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Outbox,
            Self::Resend,
            Self::Postmark,
            Self::Twilio,
            Self::Vonage,
        ]
        .into_iter()
        .find(|c| c.name() == name)
    }

    /// Whether it delivers e-mail.
    #[must_use]
    pub const fn is_email(self) -> bool {
        matches!(self, Self::Outbox | Self::Resend | Self::Postmark)
    }

    /// Whether it delivers SMS.
    #[must_use]
    pub const fn is_sms(self) -> bool {
        matches!(self, Self::Outbox | Self::Twilio | Self::Vonage)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An e-mail ready to hand to a provider.
#[derive(Clone, Copy, Debug)]
pub struct OutgoingEmail<'a> {
    /// `Name <address>` or an address.
    pub from: &'a str,
    /// Optional reply address.
    pub reply_to: Option<&'a str>,
    /// The recipient.
    pub to: &'a str,
    /// One line.
    pub subject: &'a str,
    /// HTML body.
    pub html: &'a str,
    /// Plain-text body.
    pub text: &'a str,
    /// A tag for the provider's dashboards (the e-mail type).
    pub tag: &'a str,
    /// Stable per message (providers that support it drop duplicates).
    pub idempotency_key: &'a str,
}

/// An SMS ready to hand to a provider.
#[derive(Clone, Copy, Debug)]
pub struct OutgoingSms<'a> {
    /// E.164 with `+`.
    pub to: &'a str,
    /// The text.
    pub body: &'a str,
}

/// How a provider answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; the provider's message id.
    Sent {
        /// The provider's id for the message (`""` if it gave none).
        id: String,
    },
    /// A transient failure: retry if the deadline allows.
    Retry {
        /// What the provider said (for the outbox, never for the user).
        reason: String,
    },
    /// The message cannot be delivered as addressed (invalid or blocked recipient).
    Rejected {
        /// What the provider said.
        reason: String,
    },
    /// Our credentials or account are wrong: another provider may still work.
    Misconfigured {
        /// What the provider said.
        reason: String,
    },
}

const MAX_REASON: usize = 300;

fn reason(status: u16, detail: &str) -> String {
    let detail: String = detail
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_REASON)
        .collect();
    if detail.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {detail}")
    }
}

fn json_body(response: &OutboundResponse) -> serde_json::Map<String, Value> {
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(Value::Object(o)) => o,
        _ => serde_json::Map::new(),
    }
}

/// Status-code classification shared by the JSON APIs: 2xx handled by the caller.
fn by_status(status: u16, detail: &str, bad_recipient: bool) -> Outcome {
    let reason = reason(status, detail);
    match status {
        408 | 409 | 425 | 429 | 500..=599 => Outcome::Retry { reason },
        401 | 403 | 404 | 405 => Outcome::Misconfigured { reason },
        _ if bad_recipient => Outcome::Rejected { reason },
        _ => Outcome::Misconfigured { reason },
    }
}

/// Resend's e-mail API.
#[derive(Clone, Debug)]
pub struct Resend {
    /// `https://api.resend.com` unless overridden.
    pub base_url: String,
    /// `re_…`.
    pub api_key: Secret<String>,
}

impl Resend {
    /// The public API.
    pub const DEFAULT_URL: &'static str = "https://api.resend.com";

    /// `POST {base}/emails`.
    #[must_use]
    pub fn request(&self, email: &OutgoingEmail<'_>, timeout_ms: u32) -> OutboundRequest {
        let mut body = serde_json::json!({
            "from": email.from,
            "to": [email.to],
            "subject": email.subject,
            "html": email.html,
            "text": email.text,
            "tags": [{"name": "type", "value": email.tag}],
        });
        if let (Some(reply_to), Some(o)) = (email.reply_to, body.as_object_mut()) {
            o.insert("reply_to".into(), Value::String(reply_to.into()));
        }
        OutboundRequest {
            method: "POST",
            url: format!("{}/emails", self.base_url.trim_end_matches('/')),
            headers: vec![
                ("authorization", format!("Bearer {}", self.api_key.expose())),
                ("content-type", "application/json".into()),
                ("idempotency-key", email.idempotency_key.into()),
                ("user-agent", USER_AGENT.into()),
            ],
            body: body.to_string().into_bytes(),
            timeout_ms,
        }
    }

    /// 200 `{"id"}` is sent; 422/400 validation errors reject the message.
    #[must_use]
    pub fn outcome(response: &OutboundResponse) -> Outcome {
        let o = json_body(response);
        if (200..300).contains(&response.status) {
            return Outcome::Sent {
                id: text(&o, "id").to_owned(),
            };
        }
        // 409 covers concurrent requests with the same idempotency key: retry.
        let detail = format!("{} {}", text(&o, "name"), text(&o, "message"));
        by_status(
            response.status,
            detail.trim(),
            matches!(response.status, 400 | 422),
        )
    }
}

/// Postmark's e-mail API.
#[derive(Clone, Debug)]
pub struct Postmark {
    /// `https://api.postmarkapp.com` unless overridden.
    pub base_url: String,
    /// The server API token.
    pub server_token: Secret<String>,
    /// `outbound` (transactional) unless configured.
    pub message_stream: String,
}

impl Postmark {
    /// The public API.
    pub const DEFAULT_URL: &'static str = "https://api.postmarkapp.com";

    /// `POST {base}/email`.
    #[must_use]
    pub fn request(&self, email: &OutgoingEmail<'_>, timeout_ms: u32) -> OutboundRequest {
        let mut body = serde_json::json!({
            "From": email.from,
            "To": email.to,
            "Subject": email.subject,
            "HtmlBody": email.html,
            "TextBody": email.text,
            "Tag": email.tag,
            "MessageStream": self.message_stream,
        });
        if let (Some(reply_to), Some(o)) = (email.reply_to, body.as_object_mut()) {
            o.insert("ReplyTo".into(), Value::String(reply_to.into()));
        }
        OutboundRequest {
            method: "POST",
            url: format!("{}/email", self.base_url.trim_end_matches('/')),
            headers: vec![
                ("accept", "application/json".into()),
                ("content-type", "application/json".into()),
                (
                    "x-postmark-server-token",
                    self.server_token.expose().clone(),
                ),
                ("user-agent", USER_AGENT.into()),
            ],
            body: body.to_string().into_bytes(),
            timeout_ms,
        }
    }

    /// 200 with `ErrorCode` 0 is sent. 422 carries an `ErrorCode`: 300 (invalid address),
    /// 406 (inactive recipient) and friends reject the message; 10 (bad token), 400/401
    /// (sender signature) and 412 (pending approval) are configuration.
    #[must_use]
    pub fn outcome(response: &OutboundResponse) -> Outcome {
        let o = json_body(response);
        let code = o.get("ErrorCode").and_then(Value::as_u64).unwrap_or(0);
        if (200..300).contains(&response.status) && code == 0 {
            return Outcome::Sent {
                id: text(&o, "MessageID").to_owned(),
            };
        }
        let detail = format!("ErrorCode {code}: {}", text(&o, "Message"));
        if response.status == 422 {
            let reason = reason(422, &detail);
            return match code {
                300 | 406 | 415 | 417 | 419 => Outcome::Rejected { reason },
                _ => Outcome::Misconfigured { reason },
            };
        }
        by_status(response.status, &detail, false)
    }
}

/// Twilio Programmable Messaging.
#[derive(Clone, Debug)]
pub struct Twilio {
    /// `https://api.twilio.com` unless overridden.
    pub base_url: String,
    /// `AC…`: the account the messages are sent from.
    pub account_sid: String,
    /// Basic-auth user: the account SID or an API key SID (`SK…`).
    pub username: String,
    /// The auth token or the API key secret.
    pub password: Secret<String>,
    /// A phone number (`+1…`), alphanumeric sender, or a Messaging Service SID (`MG…`).
    pub from: String,
}

impl Twilio {
    /// The public API.
    pub const DEFAULT_URL: &'static str = "https://api.twilio.com";

    /// `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`.
    #[must_use]
    pub fn request(&self, sms: &OutgoingSms<'_>, timeout_ms: u32) -> OutboundRequest {
        let sender = if self.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let credentials = format!("{}:{}", self.username, self.password.expose());
        OutboundRequest {
            method: "POST",
            url: format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.base_url.trim_end_matches('/'),
                self.account_sid
            ),
            headers: vec![
                (
                    "authorization",
                    format!("Basic {}", base64_encode(credentials.as_bytes())),
                ),
                ("content-type", "application/x-www-form-urlencoded".into()),
                ("accept", "application/json".into()),
                ("user-agent", USER_AGENT.into()),
            ],
            body: form_encode(&[("To", sms.to), (sender, &self.from), ("Body", sms.body)])
                .into_bytes(),
            timeout_ms,
        }
    }

    /// 201 `{"sid"}` is sent. 400 with codes 21211 (invalid `To`), 21610 (opted out),
    /// 21612/21408 (unreachable/region), 21614 (not mobile) reject the message.
    #[must_use]
    pub fn outcome(response: &OutboundResponse) -> Outcome {
        let o = json_body(response);
        if (200..300).contains(&response.status) {
            return Outcome::Sent {
                id: text(&o, "sid").to_owned(),
            };
        }
        let code = o.get("code").and_then(Value::as_u64).unwrap_or(0);
        let detail = format!("code {code}: {}", text(&o, "message"));
        let recipient = matches!(code, 21211 | 21408 | 21610 | 21612 | 21614 | 21217);
        by_status(response.status, &detail, recipient)
    }
}

/// The Vonage (Nexmo) SMS API.
#[derive(Clone, Debug)]
pub struct Vonage {
    /// `https://rest.nexmo.com` unless overridden.
    pub base_url: String,
    /// The API key.
    pub api_key: String,
    /// The API secret.
    pub api_secret: Secret<String>,
    /// Sender id or number.
    pub from: String,
}

impl Vonage {
    /// The public API.
    pub const DEFAULT_URL: &'static str = "https://rest.nexmo.com";

    /// `POST {base}/sms/json`; `type=unicode` when the text is not plain ASCII.
    #[must_use]
    pub fn request(&self, sms: &OutgoingSms<'_>, timeout_ms: u32) -> OutboundRequest {
        let to = sms.to.trim_start_matches('+');
        let mut pairs = vec![
            ("api_key", self.api_key.as_str()),
            ("api_secret", self.api_secret.expose().as_str()),
            ("from", self.from.as_str()),
            ("to", to),
            ("text", sms.body),
        ];
        if !sms.body.is_ascii() {
            pairs.push(("type", "unicode"));
        }
        OutboundRequest {
            method: "POST",
            url: format!("{}/sms/json", self.base_url.trim_end_matches('/')),
            headers: vec![
                ("content-type", "application/x-www-form-urlencoded".into()),
                ("accept", "application/json".into()),
                ("user-agent", USER_AGENT.into()),
            ],
            body: form_encode(&pairs).into_bytes(),
            timeout_ms,
        }
    }

    /// HTTP 200 with `messages[0].status` `"0"` is sent. Status 1 (throttled) and 5 (internal)
    /// are worth retrying; 3 (invalid number), 6, 7 (barred), 29 (not allow-listed) and 33
    /// reject the message; the rest (credentials, account) are configuration.
    #[must_use]
    pub fn outcome(response: &OutboundResponse) -> Outcome {
        let o = json_body(response);
        if !(200..300).contains(&response.status) {
            return by_status(response.status, "", false);
        }
        let first = o
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|m| m.first())
            .and_then(Value::as_object);
        let Some(m) = first else {
            return Outcome::Retry {
                reason: reason(response.status, "no messages in the answer"),
            };
        };
        let status = text(m, "status");
        if status == "0" {
            return Outcome::Sent {
                id: text(m, "message-id").to_owned(),
            };
        }
        let reason = reason(
            response.status,
            &format!("status {status}: {}", text(m, "error-text")),
        );
        match status {
            "1" | "5" => Outcome::Retry { reason },
            "3" | "6" | "7" | "29" | "33" => Outcome::Rejected { reason },
            _ => Outcome::Misconfigured { reason },
        }
    }
}

/// Sent with every provider request.
pub const USER_AGENT: &str = concat!("portcullis/", env!("CARGO_PKG_VERSION"));

/// A configured e-mail provider.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum EmailProvider {
    /// Resend.
    Resend(Resend),
    /// Postmark.
    Postmark(Postmark),
}

impl EmailProvider {
    /// Its channel.
    #[must_use]
    pub const fn channel(&self) -> Channel {
        match self {
            Self::Resend(_) => Channel::Resend,
            Self::Postmark(_) => Channel::Postmark,
        }
    }

    /// The request for `email`.
    #[must_use]
    pub fn request(&self, email: &OutgoingEmail<'_>, timeout_ms: u32) -> OutboundRequest {
        match self {
            Self::Resend(p) => p.request(email, timeout_ms),
            Self::Postmark(p) => p.request(email, timeout_ms),
        }
    }

    /// How to read the answer.
    #[must_use]
    pub fn outcome(&self, response: &OutboundResponse) -> Outcome {
        match self {
            Self::Resend(_) => Resend::outcome(response),
            Self::Postmark(_) => Postmark::outcome(response),
        }
    }
}

/// A configured SMS provider.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SmsProvider {
    /// Twilio.
    Twilio(Twilio),
    /// Vonage.
    Vonage(Vonage),
}

impl SmsProvider {
    /// Its channel.
    #[must_use]
    pub const fn channel(&self) -> Channel {
        match self {
            Self::Twilio(_) => Channel::Twilio,
            Self::Vonage(_) => Channel::Vonage,
        }
    }

    /// The request for `sms`.
    #[must_use]
    pub fn request(&self, sms: &OutgoingSms<'_>, timeout_ms: u32) -> OutboundRequest {
        match self {
            Self::Twilio(p) => p.request(sms, timeout_ms),
            Self::Vonage(p) => p.request(sms, timeout_ms),
        }
    }

    /// How to read the answer.
    #[must_use]
    pub fn outcome(&self, response: &OutboundResponse) -> Outcome {
        match self {
            Self::Twilio(_) => Twilio::outcome(response),
            Self::Vonage(_) => Vonage::outcome(response),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> OutgoingEmail<'static> {
        OutgoingEmail {
            from: "Acme <auth@acme.test>",
            reply_to: Some("help@acme.test"),
            to: "ada@example.com",
            subject: "Confirm",
            html: "<p>Hi</p>",
            text: "Hi",
            tag: "signup",
            idempotency_key: "k1",
        }
    }

    fn header<'a>(r: &'a OutboundRequest, name: &str) -> &'a str {
        r.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn resp(status: u16, body: &str) -> OutboundResponse {
        OutboundResponse {
            headers: Vec::new(),
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn resend_request_is_the_documented_one() {
        let p = Resend {
            base_url: "https://api.resend.com/".into(),
            api_key: Secret::new("re_123".into()),
        };
        let r = p.request(&email(), 1500);
        assert_eq!(
            (r.method, r.url.as_str(), r.timeout_ms),
            ("POST", "https://api.resend.com/emails", 1500)
        );
        assert_eq!(header(&r, "authorization"), "Bearer re_123");
        assert_eq!(header(&r, "idempotency-key"), "k1");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["to"], serde_json::json!(["ada@example.com"]));
        assert_eq!(
            (body["from"].as_str(), body["reply_to"].as_str()),
            (Some("Acme <auth@acme.test>"), Some("help@acme.test"))
        );
        assert_eq!(body["tags"][0]["value"], "signup");
        assert!(
            !format!("{r:?}").contains("re_123"),
            "debug output redacts headers"
        );
    }

    #[test]
    fn resend_answers_are_classified() {
        assert_eq!(
            Resend::outcome(&resp(200, r#"{"id":"4ef9"}"#)),
            Outcome::Sent { id: "4ef9".into() }
        );
        assert!(
            matches!(Resend::outcome(&resp(422, r#"{"name":"validation_error","message":"Invalid `to` field."}"#)), Outcome::Rejected { reason } if reason == "HTTP 422: validation_error Invalid `to` field.")
        );
        assert!(matches!(
            Resend::outcome(&resp(401, "{}")),
            Outcome::Misconfigured { .. }
        ));
        assert!(matches!(
            Resend::outcome(&resp(429, "{}")),
            Outcome::Retry { .. }
        ));
        assert!(
            matches!(Resend::outcome(&resp(503, "upstream down")), Outcome::Retry { reason } if reason == "HTTP 503")
        );
    }

    #[test]
    fn postmark_request_and_answers() {
        let p = Postmark {
            base_url: "https://api.postmarkapp.com".into(),
            server_token: Secret::new("pm-tok".into()),
            message_stream: "outbound".into(),
        };
        let r = p.request(&email(), 900);
        assert_eq!(r.url, "https://api.postmarkapp.com/email");
        assert_eq!(header(&r, "x-postmark-server-token"), "pm-tok");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            (
                body["To"].as_str(),
                body["MessageStream"].as_str(),
                body["ReplyTo"].as_str()
            ),
            (
                Some("ada@example.com"),
                Some("outbound"),
                Some("help@acme.test")
            )
        );
        assert_eq!(
            Postmark::outcome(&resp(200, r#"{"ErrorCode":0,"MessageID":"b7bc"}"#)),
            Outcome::Sent { id: "b7bc".into() }
        );
        assert!(matches!(
            Postmark::outcome(&resp(
                422,
                r#"{"ErrorCode":300,"Message":"Invalid 'To' address"}"#
            )),
            Outcome::Rejected { .. }
        ));
        assert!(matches!(
            Postmark::outcome(&resp(422, r#"{"ErrorCode":10,"Message":"Bad token"}"#)),
            Outcome::Misconfigured { .. }
        ));
        assert!(matches!(
            Postmark::outcome(&resp(500, "")),
            Outcome::Retry { .. }
        ));
    }

    #[test]
    fn twilio_request_and_answers() {
        let p = Twilio {
            base_url: "https://api.twilio.com".into(),
            account_sid: "AC1".into(),
            username: "AC1".into(),
            password: Secret::new("tok".into()),
            from: "+15005550006".into(),
        };
        let r = p.request(
            &OutgoingSms {
                to: "+4915112345678",
                body: "Code: 123 & more",
            },
            1000,
        );
        assert_eq!(
            r.url,
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
        );
        assert_eq!(
            header(&r, "authorization"),
            format!("Basic {}", base64_encode(b"AC1:tok"))
        );
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "To=%2B4915112345678&From=%2B15005550006&Body=Code%3A+123+%26+more"
        );
        let mg = Twilio {
            from: "MG9".into(),
            ..p
        };
        assert!(
            String::from_utf8(
                mg.request(
                    &OutgoingSms {
                        to: "+1",
                        body: "x"
                    },
                    1
                )
                .body
            )
            .unwrap()
            .contains("MessagingServiceSid=MG9")
        );
        assert_eq!(
            Twilio::outcome(&resp(201, r#"{"sid":"SM1"}"#)),
            Outcome::Sent { id: "SM1".into() }
        );
        assert!(matches!(
            Twilio::outcome(&resp(
                400,
                r#"{"code":21211,"message":"Invalid 'To' Phone Number"}"#
            )),
            Outcome::Rejected { .. }
        ));
        assert!(matches!(
            Twilio::outcome(&resp(400, r#"{"code":21606,"message":"bad From"}"#)),
            Outcome::Misconfigured { .. }
        ));
        assert!(matches!(
            Twilio::outcome(&resp(401, r#"{"code":20003}"#)),
            Outcome::Misconfigured { .. }
        ));
    }

    #[test]
    fn vonage_request_and_answers() {
        let p = Vonage {
            base_url: "https://rest.nexmo.com".into(),
            api_key: "k".into(),
            api_secret: Secret::new("s".into()),
            from: "Acme".into(),
        };
        let r = p.request(
            &OutgoingSms {
                to: "+4915112345678",
                body: "Code 1",
            },
            1000,
        );
        assert_eq!(r.url, "https://rest.nexmo.com/sms/json");
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "api_key=k&api_secret=s&from=Acme&to=4915112345678&text=Code+1"
        );
        assert!(
            String::from_utf8(
                p.request(
                    &OutgoingSms {
                        to: "+1",
                        body: "Код"
                    },
                    1
                )
                .body
            )
            .unwrap()
            .ends_with("&type=unicode")
        );
        let ok =
            r#"{"message-count":"1","messages":[{"to":"49151","message-id":"0A00","status":"0"}]}"#;
        assert_eq!(
            Vonage::outcome(&resp(200, ok)),
            Outcome::Sent { id: "0A00".into() }
        );
        let status = |s: &str| {
            Vonage::outcome(&resp(
                200,
                &format!(r#"{{"messages":[{{"status":"{s}","error-text":"x"}}]}}"#),
            ))
        };
        assert!(matches!(status("1"), Outcome::Retry { .. }));
        assert!(matches!(status("3"), Outcome::Rejected { .. }));
        assert!(matches!(status("4"), Outcome::Misconfigured { .. }));
        assert!(matches!(
            Vonage::outcome(&resp(200, "not json")),
            Outcome::Retry { .. }
        ));
    }

    #[test]
    fn reasons_are_bounded_and_single_line() {
        let long = format!(r#"{{"name":"x","message":"{}\nline"}}"#, "a".repeat(1000));
        let Outcome::Rejected { reason } = Resend::outcome(&resp(422, &long)) else {
            panic!()
        };
        assert!(reason.len() <= MAX_REASON + 10 && !reason.contains('\n'));
    }

    #[test]
    fn channels_round_trip() {
        for c in [
            Channel::Outbox,
            Channel::Resend,
            Channel::Postmark,
            Channel::Twilio,
            Channel::Vonage,
        ] {
            assert_eq!(Channel::from_name(c.name()), Some(c));
        }
        assert!(
            Channel::Resend.is_email() && !Channel::Resend.is_sms() && Channel::Outbox.is_sms()
        );
    }
}
