//! RFC 3339 times, CIDR ranges, IP addresses, domains, phones, source paths, secrets and
//! Postgres URLs and API base URLs never panic on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::UnixTime;
use portcullis_hooks::net::{Cidr, parse_ip};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = UnixTime::parse_rfc3339(text);
    if let Ok(cidr) = text.parse::<Cidr>() {
        if let Some(ip) = parse_ip(text.split('/').next().unwrap_or_default()) {
            assert!(cidr.contains(ip));
        }
    }
    let _ = portcullis_hooks::domains::email_domain(text);
    let _ = portcullis_hooks::domains::normalize_domain(text);
    let _ = portcullis_hooks::payload::normalize_phone(text);
    let _ = portcullis_hooks::path::SourcePath::parse(text);
    let _ = portcullis_webhooks::SecretSet::parse(text);
    let _ = portcullis_pgclient::ConnectUrl::parse(text);
    let _ = portcullis_core::check_base_url(text);
    let _ = portcullis_core::sql::quote_ident_path(text);
    let _ = portcullis_core::encoding::base64_decode(text);
    let _ = portcullis_core::encoding::base64url_decode(text);
});
