//! `POST /github/secret-scanning`: GitHub's partner protocol. The signature is checked before
//! anything else is read; every reported token of ours is revoked, the leak recorded and the
//! owner's e-mail queued in one statement; the answer labels each match for GitHub.

use std::cell::RefCell;

use portcullis_core::encoding::hex;
use portcullis_core::{Db, Outbound, OutboundRequest, SignatureAlg, Statement};
use portcullis_pat::github::{self, Match};
use portcullis_pat::token;
use portcullis_service::{Context, Level, Request, Response, Status, json_response};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{Pat, PatError, col, pg_array as text_array};

/// Keys are reused this long (spec: 30 min to 1 day).
const KEYS_TTL_MS: u64 = 3_600_000;
/// A failed fetch is retried after this long.
const REFETCH_MS: u64 = 30_000;
/// An unknown key identifier refetches a list this old at most (anyone can send one, and
/// GitHub allows 60 unauthenticated requests an hour per address: at most 12 an hour per
/// instance here, so a flood of made-up identifiers cannot spend the quota a real rotation
/// needs).
const UNKNOWN_ID_REFETCH_MS: u64 = 300_000;

/// GitHub's keys, cached per instance.
#[derive(Debug, Default)]
pub(crate) struct GithubKeys {
    state: RefCell<KeysState>,
}

#[derive(Debug, Default)]
struct KeysState {
    keys: Vec<(String, String)>,
    fetched_at_ms: Option<u64>,
    last_attempt_ms: Option<u64>,
}

impl Pat {
    /// The JWK of key `id` in the list at `url` (cached in `cache`), fetching the list when it
    /// is stale or the id is unknown.
    async fn scanner_key<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        cache: &GithubKeys,
        url: &str,
        id: &str,
    ) -> Result<Option<String>, PatError> {
        let now = ctx.clock.millis();
        let (known, fetch) = {
            let s = cache.state.borrow();
            let known = s.keys.iter().find(|(k, _)| k == id).map(|(_, j)| j.clone());
            let age = |limit| {
                s.fetched_at_ms
                    .is_none_or(|t| now.saturating_sub(t) >= limit)
            };
            let may_retry = s
                .last_attempt_ms
                .is_none_or(|t| now.saturating_sub(t) >= REFETCH_MS);
            let wanted = age(KEYS_TTL_MS) || known.is_none() && age(UNKNOWN_ID_REFETCH_MS);
            (known.clone(), wanted && may_retry)
        };
        if !fetch {
            return Ok(known);
        }
        cache.state.borrow_mut().last_attempt_ms = Some(now);
        let response = ctx
            .http
            .send(OutboundRequest {
                method: "GET",
                url: url.to_owned(),
                headers: vec![
                    ("accept", "application/json".to_owned()),
                    ("user-agent", "portcullis-pat".to_owned()),
                ],
                body: Vec::new(),
                timeout_ms: 5000,
            })
            .await;
        let keys = match response {
            Ok(r) if r.status == 200 => github::parse_keys(&r.body),
            Ok(r) => {
                ctx.log.log(
                    Level::Warn,
                    "github_keys_failed",
                    &format!("GitHub's key list answered {}", r.status),
                );
                None
            }
            Err(e) => {
                ctx.log
                    .log(Level::Warn, "github_keys_failed", &e.to_string());
                None
            }
        };
        let mut s = cache.state.borrow_mut();
        if let Some(keys) = keys {
            s.keys = keys;
            s.fetched_at_ms = Some(ctx.clock.millis());
        }
        let found = s.keys.iter().find(|(k, _)| k == id).map(|(_, j)| j.clone());
        if found.is_none() && s.keys.is_empty() {
            return Err(PatError::GithubKeysUnavailable);
        }
        Ok(found)
    }

    pub(crate) async fn github_report<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: &Request,
    ) -> Result<Response, PatError> {
        // GitHub's headers, or deps.dev's (the same protocol, its own keys) when configured.
        let header = |name| request.headers.get(name);
        let (id, signature, cache, url) = match (
            header("github-public-key-identifier"),
            header("github-public-key-signature"),
            header("gosst-public-key-identifier"),
            header("gosst-public-key-signature"),
            &self.config.depsdev_keys_url,
        ) {
            (Some(id), Some(sig), _, _, _) => (
                id,
                sig,
                &self.github_keys,
                self.config.github_keys_url.as_str(),
            ),
            (None, None, Some(id), Some(sig), Some(url)) => {
                (id, sig, &self.depsdev_keys, url.as_str())
            }
            _ => return Err(PatError::GithubUnsigned),
        };
        let signature = github::der_signature(signature).ok_or(PatError::GithubBadSignature)?;
        let jwk = self
            .scanner_key(ctx, cache, url, id.trim())
            .await?
            .ok_or(PatError::GithubBadSignature)?;
        let valid = ctx
            .crypto
            .verify(SignatureAlg::Es256, &jwk, &request.body, &signature)
            .await
            .map_err(|e| PatError::Crypto(e.detail))?;
        if !valid {
            return Err(PatError::GithubBadSignature);
        }
        let matches = github::parse_report(&request.body).map_err(|_| {
            PatError::BadRequest("a JSON array of {token, type, url, source}".into())
        })?;
        let ours: Vec<(usize, &Match)> = matches
            .iter()
            .enumerate()
            .filter(|(_, m)| token::check(&m.token, &self.config.prefix).is_ok())
            .collect();
        let mut labels = vec!["false_positive"; matches.len()];
        if !ours.is_empty() {
            let mut hashes = Vec::new();
            let (mut urls, mut sources, mut subjects, mut htmls, mut texts) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (_, m) in &ours {
                hashes.push(self.config.hasher.hash(&m.token));
                let hint = token::hint(&m.token, &self.config.prefix);
                let (subject, html, text) = github::leak_email(&hint, &m.url, &m.source);
                urls.push(m.url.clone());
                sources.push(m.source.clone());
                subjects.push(subject);
                htmls.push(html);
                texts.push(text);
            }
            let strs = |v: &Vec<String>| text_array(v.iter().map(String::as_str));
            let statement = Statement::new(
                "select item::text, outcome, token_id::text from portcullis.pat_report_leaks(\
                 $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])",
            )
            .bind(strs(&hashes))
            .bind(strs(&urls))
            .bind(strs(&sources))
            .bind(strs(&subjects))
            .bind(strs(&htmls))
            .bind(strs(&texts));
            for row in ctx.db.query(&statement).await? {
                let Some(item) = col(&row, 0).and_then(|i| i.parse::<usize>().ok()) else {
                    return Err(PatError::Contract("pat_report_leaks: no item"));
                };
                let Some((index, _)) = item.checked_sub(1).and_then(|i| ours.get(i)) else {
                    return Err(PatError::Contract("pat_report_leaks: item out of range"));
                };
                match col(&row, 1) {
                    Some(outcome @ ("revoked" | "already_revoked")) => {
                        if let Some(label) = labels.get_mut(*index) {
                            *label = "true_positive";
                        }
                        ctx.log.log(
                            Level::Warn,
                            "token_leaked",
                            &format!(
                                "token {} reported by GitHub secret scanning: {outcome}",
                                col(&row, 2).unwrap_or("?")
                            ),
                        );
                    }
                    Some("unknown") => {}
                    _ => return Err(PatError::Contract("pat_report_leaks: unexpected outcome")),
                }
            }
        }
        let feedback: Vec<serde_json::Value> = matches
            .iter()
            .zip(labels)
            .map(|(m, label)| {
                json!({
                    "token_hash": hex(&Sha256::digest(m.token.as_bytes())),
                    "token_type": m.kind,
                    "label": label,
                })
            })
            .collect();
        Ok(json_response(Status::OK, &feedback))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_arrays_are_escaped_and_drop_controls() {
        assert_eq!(
            text_array(["a\"b", "c\\d", "", "x\u{0}y\n"]),
            r#"{"a\"b","c\\d","","xy"}"#
        );
    }
}
