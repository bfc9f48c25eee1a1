//! Hook payload parsing and the policies never panic, and whatever claims come out are valid
//! JSON that passes GoTrue's schema.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::MapEnv;
use portcullis_hooks::{BeforeUserCreatedInput, CustomAccessTokenInput, HooksPolicy};

const POLICY: &str = r#"
[access_token]
copy = { org = "app_metadata.org", locale = { from = "user_metadata.locale", default = "en" } }
static = { t = 1 }
drop = ["app_metadata.providers", "amr"]
max_bytes = 2048
[access_token.role]
from = "app_metadata.roles"
map = { admin = "app_admin" }
claim = "user_role"
[[access_token.rules]]
methods = ["anonymous"]
drop = ["user_metadata"]
[before_user_created]
deny_email_domains = ["example.net"]
allow_ips = ["10.0.0.0/8", "2001:db8::/32"]
allow_providers = ["email", "sso"]
"#;

static COMPILED: std::sync::LazyLock<HooksPolicy> =
    std::sync::LazyLock::new(|| HooksPolicy::parse(POLICY, &MapEnv::default()).unwrap());

fuzz_target!(|data: &[u8]| {
    let policy = &*COMPILED;
    if let Ok(input) = CustomAccessTokenInput::parse(data) {
        if let Ok(applied) =
            policy
                .access_token
                .apply(input.claims, &input.authentication_method, None)
        {
            let mut out = Vec::new();
            applied.claims.write_json(&mut out);
            let value: serde_json::Value =
                serde_json::from_slice(&out).expect("claims are valid JSON");
            portcullis_hooks::check_gotrue_schema(value.as_object().unwrap())
                .expect("schema holds");
        }
    }
    if let Ok(input) = BeforeUserCreatedInput::parse(data) {
        let _ = policy.before_user_created.evaluate(&input);
    }
});
