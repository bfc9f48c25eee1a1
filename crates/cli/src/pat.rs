//! `portcullis pat create | list | rotate | revoke | exchange`: the pat function's API from a
//! terminal. Management calls carry the user's Supabase access token (from an environment
//! variable: never an argument, so it stays out of shell history and `ps`); `exchange` carries
//! a PAT the same way and prints the short-lived JWT for scripts.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::deploy::agent;

/// The deployment and where credentials come from.
#[derive(Args)]
pub(crate) struct Target {
    /// The pat function's base URL (…/functions/v1/portcullis-pat).
    #[arg(long, value_name = "URL", env = "PORTCULLIS_PAT_URL")]
    url: String,
    /// The project's anon (publishable) key, sent as `apikey` (Supabase's gateway wants it).
    #[arg(long, value_name = "VAR", default_value = "SUPABASE_ANON_KEY")]
    apikey_env: String,
}

#[derive(Subcommand)]
pub(crate) enum Pat {
    /// Create a token; prints it (shown once) on standard output, its details on standard error.
    #[command(after_help = "Examples:
  export PORTCULLIS_USER_JWT=…   # the signed-in user's access token
  portcullis pat create --url https://<ref>.supabase.co/functions/v1/portcullis-pat --name ci --scope data:read --expires-in 30d")]
    Create {
        #[command(flatten)]
        target: Target,
        /// The user's access token is read from this variable.
        #[arg(long, value_name = "VAR", default_value = "PORTCULLIS_USER_JWT")]
        jwt_env: String,
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// A scope (repeat for several).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Lifetime: seconds, or with a unit (`90m`, `12h`, `30d`).
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        /// An address or CIDR block it may be used from (repeat for several).
        #[arg(long = "allowed-ip", value_name = "CIDR")]
        allowed_ips: Vec<String>,
    },
    /// List the user's tokens (never their secrets).
    #[command(after_help = "Examples:
  portcullis pat list --url https://<ref>.supabase.co/functions/v1/portcullis-pat")]
    List {
        #[command(flatten)]
        target: Target,
        /// The user's access token is read from this variable.
        #[arg(long, value_name = "VAR", default_value = "PORTCULLIS_USER_JWT")]
        jwt_env: String,
    },
    /// Replace a token with a new one; the old one keeps working for the overlap.
    #[command(after_help = "Examples:
  portcullis pat rotate 5d1c…-… --overlap 1h --url https://<ref>.supabase.co/functions/v1/portcullis-pat")]
    Rotate {
        /// The token's id (from `pat list`).
        id: String,
        #[command(flatten)]
        target: Target,
        /// The user's access token is read from this variable.
        #[arg(long, value_name = "VAR", default_value = "PORTCULLIS_USER_JWT")]
        jwt_env: String,
        /// How long the old token stays valid (default: revoked at once).
        #[arg(long, value_name = "DURATION", default_value = "0")]
        overlap: String,
    },
    /// Revoke a token now (idempotent).
    #[command(after_help = "Examples:
  portcullis pat revoke 5d1c…-… --url https://<ref>.supabase.co/functions/v1/portcullis-pat")]
    Revoke {
        /// The token's id (from `pat list`).
        id: String,
        #[command(flatten)]
        target: Target,
        /// The user's access token is read from this variable.
        #[arg(long, value_name = "VAR", default_value = "PORTCULLIS_USER_JWT")]
        jwt_env: String,
    },
    /// Exchange a PAT for a short-lived access token (RFC 8693); prints the JWT.
    #[command(after_help = "Examples:
  export SUPABASE_ACCESS_TOKEN=\"$(portcullis pat exchange --url https://<ref>.supabase.co/functions/v1/portcullis-pat)\"
  portcullis pat exchange --token-env MY_PAT --scope data:read --json")]
    Exchange {
        #[command(flatten)]
        target: Target,
        /// The PAT is read from this variable.
        #[arg(long, value_name = "VAR", default_value = "PORTCULLIS_PAT")]
        token_env: String,
        /// Narrow the scope.
        #[arg(long)]
        scope: Option<String>,
        /// Print the whole answer as JSON instead of the token alone.
        #[arg(long)]
        json: bool,
    },
}

fn env(var: &str, what: &str) -> Result<String, String> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{what}: environment variable {var} is not set"))
}

/// `30`, `90s`, `15m`, `12h`, `30d` as seconds.
pub(crate) fn duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (seconds, or 90m, 12h, 30d)"))?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("`{text}`: the unit is s, m, h or d")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too long"))
}

struct Answer {
    status: u16,
    body: Value,
}

fn call(
    target: &Target,
    method: &str,
    path: &str,
    bearer: &str,
    body: Option<(&str, String)>,
) -> Result<Answer, String> {
    let url = format!("{}{path}", target.url.trim_end_matches('/'));
    portcullis_core::check_base_url(&target.url).map_err(|e| format!("--url {e}"))?;
    let agent = agent();
    let apikey = std::env::var(&target.apikey_env).ok();
    let auth = format!("Bearer {bearer}");
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut r = agent.get(&url).header("authorization", &auth);
            if let Some(k) = &apikey {
                r = r.header("apikey", k);
            }
            r.call()
        }
        ("DELETE", _) => {
            let mut r = agent.delete(&url).header("authorization", &auth);
            if let Some(k) = &apikey {
                r = r.header("apikey", k);
            }
            r.call()
        }
        (_, Some((content_type, body))) => {
            let mut r = agent
                .post(&url)
                .header("authorization", &auth)
                .header("content-type", content_type);
            if let Some(k) = &apikey {
                r = r.header("apikey", k);
            }
            r.send(body.as_bytes())
        }
        (_, None) => return Err("internal: POST without a body".into()),
    }
    .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Answer { status, body })
}

fn failure(a: &Answer) -> String {
    let text = |k: &str| a.body.get(k).and_then(Value::as_str).unwrap_or_default();
    let message = [text("message"), text("error_description")].concat();
    format!("HTTP {} {}: {message}", a.status, text("error"))
}

pub(crate) fn run(command: Pat) -> Result<(), String> {
    match command {
        Pat::Create {
            target,
            jwt_env,
            name,
            scopes,
            expires_in,
            allowed_ips,
        } => {
            let jwt = env(&jwt_env, "--jwt-env")?;
            let mut body = serde_json::Map::new();
            body.insert("name".into(), json!(name));
            body.insert("scopes".into(), json!(scopes));
            if let Some(e) = expires_in {
                let secs = duration(&e).map_err(|e| format!("--expires-in {e}"))?;
                body.insert("expires_in".into(), json!(secs));
            }
            if !allowed_ips.is_empty() {
                body.insert("allowed_ips".into(), json!(allowed_ips));
            }
            let body = Value::Object(body);
            let a = call(
                &target,
                "POST",
                "/tokens",
                &jwt,
                Some(("application/json", body.to_string())),
            )?;
            if a.status != 201 {
                return Err(failure(&a));
            }
            let get = |k: &str| a.body.get(k).cloned().unwrap_or(Value::Null);
            eprintln!(
                "created {} ({}), scopes {}, expires {}: store it now, it is not shown again",
                get("id"),
                get("hint"),
                get("scopes"),
                get("expires_at")
            );
            println!("{}", get("token").as_str().unwrap_or_default());
            Ok(())
        }
        Pat::List { target, jwt_env } => {
            let jwt = env(&jwt_env, "--jwt-env")?;
            let a = call(&target, "GET", "/tokens", &jwt, None)?;
            if a.status != 200 {
                return Err(failure(&a));
            }
            let tokens = a
                .body
                .get("tokens")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            println!(
                "{:<36}  {:<20}  {:<8}  {:<22}  {:>5}  SCOPES",
                "ID", "NAME", "STATUS", "EXPIRES", "USES"
            );
            for t in tokens {
                let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("-").to_owned();
                let scopes: Vec<String> = t
                    .get("scopes")
                    .and_then(Value::as_array)
                    .map(|v| {
                        v.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                println!(
                    "{:<36}  {:<20}  {:<8}  {:<22}  {:>5}  {}",
                    s("id"),
                    s("name").chars().take(20).collect::<String>(),
                    s("status"),
                    s("expires_at").chars().take(22).collect::<String>(),
                    t.get("use_count").and_then(Value::as_u64).unwrap_or(0),
                    scopes.join(" ")
                );
            }
            Ok(())
        }
        Pat::Rotate {
            id,
            target,
            jwt_env,
            overlap,
        } => {
            let jwt = env(&jwt_env, "--jwt-env")?;
            let overlap = duration(&overlap).map_err(|e| format!("--overlap {e}"))?;
            let a = call(
                &target,
                "POST",
                &format!("/tokens/{}/rotate", urlencode(&id)),
                &jwt,
                Some((
                    "application/json",
                    json!({ "overlap_seconds": overlap }).to_string(),
                )),
            )?;
            if a.status != 200 {
                return Err(failure(&a));
            }
            let get = |k: &str| a.body.get(k).cloned().unwrap_or(Value::Null);
            eprintln!(
                "rotated {id} to {}; the old token works until {}",
                get("id"),
                a.body
                    .get("replaces")
                    .and_then(|r| r.get("valid_until"))
                    .cloned()
                    .unwrap_or(Value::Null)
            );
            println!("{}", get("token").as_str().unwrap_or_default());
            Ok(())
        }
        Pat::Revoke {
            id,
            target,
            jwt_env,
        } => {
            let jwt = env(&jwt_env, "--jwt-env")?;
            let a = call(
                &target,
                "DELETE",
                &format!("/tokens/{}", urlencode(&id)),
                &jwt,
                None,
            )?;
            if a.status != 204 {
                return Err(failure(&a));
            }
            eprintln!("revoked {id}");
            Ok(())
        }
        Pat::Exchange {
            target,
            token_env,
            scope,
            json,
        } => {
            let pat = env(&token_env, "--token-env")?;
            let mut form = format!(
                "grant_type={}&subject_token={}&subject_token_type={}",
                urlencode("urn:ietf:params:oauth:grant-type:token-exchange"),
                urlencode(&pat),
                urlencode("urn:portcullis:params:oauth:token-type:pat")
            );
            if let Some(s) = scope {
                form.push_str("&scope=");
                form.push_str(&urlencode(&s));
            }
            let url = format!("{}/token", target.url.trim_end_matches('/'));
            portcullis_core::check_base_url(&target.url).map_err(|e| format!("--url {e}"))?;
            let mut request = agent()
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded");
            let apikey = std::env::var(&target.apikey_env).ok();
            if let Some(k) = &apikey {
                request = request.header("apikey", k);
            }
            let mut response = request
                .send(form.as_bytes())
                .map_err(|e| format!("{url}: {e}"))?;
            let status = response.status().as_u16();
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let a = Answer {
                status,
                body: serde_json::from_str(&text).unwrap_or(Value::Null),
            };
            if status != 200 {
                return Err(failure(&a));
            }
            if json {
                println!("{}", a.body);
            } else {
                println!(
                    "{}",
                    a.body
                        .get("access_token")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30"), Ok(30));
        assert_eq!(duration("90m"), Ok(5400));
        assert_eq!(duration("12h"), Ok(43_200));
        assert_eq!(duration("30d"), Ok(2_592_000));
        assert!(duration("1w").is_err());
        assert!(duration("x").is_err());
        assert!(duration("").is_err());
    }

    #[test]
    fn encoding() {
        assert_eq!(urlencode("a b:c/é"), "a%20b%3Ac%2F%C3%A9");
    }
}
