//! Policy behaviour: claims reshaping, sign-up decisions, and configuration errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_core::MapEnv;
use portcullis_hooks::{
    AccessTokenError, BeforeUserCreatedInput, CustomAccessTokenInput, HooksPolicy, Object,
    RejectReason, SignupDecision, check_gotrue_schema,
};
use serde_json::{Value, json};

/// The host assets a deployment ships: the disposable-domain list.
fn host() -> MapEnv {
    let mut env = MapEnv::default();
    env.set_asset(
        "disposable_domains.txt",
        include_str!("../data/disposable_domains.txt"),
    );
    env
}

fn token_input(method: &str, app: Value, user: Value) -> CustomAccessTokenInput<'static> {
    CustomAccessTokenInput::parse(&serde_json::to_vec(&json!({
        "metadata": {"uuid": "0b6f0000-0000-4000-8000-000000000003", "time": "2026-11-23T10:00:00Z", "name": "customize-access-token"},
        "user_id": "8c7e6b2a-0000-4000-8000-000000000001",
        "authentication_method": method,
        "claims": {
            "iss": "https://ref.supabase.co/auth/v1", "aud": "authenticated",
            "exp": 1_700_003_600, "iat": 1_700_000_000,
            "sub": "8c7e6b2a-0000-4000-8000-000000000001",
            "email": "ada@example.com", "phone": "", "role": "authenticated", "aal": "aal1",
            "amr": [{"method": method, "timestamp": 1_700_000_000}],
            "session_id": "2f1c0000-0000-4000-8000-000000000002", "is_anonymous": false,
            "app_metadata": app, "user_metadata": user
        }
    }))
    .unwrap())
    .unwrap()
    .into_owned()
}

fn obj(v: Value) -> Object {
    v.as_object().cloned().unwrap()
}

#[test]
fn empty_policy_passes_claims_through() {
    let p = HooksPolicy::parse("", &host()).unwrap();
    let input = token_input("password", json!({"provider": "email"}), json!({}));
    let out = p
        .access_token
        .apply(input.claims.clone(), &input.authentication_method, None)
        .unwrap();
    assert_eq!(out.claims.to_object(), input.claims.to_object());
    assert!(out.ignored_lookup_claims.is_empty());
}

const TOML_POLICY: &str = r#"
[access_token]
copy = { org_id = "app_metadata.org.id", locale = { from = "user_metadata.locale", default = "en" } }
static = { tenant = "acme", features = ["a", "b"] }
drop = ["app_metadata.providers", "iss"]

[access_token.role]
from = "app_metadata.roles"
map = { admin = "app_admin", support = "app_support" }
claim = "user_role"

[[access_token.rules]]
methods = ["anonymous"]
drop = ["user_metadata"]
static = { tier = "guest" }

[[access_token.rules]]
methods = ["sso/saml"]
reject = "Use your company login page."
"#;

#[test]
fn toml_policy_copies_maps_roles_adds_and_drops() {
    let p = HooksPolicy::parse(TOML_POLICY, &host()).unwrap();
    let input = token_input(
        "password",
        json!({"provider": "email", "providers": ["email"], "org": {"id": "org_42"}, "roles": ["viewer", "support", "admin"]}),
        json!({"display": "<Ada>"}),
    );
    let c = p
        .access_token
        .apply(input.claims.clone(), &input.authentication_method, None)
        .unwrap()
        .claims
        .to_object();
    assert_eq!(c["org_id"], "org_42");
    assert_eq!(c["locale"], "en", "default used when the source is absent");
    assert_eq!(c["tenant"], "acme");
    assert_eq!(c["features"], json!(["a", "b"]));
    assert_eq!(
        c["role"], "app_support",
        "first role in the user's list that has a mapping"
    );
    assert_eq!(c["user_role"], "support");
    assert!(!c.contains_key("iss"));
    assert_eq!(
        c["app_metadata"],
        json!({"provider": "email", "org": {"id": "org_42"}, "roles": ["viewer", "support", "admin"]})
    );
    assert_eq!(c["user_metadata"], json!({"display": "<Ada>"}));
    assert!(!c.contains_key("tier"));
    check_gotrue_schema(&c).unwrap();
}

#[test]
fn rules_apply_per_authentication_method() {
    let p = HooksPolicy::parse(TOML_POLICY, &host()).unwrap();
    let anon = token_input("anonymous", json!({}), json!({"locale": "fr"}));
    let c = p
        .access_token
        .apply(anon.claims.clone(), &anon.authentication_method, None)
        .unwrap()
        .claims
        .to_object();
    assert_eq!(c["tier"], "guest");
    assert!(!c.contains_key("user_metadata"));
    assert_eq!(
        c["locale"], "fr",
        "copy reads the original claims, before drops"
    );
    assert_eq!(
        c["role"], "authenticated",
        "no mapped role: GoTrue's role stays"
    );
    assert!(!c.contains_key("user_role"));

    let saml = token_input("sso/saml", json!({}), json!({}));
    assert_eq!(
        p.access_token
            .apply(saml.claims.clone(), &saml.authentication_method, None)
            .unwrap_err(),
        AccessTokenError::Refused {
            message: "Use your company login page.".into()
        }
    );
}

#[test]
fn json_policy_is_equivalent() {
    let json_text = r#"{
      "access_token": {
        "copy": {"org_id": "app_metadata.org.id"},
        "role": {"from": "app_metadata.role", "map": {"admin": "app_admin"}, "default": "authenticated"}
      }
    }"#;
    let p = HooksPolicy::parse(json_text, &host()).unwrap();
    let input = token_input("otp", json!({"org": {"id": 7}, "role": "admin"}), json!({}));
    let c = p
        .access_token
        .apply(input.claims.clone(), &input.authentication_method, None)
        .unwrap()
        .claims
        .to_object();
    assert_eq!(c["org_id"], 7);
    assert_eq!(c["role"], "app_admin");
    let input = token_input("otp", json!({"role": "hacker"}), json!({}));
    assert_eq!(
        p.access_token
            .apply(input.claims.clone(), &input.authentication_method, None)
            .unwrap()
            .claims
            .to_object()["role"],
        "authenticated"
    );
}

#[test]
fn lookup_claims_merge_but_never_over_reserved_claims() {
    let p = HooksPolicy::parse(
        "[access_token.lookup]\n[access_token.role]\nfrom = \"lookup.role\"\nmap = { editor = \"app_editor\" }\n",
        &host(),
    )
    .unwrap();
    let lookup = p.access_token.lookup().unwrap();
    let st = lookup.statement("8c7e6b2a-0000-4000-8000-000000000001");
    assert_eq!(
        st.sql,
        "select \"claims\"::text from \"portcullis\".\"user_claims\" where \"user_id\" = $1::uuid limit 1"
    );
    assert_eq!(
        st.params,
        vec![Some("8c7e6b2a-0000-4000-8000-000000000001".to_owned())]
    );
    assert!(lookup.fail_closed);

    let input = token_input("password", json!({}), json!({}));
    let row = obj(json!({"plan": "pro", "sub": "someone-else", "role": "editor", "exp": 1}));
    let out = p
        .access_token
        .apply(
            input.claims.clone(),
            &input.authentication_method,
            Some(&row),
        )
        .unwrap();
    let claims = out.claims.to_object();
    assert_eq!(claims["plan"], "pro");
    assert_eq!(claims["sub"], "8c7e6b2a-0000-4000-8000-000000000001");
    assert_eq!(claims["exp"], 1_700_003_600);
    assert_eq!(claims["role"], "app_editor");
    assert_eq!(out.ignored_lookup_claims, vec!["exp", "role", "sub"]);
}

#[test]
fn lookup_can_be_configured_and_fail_open() {
    let p = HooksPolicy::parse(
        "[access_token.lookup]\ntable = \"public.profiles\"\nkey_column = \"id\"\nclaims_column = \"jwt_claims\"\non_error = \"skip\"\nmerge = false\n[access_token.copy]\nplan = \"lookup.billing.plan\"\n",
        &host(),
    )
    .unwrap();
    let lookup = p.access_token.lookup().unwrap();
    assert!(!lookup.fail_closed);
    assert!(
        lookup
            .statement("x")
            .sql
            .contains("from \"public\".\"profiles\" where \"id\"")
    );
    let input = token_input("password", json!({}), json!({}));
    let row = obj(json!({"billing": {"plan": "team"}, "other": 1}));
    let c = p
        .access_token
        .apply(
            input.claims.clone(),
            &input.authentication_method,
            Some(&row),
        )
        .unwrap()
        .claims
        .to_object();
    assert_eq!(c["plan"], "team");
    assert!(!c.contains_key("other"), "merge = false");
}

#[test]
fn size_limit_shrinks_in_order_then_refuses() {
    let big = "x".repeat(600);
    let input = token_input("password", json!({"note": big}), json!({"bio": big}));
    let p = HooksPolicy::parse("[access_token]\nmax_bytes = 1200\n", &host()).unwrap();
    let c = p
        .access_token
        .apply(input.claims.clone(), &input.authentication_method, None)
        .unwrap()
        .claims
        .to_object();
    assert!(
        !c.contains_key("user_metadata"),
        "user_metadata goes first by default"
    );
    assert!(serde_json::to_vec(&c).unwrap().len() <= 1200);

    let p = HooksPolicy::parse("[access_token]\nmax_bytes = 900\n", &host()).unwrap();
    let err = p
        .access_token
        .apply(input.claims.clone(), &input.authentication_method, None)
        .unwrap_err();
    assert!(
        matches!(err, AccessTokenError::TooLarge { max: 900, .. }),
        "{err:?}"
    );

    let p = HooksPolicy::parse(
        "[access_token]\nmax_bytes = 900\nshrink = [\"user_metadata\", \"app_metadata.note\"]\n",
        &host(),
    )
    .unwrap();
    let c = p
        .access_token
        .apply(input.claims.clone(), &input.authentication_method, None)
        .unwrap()
        .claims
        .to_object();
    assert_eq!(c["app_metadata"], json!({}));

    let p = HooksPolicy::parse(
        "[access_token]\nmax_bytes = 1200\non_oversize = \"reject\"\n",
        &host(),
    )
    .unwrap();
    assert!(matches!(
        p.access_token
            .apply(input.claims.clone(), &input.authentication_method, None),
        Err(AccessTokenError::TooLarge { .. })
    ));
}

#[test]
fn invalid_input_claims_are_reported_not_forwarded() {
    let p = HooksPolicy::default();
    let mut input = token_input("password", json!({}), json!({}));
    input.claims.remove("session_id");
    let err = p
        .access_token
        .apply(input.claims.clone(), &input.authentication_method, None)
        .unwrap_err();
    assert!(matches!(err, AccessTokenError::Schema(v) if v.claim == "session_id"));
}

#[test]
fn configuration_mistakes_are_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[access_token]\ncopy = { sub = \"app_metadata.x\" }",
            "access_token.copy.sub",
            "reserved",
        ),
        (
            "[access_token]\nstatic = { role = \"admin\" }",
            "access_token.static.role",
            "reserved",
        ),
        (
            "[access_token]\ncopy = { a = \"metadata.x\" }",
            "access_token.copy.a",
            "must start with",
        ),
        (
            "[access_token]\ncopy = { a = \"lookup.x\" }",
            "access_token.copy.a",
            "no [access_token.lookup]",
        ),
        (
            "[access_token]\ndrop = [\"exp\"]",
            "access_token.drop[0]",
            "cannot be dropped",
        ),
        (
            "[access_token]\ndrop = [\"claims.x\"]",
            "access_token.drop[0]",
            "only keys inside",
        ),
        (
            "[access_token.role]\nfrom = \"user_metadata.role\"",
            "access_token.role.from",
            "writable by the user",
        ),
        (
            "[access_token.role]\nfrom = \"app_metadata.role\"\nmap = { admin = \"service_role\" }",
            "access_token.role.map.admin",
            "bypasses",
        ),
        (
            "[access_token.role]\nfrom = \"app_metadata.role\"\ndefault = \"supabase_admin\"",
            "access_token.role.map.default",
            "bypasses",
        ),
        (
            "[access_token.role]\nfrom = \"app_metadata.role\"\nmap = { a = \"Bad-Role\" }",
            "access_token.role.map.a",
            "not a Postgres role",
        ),
        (
            "[[access_token.rules]]\nmethods = [\"passwrod\"]",
            "access_token.rules[0].methods",
            "not an authentication method",
        ),
        (
            "[[access_token.rules]]\nmethods = []",
            "access_token.rules[0].methods",
            "at least one",
        ),
        (
            "[access_token.lookup]\ntable = \"users; drop table x\"",
            "access_token.lookup.table",
            "plain identifier",
        ),
        (
            "[access_token]\nmax_bytes = 10",
            "access_token.max_bytes",
            "at least 256",
        ),
        (
            "[access_token]\non_oversize = \"reject\"",
            "access_token.max_bytes",
            "need `max_bytes`",
        ),
        (
            "[before_user_created]\nallow_ips = [\"10.0.0.1/8\"]",
            "before_user_created.allow_ips[0]",
            "host bits",
        ),
        (
            "[before_user_created]\ndeny_email_domains = [\"not a domain\"]",
            "before_user_created.deny_email_domains[0]",
            "not a domain",
        ),
        (
            "[before_user_created]\nmessage = \" \"",
            "before_user_created.message",
            "must not be empty",
        ),
    ];
    for (text, path, reason) in cases {
        let err = HooksPolicy::parse(text, &host()).unwrap_err();
        assert_eq!(err.path, *path, "{text}");
        assert!(err.problem.contains(reason), "{text}: {}", err.problem);
    }
}

#[test]
fn unknown_keys_and_syntax_errors_are_errors() {
    let err = HooksPolicy::parse("[access_token]\ncopyy = {}", &host()).unwrap_err();
    assert_eq!(err.path, "access_token.copyy");
    assert!(
        err.problem
            .contains("unknown key; expected one of: copy, drop"),
        "{err}"
    );
    let err = HooksPolicy::parse(
        "{\"access_token\": {\"static\": {}}, \"extra\": 1}",
        &host(),
    )
    .unwrap_err();
    assert_eq!(err.path, "extra");
    let err = HooksPolicy::parse(
        "[access_token.role]\nfrom = \"app_metadata.r\"\nmapp = {}",
        &host(),
    )
    .unwrap_err();
    assert_eq!(err.path, "access_token.role.mapp");
    let err = HooksPolicy::parse("[access_token]\nmax_bytes = \"big\"", &host()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "access_token.max_bytes: expected a non-negative integer, found a string"
    );
    let err = HooksPolicy::parse("{\"access_token\": ", &host()).unwrap_err();
    assert!(err.problem.starts_with("JSON:"), "{err}");
    let err = HooksPolicy::parse("[access_token\n", &host()).unwrap_err();
    assert!(err.problem.starts_with("TOML:"), "{err}");
}

fn signup(
    email: &str,
    provider: Option<&str>,
    anonymous: bool,
    ip: &str,
) -> BeforeUserCreatedInput {
    let app = provider.map_or(json!({}), |p| json!({"provider": p, "providers": [p]}));
    BeforeUserCreatedInput::parse(&serde_json::to_vec(&json!({
        "metadata": {"uuid": "u", "time": "2026-11-23T10:00:00+01:00", "name": "before-user-created", "ip_address": ip},
        "user": {
            "id": "8c7e6b2a-0000-4000-8000-000000000001", "aud": "authenticated", "role": "",
            "email": email, "phone": "", "app_metadata": app, "user_metadata": {},
            "identities": [], "created_at": "0001-01-01T00:00:00Z", "updated_at": "0001-01-01T00:00:00Z",
            "is_anonymous": anonymous
        }
    }))
    .unwrap())
    .unwrap()
}

fn reason(d: SignupDecision) -> Option<RejectReason> {
    match d {
        SignupDecision::Allow => None,
        SignupDecision::Reject { reason, .. } => Some(reason),
    }
}

#[test]
fn disposable_blocking_needs_the_shipped_list() {
    let err = HooksPolicy::parse(
        "[before_user_created]\nblock_disposable_domains = true",
        &MapEnv::default(),
    )
    .unwrap_err();
    assert_eq!(err.path, "before_user_created.block_disposable_domains");
    assert!(err.problem.contains("not shipped"), "{err}");
    let mut bad = MapEnv::default();
    bad.set_asset("disposable_domains.txt", "b.com\na.com\n");
    let err = HooksPolicy::parse(
        "[before_user_created]\nblock_disposable_domains = true",
        &bad,
    )
    .unwrap_err();
    assert!(err.problem.contains("line 2"), "{err}");
    HooksPolicy::parse(
        "[before_user_created]\nblock_disposable_domains = false",
        &MapEnv::default(),
    )
    .unwrap();
}

#[test]
fn default_signup_policy_allows_everyone() {
    let p = HooksPolicy::default().before_user_created;
    assert_eq!(
        p.evaluate(&signup("a@mailinator.com", Some("email"), false, "")),
        SignupDecision::Allow
    );
    assert_eq!(
        p.evaluate(&signup("", None, true, "")),
        SignupDecision::Allow
    );
}

#[test]
fn signup_rules_each_decide() {
    let p = HooksPolicy::parse(
        r#"
[before_user_created]
message = "Not here."
allow_email_domains = ["example.com", "@Partner.ORG"]
deny_email_domains = ["banned.example.com"]
block_disposable_domains = true
allow_providers = ["email", "google", "sso"]
allow_anonymous = false
allow_ips = ["192.0.2.0/24", "2001:db8::/32"]
deny_ips = ["192.0.2.66"]
[before_user_created.messages]
disposable_domain = "Please use a permanent address."
"#,
        &host(),
    )
    .unwrap()
    .before_user_created;
    let ok_ip = "192.0.2.10";
    let cases = [
        (signup("ada@example.com", Some("email"), false, ok_ip), None),
        (
            signup("ada@eu.example.com", Some("google"), false, ok_ip),
            None,
        ),
        (
            signup(
                "ada@partner.org",
                Some("sso:0b6f"),
                false,
                "[2001:db8::5]:443",
            ),
            None,
        ),
        (
            signup("ada@partner.org", Some("github"), false, ok_ip),
            Some(RejectReason::ProviderNotAllowed),
        ),
        (
            signup("", None, true, ok_ip),
            Some(RejectReason::AnonymousDisabled),
        ),
        (
            signup("ada@example.com", Some("email"), false, "192.0.2.66"),
            Some(RejectReason::IpDenied),
        ),
        (
            signup("ada@example.com", Some("email"), false, "198.51.100.1"),
            Some(RejectReason::IpNotAllowed),
        ),
        (
            signup("ada@example.com", Some("email"), false, ""),
            Some(RejectReason::IpNotAllowed),
        ),
        (
            signup("x@banned.example.com", Some("email"), false, ok_ip),
            Some(RejectReason::EmailDomainDenied),
        ),
        (
            signup("x@mailinator.com", Some("email"), false, ok_ip),
            Some(RejectReason::DisposableEmailDomain),
        ),
        (
            signup("x@gmail.com", Some("email"), false, ok_ip),
            Some(RejectReason::EmailDomainNotAllowed),
        ),
        (
            signup("x@badexample.com", Some("email"), false, ok_ip),
            Some(RejectReason::EmailDomainNotAllowed),
        ),
        (
            signup("no-at-sign", Some("email"), false, ok_ip),
            Some(RejectReason::EmailDomainNotAllowed),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            reason(p.evaluate(&input)),
            want,
            "{} {:?}",
            input.user.email,
            input.metadata.ip_address
        );
    }
    match p.evaluate(&signup("x@mailinator.com", Some("email"), false, ok_ip)) {
        SignupDecision::Reject { message, .. } => {
            assert_eq!(message, "Please use a permanent address.")
        }
        SignupDecision::Allow => panic!("disposable allowed"),
    }
    match p.evaluate(&signup("x@gmail.com", Some("email"), false, ok_ip)) {
        SignupDecision::Reject { message, .. } => assert_eq!(message, "Not here."),
        SignupDecision::Allow => panic!("gmail allowed"),
    }
}
