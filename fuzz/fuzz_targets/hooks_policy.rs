//! Policy documents (TOML or JSON) never panic the compiler.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::MapEnv;
use portcullis_hooks::HooksPolicy;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut env = MapEnv::default();
        env.set_asset("disposable_domains.txt", "mailinator.com\n");
        let _ = HooksPolicy::parse(text, &env);
    }
});
